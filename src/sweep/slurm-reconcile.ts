import { existsSync, readFileSync } from 'node:fs';
import { ownerElsewhere } from './local-executor.js';
import { requeue, type LedgerEntry, type SlurmJob } from './ledger.js';
import { trialProcesses } from './processes.js';
import { jobsByCommand } from './slurm-cli.js';
import type { SweepLaunch } from './executor.js';
import { readTaskRecord, type TaskLine } from './slurm-task.js';
import type { Trial } from './trial.js';

/**
 * Sorts the sweep's unfinished trials into jobs to follow and trials to submit. `running` entries left by an
 * earlier sweep process are followed by their job id; one whose sbatch had not answered is found again by its
 * task file (in squeue, or in the record the job wrote), else re-queued.
 */
export async function reconcileSlurm(o: SweepLaunch): Promise<{ watch: Map<string, Trial>; submit: Trial[] }> {
  const data = o.ledger.read();
  const watch = new Map<string, Trial>();
  const submit: Trial[] = [];
  const found = new Map<string, string | null>();
  for (const trial of o.trials) {
    const e = data.trials[trial.id];
    if (!e || e.state === 'done') continue;
    if (e.state !== 'running') {
      submit.push(trial);
      continue;
    }
    const job = e.job;
    if (job?.type === 'slurm' && job.job_id) {
      watch.set(job.job_id, trial);
      continue;
    }
    if (job?.type === 'slurm') {
      const jobId = await recoverJobId(o, trial, job, found);
      if (jobId) {
        await o.ledger.update((d) => void Object.assign(d.trials[trial.id].job!, idsOf(jobId)));
        watch.set(jobId, trial);
        continue;
      }
    } else {
      const busy = localBusy(e, trial);
      if (busy) {
        o.observer.note(`${e.slug}: left alone, ${busy}`);
        continue;
      }
    }
    await o.ledger.update((d) => requeue(d, trial.id, 'its sweep process ended before its job was recorded'));
    submit.push(trial);
  }
  return { watch, submit };
}

function localBusy(e: LedgerEntry, trial: Trial): string | null {
  const owner = ownerElsewhere(e);
  if (owner) return owner;
  const pids = trialProcesses(trial.dir, e.job?.type === 'local' ? e.job.pid : undefined);
  return pids.length ? `its process ${pids.join(', ')} from a killed local sweep still runs` : null;
}

function idsOf(jobId: string): Partial<SlurmJob> {
  const [array, task] = jobId.split('_');
  return {
    job_id: jobId,
    array_job_id: array,
    slurm_state: 'UNKNOWN',
    ...(task !== undefined ? { array_task_id: Number(task) } : {}),
  };
}

async function recoverJobId(
  o: SweepLaunch,
  trial: Trial,
  job: SlurmJob,
  found: Map<string, string | null>,
): Promise<string | null> {
  if (!existsSync(job.tasks_file)) return null;
  const lines = readFileSync(job.tasks_file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TaskLine);
  const index = lines.findIndex((l) => l.id === trial.id);
  if (index < 0) return null;
  if (!found.has(job.tasks_file)) {
    const ids = await jobsByCommand(o.sweep, job.tasks_file, o.env);
    found.set(job.tasks_file, ids.length === 1 ? ids[0] : null);
  }
  const record = readTaskRecord(trial.dir);
  const arrayId =
    found.get(job.tasks_file) ?? (record?.tasks_file === job.tasks_file ? record.job_id.split('_')[0] : null);
  if (!arrayId) return null;
  return lines.length > 1 ? `${arrayId}_${index}` : arrayId;
}
