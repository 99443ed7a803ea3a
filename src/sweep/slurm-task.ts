import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../util/atomic.js';

/** One line of a submission's task file: array task i runs line i. */
export interface TaskLine {
  id: string;
  dir: string;
  argv: string[];
}

/** Written into the trial folder by the job itself: outlives Slurm's memory of the job (MinJobAge). */
export interface TaskRecord {
  job_id: string;
  tasks_file: string;
  host: string;
  started_at: string;
  ended_at?: string;
  exit_code?: number;
  signal?: string;
}

export const taskRecordFile = (dir: string): string => join(dir, 'slurm-task.json');

export function readTaskRecord(dir: string): TaskRecord | null {
  const file = taskRecordFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TaskRecord) : null;
}

/**
 * Runs inside a Slurm job: `node slurm-task.js <tasks.jsonl>` picks the line of SLURM_ARRAY_TASK_ID (0 for a plain
 * job), runs its command with output appended to the trial's log, and exits as the trial did.
 */
function main(tasksFile: string): void {
  const env = process.env;
  const index = Number(env.SLURM_ARRAY_TASK_ID ?? 0);
  const task = JSON.parse(readFileSync(tasksFile, 'utf8').split('\n').filter(Boolean)[index]) as TaskLine;
  const jobId = env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${index}` : (env.SLURM_JOB_ID ?? '?');
  const record: TaskRecord = {
    job_id: jobId,
    tasks_file: tasksFile,
    host: hostname(),
    started_at: new Date().toISOString(),
  };
  writeJsonAtomic(taskRecordFile(task.dir), record);
  const log = openSync(join(task.dir, 'trial.log'), 'a');
  writeSync(log, `=== Slurm job ${jobId} on ${record.host} at ${record.started_at}: ${task.argv.join(' ')}\n`);
  // Slurm signals every process of the job, the trial included; passing a signal on would reach it twice
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => undefined);
  const child = spawn(task.argv[0], task.argv.slice(1), { stdio: ['ignore', log, log] });
  child.on('error', (err) => {
    writeSync(log, `cannot start ${task.argv[0]}: ${err.message}\n`);
    writeJsonAtomic(taskRecordFile(task.dir), { ...record, ended_at: new Date().toISOString(), exit_code: 127 });
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    writeJsonAtomic(taskRecordFile(task.dir), {
      ...record,
      ended_at: new Date().toISOString(),
      ...(code !== null ? { exit_code: code } : { signal: signal ?? undefined }),
    });
    if (code !== null) process.exit(code);
    process.removeAllListeners(signal!);
    process.kill(process.pid, signal!);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv[2]);
