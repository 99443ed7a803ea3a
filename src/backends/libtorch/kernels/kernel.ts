import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { BACKEND_NAME, type LibtorchBackend } from '../backend.js';

/** Inputs by name; every kernel here knows which of its inputs are present. */
export type Inputs = Record<string, TensorInfo>;
export type Attrs = Record<string, any>;

/** A libtorch kernel config from a function of the backend, the inputs and the attributes. */
export function kernel(
  kernelName: string,
  run: (b: LibtorchBackend, inputs: Inputs, attrs: Attrs) => TensorInfo | TensorInfo[],
): KernelConfig {
  return {
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) =>
      run(backend as LibtorchBackend, inputs as Inputs, (attrs ?? {}) as Attrs),
  };
}

/** Inputs given as a list (Concat, Pack, AddN). */
export function inputList(inputs: Inputs): TensorInfo[] {
  return Array.isArray(inputs) ? (inputs as TensorInfo[]) : Object.values(inputs);
}
