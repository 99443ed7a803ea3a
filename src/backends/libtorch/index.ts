import { availableParallelism } from 'node:os';
import { findBackendFactory, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import { loadAddon, type TorchInfo } from './addon.js';
import { BACKEND_NAME, LibtorchBackend } from './backend.js';
import { libtorchKernels } from './kernels/index.js';

export { BACKEND_NAME } from './backend.js';

export interface LibtorchOptions {
  /** Intra-op threads; default EPSILAB_TORCH_THREADS, else every core (libtorch's own default is 1). */
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
  const envThreads = Number(process.env.EPSILAB_TORCH_THREADS);
  let info: TorchInfo;
  try {
    info = addon.configure({
      threads: opts.threads ?? (envThreads > 0 ? envThreads : availableParallelism()),
      device: opts.device ?? process.env.EPSILAB_TORCH_DEVICE ?? 'cpu',
    });
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  if (!findBackendFactory(BACKEND_NAME)) {
    const { native, fallback } = libtorchKernels(addon);
    for (const config of [...native, ...fallback]) registerKernel(config);
    registerBackend(BACKEND_NAME, () => new LibtorchBackend(addon), 0);
  }
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const extras = [info.mkldnn && info.device === 'cpu' ? 'oneDNN' : '', threads].filter(Boolean).join(', ');
  return { ok: true, why: `libtorch ${info.version} on ${info.device} (${extras})` };
}
