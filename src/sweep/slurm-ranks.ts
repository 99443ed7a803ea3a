import type { SlurmExecutor } from './sweep-file.js';

/** sbatch's resources for a trial's ranks: tasks_per_trial tasks, each with gpus_per_task GPUs. */
export function rankResources(x: SlurmExecutor): string[] {
  return [
    ...(x.tasks_per_trial > 1 ? [`--ntasks=${x.tasks_per_trial}`] : []),
    ...(x.gpus_per_task > 0 ? [`--gpus-per-task=${x.gpus_per_task}`] : []),
  ];
}

/**
 * The command a trial of several ranks runs under: one srun step of all its tasks, each a rank of the run (srun sets
 * SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID, which `epsilab run` reads); a rank that fails ends the step.
 */
export function rankLauncher(x: SlurmExecutor): string[] {
  return x.tasks_per_trial > 1 ? ['srun', `--ntasks=${x.tasks_per_trial}`, '--kill-on-bad-exit=1'] : [];
}
