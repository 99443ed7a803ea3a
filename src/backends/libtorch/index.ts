import { findBackendFactory, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import { chooseThreads, type Chosen } from '../threads.js';
import { installRecord, loadAddon, waitPolicyAtLoad, type TorchInfo } from './addon.js';
import { BACKEND_NAME, LibtorchBackend } from './backend.js';
import { libtorchKernels } from './kernels/index.js';

export { BACKEND_NAME } from './backend.js';

export interface LibtorchOptions {
  /** Intra-op threads (train.threads); default EPSILAB_TORCH_THREADS, else the cores divided among the processes sharing them (libtorch's own default is 1). */
  threads?: number;
  /** 'cpu', 'cuda' or 'cuda:N'; default EPSILAB_TORCH_DEVICE, else 'cpu'. */
  device?: string;
}

/**
 * Registers the 'libtorch' tfjs backend when the native addon is built and loads; `ok: false` says why not. Calling
 * it again reconfigures threads and device. It does not make the backend current: `tf.setBackend('libtorch')` does.
 */
export async function registerLibtorchBackend(opts: LibtorchOptions = {}): Promise<{ ok: boolean; why: string }> {
  const loaded = loadAddon();
  if (!loaded.addon) return { ok: false, why: loaded.why };
  const addon = loaded.addon;
  const device = opts.device ?? process.env.EPSILAB_TORCH_DEVICE ?? 'cpu';
  let info: TorchInfo;
  try {
    const threads = chooseThreads(opts.threads);
    info = addon.configure({ threads: threads.value });
    threadChoice = threads;
    const problem = deviceProblem(device, info);
    if (problem) return { ok: false, why: problem };
    info = addon.configure({ device });
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  if (!findBackendFactory(BACKEND_NAME)) {
    const { native, fallback } = libtorchKernels(addon);
    for (const config of [...native, ...fallback]) registerKernel(config);
    registerBackend(BACKEND_NAME, () => new LibtorchBackend(addon), 0);
  }
  const t = libtorchThreading()!;
  const count = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const wait = `${t.wait_policy} OpenMP wait policy`;
  const threads =
    t.threads_why === t.wait_policy_why
      ? `${count} and ${wait} (${t.threads_why})`
      : `${count} (${t.threads_why}), ${wait} (${t.wait_policy_why})`;
  const extras = [info.mkldnn && info.device === 'cpu' ? 'oneDNN' : '', threads].filter(Boolean).join(', ');
  return { ok: true, why: `libtorch ${info.version} on ${info.device} (${extras})` };
}

let threadChoice: Chosen<number> | undefined;

/** The libtorch backend's intra-op threads and OpenMP wait policy, and why each; null before it was registered. */
export function libtorchThreading(): {
  threads: number;
  threads_why: string;
  wait_policy: string;
  wait_policy_why: string;
} | null {
  const wait = waitPolicyAtLoad();
  if (!threadChoice || !wait) return null;
  return {
    threads: threadChoice.value,
    threads_why: threadChoice.why,
    wait_policy: wait.value ?? 'default',
    wait_policy_why: wait.why,
  };
}

/** Why this libtorch cannot place tensors on `device`, with what to do about it; null when it can. */
export function deviceProblem(device: string, info: TorchInfo): string | null {
  const match = /^cuda(?::(\d+))?$/.exec(device);
  if (device === 'cpu' || !match) return null;
  const record = installRecord();
  const which = `libtorch ${info.version}${record?.source ? ` (${record.source})` : ''}`;
  if (!(info.cudaBuild ?? info.cuda)) {
    return `device ${device} needs a CUDA build of libtorch, and ${which} is CPU-only: install PyTorch with CUDA and rerun \`npm install\` (it builds against PyTorch's libtorch), or point LIBTORCH_DIR at a CUDA libtorch (native/README.md); or train with device: cpu`;
  }
  const count = info.cudaDevices ?? (info.cuda ? 1 : 0);
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (count === 0)
    return `device ${device}: ${which} has CUDA but sees no GPU (\`nvidia-smi\` should list one; is the NVIDIA driver loaded${visible !== undefined ? `, and is CUDA_VISIBLE_DEVICES='${visible}' right` : ''}?); or train with device: cpu`;
  const index = Number(match[1] ?? 0);
  if (index >= count)
    return `device ${device} does not exist: ${which} sees ${count} GPU${count === 1 ? '' : 's'} (cuda:0${count > 1 ? `..cuda:${count - 1}` : ''})`;
  return null;
}
