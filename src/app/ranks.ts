import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { ExperimentConfig } from '../config/load.js';
import { distributedEnv, type DistributedEnv } from '../backends/process-group.js';
import { DistributedSection } from '../registry/experiment.js';
import { UnavailableError, UsageError } from '../util/errors.js';

/**
 * This process's place in a data-parallel run, as its launcher set it in the environment: torchrun's names (the
 * contract of backends/process-group.ts, which `epsilab run --nproc` sets for its ranks too), or under `srun` Slurm's
 * SLURM_PROCID, SLURM_STEP_NUM_TASKS and SLURM_LOCALID, rank 0's host the first of the step's nodes.
 */
export interface RankPlace extends DistributedEnv {
  /** Who started the ranks. */
  launcher: 'epsilab' | 'torchrun' | 'slurm';
  /** The hosts the ranks run on, rank 0's first. */
  hosts: string[];
}

/** Set by `epsilab run --nproc` in its ranks: its pid, so that a rank outliving it stops. */
export const SUPERVISOR_ENV = 'EPSILAB_SUPERVISOR_PID';
/** The watchdog timeout as the process group reads it, in seconds. */
const TIMEOUT_ENV = 'EPSILAB_DIST_TIMEOUT';

/** Rendezvous port of a Slurm job's ranks when MASTER_PORT is not set: derived from the job id, so jobs sharing a node differ. */
const slurmPort = (jobId: string | undefined) => String(20_000 + (Number(jobId ?? 0) % 20_000));

/** The node names of a Slurm node list (`node[01-03]`), as `scontrol show hostnames` expands it. */
function slurmHosts(nodeList: string): string[] {
  try {
    return execFileSync('scontrol', ['show', 'hostnames', nodeList], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (err) {
    throw new UnavailableError(
      `cannot expand the Slurm node list ${nodeList} with \`scontrol show hostnames\` (${(err as Error).message.split('\n')[0]}): set MASTER_ADDR to rank 0's host`,
    );
  }
}

/**
 * This process's rank, or null when no launcher started it as one (a plain run, or the `--nproc` supervisor itself).
 * A task of an srun step gets torchrun's variables from Slurm's here (the batch script itself, SLURM_PROCID 0 too, has
 * no SLURM_STEP_NUM_TASKS), and every rank the watchdog of train.distributed.timeout_s unless its environment sets one.
 */
export function launchedRank(config: ExperimentConfig, env: NodeJS.ProcessEnv = process.env): RankPlace | null {
  const srun = env.RANK === undefined && env.SLURM_STEP_NUM_TASKS !== undefined && env.SLURM_PROCID !== undefined;
  let hosts: string[] | undefined;
  if (srun) {
    hosts = env.MASTER_ADDR
      ? [env.MASTER_ADDR]
      : slurmHosts(env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST ?? hostname());
    Object.assign(env, {
      RANK: env.SLURM_PROCID,
      WORLD_SIZE: env.SLURM_STEP_NUM_TASKS,
      LOCAL_RANK: env.SLURM_LOCALID ?? '0',
      MASTER_ADDR: hosts[0],
      MASTER_PORT: env.MASTER_PORT ?? slurmPort(env.SLURM_JOB_ID),
    });
  }
  if (Number(env.WORLD_SIZE) > 1) env[TIMEOUT_ENV] ??= String(distributedSettings(config).timeout_s);
  const place = distributedEnv(env);
  if (!place) return null;
  const launcher = env[SUPERVISOR_ENV] ? 'epsilab' : srun ? 'slurm' : 'torchrun';
  return { ...place, launcher, hosts: hosts ?? [launcher === 'epsilab' ? hostname() : place.host] };
}

/** train.distributed, with the schema's defaults where the config leaves it out (ranks that srun or torchrun started). */
export function distributedSettings(config: ExperimentConfig): DistributedSection {
  // A damaged config.json without `train` is one process: executeRun names the holder of a live lock, then the damage.
  return config.train?.distributed ?? (Value.Default(DistributedSection, {}) as DistributedSection);
}

/** Each rank's host and local rank, rank 0 first: Slurm places a step's tasks in blocks per node (SLURM_STEP_TASKS_PER_NODE, e.g. `2(x3),1`). */
export function rankLayout(
  place: RankPlace,
  env: NodeJS.ProcessEnv = process.env,
): { host: string; localRank: number }[] {
  const perNode =
    place.launcher === 'slurm' && env.SLURM_STEP_TASKS_PER_NODE
      ? env.SLURM_STEP_TASKS_PER_NODE.split(',').flatMap((part) => {
          const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part);
          return m ? Array<number>(Number(m[2] ?? 1)).fill(Number(m[1])) : [];
        })
      : [place.worldSize];
  return perNode.flatMap((count, node) =>
    Array.from({ length: count }, (_, localRank) => ({ host: place.hosts[node] ?? place.hosts[0], localRank })),
  );
}

/**
 * What a config must be to train over `ranks` processes; a UsageError naming the fix otherwise. The ranks take the
 * place of towers: train.towers (when set) counts all the towers of the run and each rank trains its share of them.
 */
export function checkRankable(config: ExperimentConfig, ranks: number, how: string): void {
  if (ranks <= 1) return;
  if (config.backend !== 'libtorch' && config.backend !== 'auto')
    throw new UsageError(
      `${how} trains over ${ranks} processes, which exchange gradients through libtorch: set backend: libtorch (backend ${config.backend} runs one process)`,
    );
  if (config.distillation)
    throw new UsageError(`${how}: a distillation runs in one process; leave out --nproc and train.distributed`);
  const towers = config.train.towers ?? ranks;
  if (towers % ranks !== 0)
    throw new UsageError(
      `train.towers (${towers}) must split evenly over the ${ranks} ranks (each trains towers/ranks of them): use ${ranks} ranks dividing it, or set train.towers to a multiple of ${ranks}`,
    );
  if (config.train.batch_size % ranks !== 0)
    throw new UsageError(
      `train.batch_size (${config.train.batch_size}) is the total over the ranks and must split into ${ranks} equal parts: use a multiple of ${ranks}`,
    );
}

/** A non-zero rank's log file in the run folder: all it writes there. */
export const rankLog = (runDir: string, rank: number): string => join(runDir, `rank-${rank}.log`);
