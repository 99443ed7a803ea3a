import '@tensorflow/tfjs-backend-cpu';
import {
  backend_util,
  findBackend,
  getKernel,
  getKernelsForBackend,
  type KernelConfig,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { LibtorchBackend } from '../backend.js';
import { kernel, type Attrs, type Inputs } from './kernel.js';

const warned = new Set<string>();

/**
 * Runs the cpu backend's kernel on copies of the inputs and copies the results back: correct but slow, for kernels
 * with no libtorch form (warned once per kernel name).
 */
export function runOnCpu(
  b: LibtorchBackend,
  kernelName: string,
  inputs: Inputs,
  attrs: Attrs,
): TensorInfo | TensorInfo[] {
  b.declineCapture(`kernel ${kernelName} has no native form`);
  if (!warned.has(kernelName)) {
    warned.add(kernelName);
    backend_util.warn(`libtorch backend: kernel ${kernelName} runs on the cpu backend (copies in and out)`);
  }
  const cpu = findBackend('cpu') as MathBackendCPU;
  const toCpu = (t: TensorInfo) => cpu.makeTensorInfo(t.shape, t.dtype, b.readSync(t.dataId));
  const cpuInputs: TensorInfo[] = [];
  const mapped = Array.isArray(inputs)
    ? (inputs as TensorInfo[]).map((t) => toCpu(t))
    : Object.fromEntries(
        Object.entries(inputs)
          .filter(([, t]) => t)
          .map(([name, t]) => [name, toCpu(t)]),
      );
  cpuInputs.push(...Object.values(mapped));
  try {
    const out = getKernel(kernelName, 'cpu').kernelFunc({ inputs: mapped as NamedTensorInfoMap, backend: cpu, attrs });
    const outs = Array.isArray(out) ? out : [out];
    const results = outs.map((o) => b.makeTensorInfo(o.shape, o.dtype, cpu.readSync(o.dataId)));
    for (const o of outs) cpu.disposeData(o.dataId);
    return Array.isArray(out) ? results : results[0];
  } finally {
    for (const t of cpuInputs) cpu.disposeData(t.dataId);
  }
}

/** Kernels the cpu backend has and libtorch does not, run through `runOnCpu`. */
export function fallbackKernels(native: KernelConfig[]): KernelConfig[] {
  const have = new Set(native.map((k) => k.kernelName));
  return getKernelsForBackend('cpu')
    .filter((k) => !have.has(k.kernelName))
    .map((k) => kernel(k.kernelName, (b, inputs, attrs) => runOnCpu(b, k.kernelName, inputs, attrs)));
}
