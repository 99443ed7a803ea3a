import { tf } from '../tfjs.js';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Runs a wasm kernel on TensorInfos, from inside another kernel (no tensors, no tape). */
export function runWasm(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  return tf.getKernel(name, 'wasm').kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/**
 * Means over the `inner` rows of x viewed as [outer, inner, channels], as one average pool: [outer, channels].
 * wasm's Mean and Sum transpose such an input first and run about 10x slower.
 */
export function rowMean(
  backend: BackendWasm,
  x: TensorInfo,
  outer: number,
  inner: number,
  channels: number,
): TensorInfo {
  const out = runWasm(
    backend,
    'AvgPool',
    { x: { dataId: x.dataId, shape: [outer, inner, 1, channels], dtype: 'float32' } },
    {
      filterSize: [inner, 1],
      strides: [inner, 1],
      pad: 'valid',
    },
  );
  out.shape = outer === 1 ? [channels] : [outer, channels];
  return out;
}

/** A new float32 tensor of `shape` on the wasm heap, filled by `fill`. */
export function makeWasm(backend: BackendWasm, shape: number[], fill: (values: Float32Array) => void): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  fill(backend.typedArrayFromHeap(out) as Float32Array);
  return out;
}

export function heap(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}
