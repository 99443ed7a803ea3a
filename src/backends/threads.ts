import { availableParallelism, loadavg } from 'node:os';

/**
 * How many processes started by one launcher (a local sweep's trials at once, the ranks on one machine) share this
 * machine's cores: each divides the cores by it and waits passively. Launchers set it with `sharedCoresEnv`.
 */
export const CORES_SHARED_BY = 'EPSILAB_CORES_SHARED_BY';

/** The environment a launcher adds for each of `processes` processes it runs at once on one machine. */
export function sharedCoresEnv(processes: number): Record<string, string> {
  return processes > 1 ? { [CORES_SHARED_BY]: String(Math.floor(processes)) } : {};
}

/** OpenMP's wait policy as libgomp starts with it: null is OpenMP's own default (spin a while, then sleep). */
export type WaitPolicy = 'passive' | 'active' | null;

/** A choice (a thread count, a wait policy) and why it was made. */
export interface Chosen<T> {
  value: T;
  why: string;
}

function positive(value: string | undefined): number | null {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

const sharersOf = (env: NodeJS.ProcessEnv) => positive(env[CORES_SHARED_BY]) ?? 1;
const sharing = (sharers: number, cores: number) =>
  `${sharers} processes share the ${cores} cores (${CORES_SHARED_BY}=${sharers})`;

/** Intra-op threads: `requested` (train.threads), else EPSILAB_TORCH_THREADS, else the cores divided among their sharers. */
export function chooseThreads(
  requested?: number,
  env: NodeJS.ProcessEnv = process.env,
  cores: number = availableParallelism(),
): Chosen<number> {
  const fromEnv = positive(env.EPSILAB_TORCH_THREADS);
  if (requested !== undefined) return { value: requested, why: 'train.threads' };
  if (fromEnv !== null) return { value: fromEnv, why: 'EPSILAB_TORCH_THREADS' };
  const sharers = sharersOf(env);
  if (sharers > 1) return { value: Math.max(1, Math.floor(cores / sharers)), why: sharing(sharers, cores) };
  return { value: cores, why: `one per core` };
}

/**
 * OpenMP's wait policy: OMP_WAIT_POLICY as set, else passive where the cores are shared, by processes a launcher started
 * or by whatever keeps the machine busy (a load average of at least one task per core when libtorch loads): there one
 * process's spinning workers steal the cores another computes on (ResNet-20 at batch 4 on 2 busy cores: 2 img/s
 * spinning, 43 passive). Else OpenMP's default, up to 3x faster for small batches on cores the run has to itself.
 * Unlike the thread count, the wait policy changes no result, so it may follow the load.
 */
export function chooseWaitPolicy(
  env: NodeJS.ProcessEnv = process.env,
  cores: number = availableParallelism(),
  load: number = loadavg()[0],
): Chosen<WaitPolicy> {
  const set = env.OMP_WAIT_POLICY?.trim().toLowerCase();
  if (set) return { value: set === 'passive' || set === 'active' ? set : null, why: `OMP_WAIT_POLICY=${set} as set` };
  const sharers = sharersOf(env);
  if (sharers > 1) return { value: 'passive', why: sharing(sharers, cores) };
  if (load >= cores)
    return { value: 'passive', why: `the machine is busy: load average ${load.toFixed(1)} on ${cores} cores` };
  return { value: null, why: 'the run has its cores to itself' };
}

/**
 * Chooses the wait policy and puts it in the environment where it is not there yet: libgomp reads OMP_WAIT_POLICY
 * once, when it is loaded (with libtorch), so this runs before the libtorch addon loads.
 */
export function applyWaitPolicy(env: NodeJS.ProcessEnv = process.env): Chosen<WaitPolicy> {
  const chosen = chooseWaitPolicy(env);
  if (chosen.value !== null && !env.OMP_WAIT_POLICY) env.OMP_WAIT_POLICY = chosen.value;
  return chosen;
}
