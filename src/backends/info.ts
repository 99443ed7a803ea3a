import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { addonPath, installRecord, loadAddon, type InstallRecord, type TorchInfo } from './libtorch/addon.js';

export type { InstallRecord, TorchInfo };
export { libtorchThreading } from './libtorch/index.js';

/** The libtorch addon as `epsilab doctor` reports it: where it is, what the install recorded, and what it runs. */
export function libtorchReport(): {
  addon: string | null;
  install: InstallRecord | null;
  info: TorchInfo | null;
  why?: string;
} {
  const loaded = loadAddon();
  const info = loaded.addon ? loaded.addon.configure({}) : null;
  return { addon: addonPath(), install: installRecord(), info, ...(loaded.addon ? {} : { why: loaded.why }) };
}

/** Threads the selected backend computes with (a sum split over another count of threads rounds differently); null where it has no such setting. */
export function backendThreads(backend: string): number | null {
  if (backend === 'wasm') return getThreadsCount();
  if (backend !== 'libtorch') return null;
  const loaded = loadAddon();
  return loaded.addon ? loaded.addon.configure({}).threads : null;
}
