import { tf } from '../tfjs.js';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmBatchNormKernels } from './wasm-batch-norm.js';
import { heap, rowMean } from './wasm-ops.js';

/**
 * Kernel replacements on wasm for ops the ResNets call on every batch norm:
 * - Sum and Mean over a contiguous run of axes before the last (batch statistics, global pooling) as one average
 *   pool over those axes (the stock kernels transpose the whole input first: about 10x slower);
 * - Identity and same-type Cast share the input's data, as the cpu backend does, instead of copying it;
 * and adds the fused training-mode batch norm kernels (wasm-batch-norm.ts).
 */
export function registerWasmKernels(): string[] {
  const replaced: string[] = [];
  for (const [name, make] of Object.entries(REPLACEMENTS)) {
    const stock = tf.getKernel(name, 'wasm');
    if (stock == null) continue;
    replaced.push(name);
    if (OURS.has(stock.kernelFunc)) continue;
    const kernelFunc = make(stock.kernelFunc);
    OURS.add(kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc });
  }
  for (const config of wasmBatchNormKernels) {
    if (tf.getKernel(config.kernelName, 'wasm') == null) tf.registerKernel(config);
    replaced.push(config.kernelName);
  }
  return replaced;
}

const OURS = new WeakSet<KernelFunc>();
type Args = { inputs: Record<string, TensorInfo | undefined>; backend: unknown; attrs?: NamedAttrMap };

const REPLACEMENTS: Record<string, (stock: KernelFunc) => KernelFunc> = {
  Sum: (stock) => (args) => reduceByPooling(args as Args, 'sum') ?? stock(args),
  Mean: (stock) => (args) => reduceByPooling(args as Args, 'mean') ?? stock(args),
  Identity: (stock) => (args) => share(args as Args) ?? stock(args),
  Cast: (stock) => (args) =>
    ((args as Args).attrs?.dtype === (args as Args).inputs.x?.dtype ? share(args as Args) : null) ?? stock(args),
};

function share({ inputs, backend }: Args): TensorInfo | null {
  const x = inputs.x!;
  if (x.dtype === 'string') return null;
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function reduceByPooling({ inputs, backend, attrs }: Args, op: 'sum' | 'mean'): TensorInfo | null {
  const x = inputs.x!;
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return null;
  const axes = [...tf.util.parseAxisParam(attrs!.axis as number | number[], x.shape)].sort((a, b) => a - b);
  const first = axes[0];
  if (axes.length === 0 || axes.some((a, i) => a !== first + i) || axes[axes.length - 1] !== rank - 2) return null;
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
  const inner = tf.util.sizeFromShape(axes.map((a) => x.shape[a]));
  if (inner === 0) return null;
  const wasm = backend as BackendWasm;
  const out = rowMean(wasm, x, outer, inner, x.shape[rank - 1]);
  if (op === 'sum') {
    const values = heap(wasm, out);
    for (let i = 0; i < values.length; i++) values[i] *= inner;
  }
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  out.shape = attrs!.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  return out;
}
