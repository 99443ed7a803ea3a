import type * as tfc from '@tensorflow/tfjs-core';
import { CollectiveError } from '../../util/errors.js';
import { LibtorchBackend } from './backend.js';
import type { Handle, TorchAddon } from './addon.js';

/** The collectives of an addon built with process groups. */
type Collectives = Required<Pick<TorchAddon, 'pgAllreduce' | 'pgBroadcast' | 'pgBarrier'>>;

export interface LibtorchGroupOptions {
  rank: number;
  worldSize: number;
  backend: 'gloo' | 'nccl';
  /** TCPStore rendezvous: rank 0 hosts it on this address and port. */
  host?: string;
  port?: number;
  /** FileStore rendezvous on a shared filesystem (instead of host and port). */
  file?: string;
  timeoutMs: number;
}

/** Which c10d process groups this build of the addon has (none where it was built without the gloo headers). */
export function libtorchProcessGroups(backend: unknown): { gloo: boolean; nccl: boolean } {
  if (!(backend instanceof LibtorchBackend)) return { gloo: false, nccl: false };
  return backend.addon.pgCapabilities?.() ?? { gloo: false, nccl: false };
}

/** The native message without the addon's `libtorch: ` prefix, as a CollectiveError. */
function collectiveError(e: unknown): Error {
  const message = (e as Error).message ?? String(e);
  return /process group:/.test(message)
    ? new CollectiveError(message.replace(/^libtorch: process group: /, 'data-parallel: '))
    : (e as Error);
}

/**
 * A c10d process group of the libtorch addon (one per process). Its collectives are native ops over the backend's
 * tensors: called inside a captured step they become part of the program and run again on each replay.
 */
export class LibtorchProcessGroup {
  private constructor(
    private readonly tf: typeof tfc,
    private readonly backend: LibtorchBackend,
    private readonly addon: Collectives,
    readonly rank: number,
    readonly worldSize: number,
    readonly backendName: 'gloo' | 'nccl',
  ) {}

  /** Forms the group: returns once every rank has arrived, throws a CollectiveError naming the ranks that did not. */
  static open(tf: typeof tfc, o: LibtorchGroupOptions): LibtorchProcessGroup {
    const backend = tf.backend();
    if (!(backend instanceof LibtorchBackend))
      throw new Error(`process groups need the libtorch backend (the current one is ${tf.getBackend()})`);
    const addon = backend.addon;
    if (!addon.pgInit || !addon.pgCapabilities?.()[o.backend])
      throw new Error(`this build of the libtorch addon has no ${o.backend} process group`);
    try {
      addon.pgInit(o);
    } catch (e) {
      throw collectiveError(e);
    }
    return new LibtorchProcessGroup(tf, backend, addon as Collectives, o.rank, o.worldSize, o.backend);
  }

  allreduce(tensors: tfc.Tensor[], op: 'sum' | 'avg', bucketBytes: number, timeoutMs?: number): tfc.Tensor[] {
    return this.wrap(tensors, (h) => this.addon.pgAllreduce(h, op === 'avg', bucketBytes, timeoutMs));
  }

  broadcast(tensors: tfc.Tensor[], root: number, timeoutMs?: number): tfc.Tensor[] {
    return this.wrap(tensors, (h) => this.addon.pgBroadcast(h, root, timeoutMs));
  }

  barrier(timeoutMs?: number): void {
    try {
      this.addon.pgBarrier(timeoutMs);
    } catch (e) {
      throw collectiveError(e);
    }
  }

  /** Runs a native collective on the tensors' handles and registers its results as tensors of the same shapes. */
  private wrap(tensors: tfc.Tensor[], collective: (handles: Handle[]) => Handle[]): tfc.Tensor[] {
    let out: Handle[];
    try {
      out = collective(tensors.map((t) => this.backend.handle(t)));
    } catch (e) {
      throw collectiveError(e);
    }
    return out.map((h, i) =>
      this.tf
        .engine()
        .makeTensorFromTensorInfo(this.backend.adopt(h, tensors[i].shape, tensors[i].dtype), this.backend),
    );
  }
}
