import { Ajv } from 'ajv';

/** The one ajv setup: strict schemas, every error at once, defaults written into the data, tagged unions. */
export function createAjv(opts: { useDefaults?: boolean } = {}): Ajv {
  return new Ajv({
    strict: true,
    allErrors: true,
    useDefaults: opts.useDefaults ?? true,
    discriminator: true,
    verbose: true,
  });
}
