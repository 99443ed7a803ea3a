import { libtorchReport } from '../../src/backends/info.js';

/** Why tests of data-parallel ranks skip here: no libtorch addon, or one built without the Gloo process group. */
export function glooSkip(): string | false {
  const { info, why } = libtorchReport();
  if (!info) return `libtorch addon unavailable: ${why}`;
  return !info.gloo && 'the libtorch addon was built without Gloo (install libgloo-dev, then node native/install.mjs)';
}
