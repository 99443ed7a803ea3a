import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import type { Diagnostic } from './errors.js';
import type { PositionedDocument } from './document.js';
import { translateErrors } from './schema-errors.js';
import { discriminateUnions } from './tagged-unions.js';

/** The one ajv setup: strict schemas, every error at once, defaults written into the data, tagged unions. */
export function createAjv(opts: { useDefaults?: boolean } = {}): Ajv {
  return new Ajv({ strict: true, allErrors: true, useDefaults: opts.useDefaults ?? true, discriminator: true, verbose: true });
}

const compiled = new WeakMap<SchemaObject, ValidateFunction>();

function compile(schema: SchemaObject): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = createAjv().compile(discriminateUnions(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Validates a positioned document against a JSON Schema (or a compiled validator), filling in defaults, and
 * returns every problem as a diagnostic at the offending node. Other YAML file kinds (sweeps, tables) use this too.
 */
export function validateDocument(doc: PositionedDocument, schema: SchemaObject | ValidateFunction): Diagnostic[] {
  const validate = typeof schema === 'function' ? schema : compile(schema);
  if (validate(doc.value)) return [];
  return translateErrors((validate.errors ?? []) as ErrorObject[], doc);
}
