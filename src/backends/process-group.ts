/**
 * Data parallelism: one process per rank, joined in a process group.
 *
 * The contract between a launcher (`epsilab run --nproc`, srun, torchrun) and each rank is torchrun's environment:
 *   RANK          this process's rank, 0..WORLD_SIZE-1 (rank 0 owns the run folder)
 *   WORLD_SIZE    the number of ranks; absent or 1: not data-parallel
 *   LOCAL_RANK    the rank on this host (default RANK): a `cuda` rank trains on cuda:LOCAL_RANK
 *   MASTER_ADDR   where rank 0 hosts the rendezvous store (default 127.0.0.1)
 *   MASTER_PORT   its TCP port (default 29500, torchrun's)
 * and two of epsilab's own:
 *   EPSILAB_DIST_STORE    a file on a shared filesystem to rendezvous through instead of MASTER_ADDR:MASTER_PORT
 *   EPSILAB_DIST_TIMEOUT  the watchdog: seconds any collective (and the rendezvous) may wait (default 300)
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { UsageError } from '../util/errors.js';
import { LibtorchProcessGroup, libtorchProcessGroups } from './libtorch/process-group.js';

/** What a rank learns from its environment. */
export interface DistributedEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  host: string;
  port: number;
  /** FileStore rendezvous instead of the TCP store. */
  file?: string;
  timeoutMs: number;
}

const DEFAULT_MASTER_PORT = 29500;
const DEFAULT_TIMEOUT_SECONDS = 300;

/** The data-parallel environment of this process, or null when it is not one rank of several. */
export function distributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | null {
  const worldSize = whole(env, 'WORLD_SIZE', 1);
  if (worldSize <= 1) return null;
  const rank = whole(env, 'RANK', -1);
  if (rank < 0 || rank >= worldSize)
    throw new UsageError(`RANK=${env.RANK ?? ''} is not a rank of WORLD_SIZE=${worldSize} (0..${worldSize - 1})`);
  const seconds = Number(env.EPSILAB_DIST_TIMEOUT ?? DEFAULT_TIMEOUT_SECONDS);
  if (!(seconds > 0))
    throw new UsageError(`EPSILAB_DIST_TIMEOUT=${env.EPSILAB_DIST_TIMEOUT} is not a positive number of seconds`);
  return {
    rank,
    worldSize,
    localRank: whole(env, 'LOCAL_RANK', rank),
    host: env.MASTER_ADDR || '127.0.0.1',
    port: whole(env, 'MASTER_PORT', DEFAULT_MASTER_PORT),
    file: env.EPSILAB_DIST_STORE || undefined,
    timeoutMs: seconds * 1000,
  };
}

/**
 * The device of this rank: `cuda` means the GPU numbered LOCAL_RANK, one GPU per rank; a rank that sees a single GPU
 * (Slurm's --gpus-per-task=1 binds one to each task) takes it.
 */
export function rankDevice(device: string, env: DistributedEnv | null, visibleGpus: number): string {
  if (!env || device !== 'cuda') return device;
  return `cuda:${visibleGpus === 1 ? 0 : env.localRank}`;
}

function whole(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name}=${text} is not a whole number`);
  return n;
}

/**
 * One rank's view of the group. Collectives take and return tensors of the current backend; the inputs are left as they
 * were. Each waits at most the group's timeout (or the one given) and then throws a CollectiveError naming it.
 */
export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** The c10d backend: gloo (cpu) or nccl (cuda). */
  readonly backendName: 'gloo' | 'nccl';
  /** Sums or averages over the ranks, flattened into buckets of at most `bucketBytes` filled in reverse order. */
  allreduce(tensors: tfc.Tensor[], op: 'sum' | 'avg', bucketBytes: number, timeoutMs?: number): tfc.Tensor[];
  /** Rank `root`'s values on every rank. */
  broadcast(tensors: tfc.Tensor[], root: number, timeoutMs?: number): tfc.Tensor[];
  barrier(timeoutMs?: number): void;
}

/** The process groups the current backend can form: none but on libtorch built with the gloo headers. */
function processGroupsAvailable(tf: typeof tfc): { gloo: boolean; nccl: boolean } {
  return libtorchProcessGroups(tf.backend());
}

/**
 * Joins the group `env` describes on the current backend: NCCL for a cuda device, Gloo otherwise. Returns once every
 * rank arrived; a rendezvous that cannot form throws a CollectiveError, a backend without process groups a UsageError.
 */
export function openProcessGroup(tf: typeof tfc, env: DistributedEnv, device = 'cpu'): ProcessGroup {
  const kind = device.startsWith('cuda') ? 'nccl' : 'gloo';
  const available = processGroupsAvailable(tf);
  if (!available[kind]) {
    const why =
      tf.getBackend() !== 'libtorch'
        ? `data-parallel training runs on the libtorch backend only (this run uses ${tf.getBackend()}): set backend: libtorch`
        : kind === 'nccl'
          ? 'this libtorch addon was built without NCCL (it needs a CUDA PyTorch with ProcessGroupNCCL): rebuild it with `node native/install.mjs` against one, or train with device: cpu'
          : 'this libtorch addon was built without Gloo: install libgloo-dev and rebuild it with `node native/install.mjs`';
    throw new UsageError(why);
  }
  return LibtorchProcessGroup.open(tf, {
    rank: env.rank,
    worldSize: env.worldSize,
    backend: kind,
    ...(env.file ? { file: env.file } : { host: env.host, port: env.port }),
    timeoutMs: env.timeoutMs,
  });
}
