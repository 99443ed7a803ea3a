import { execa } from 'execa';
import { EpsilabError, UserError } from '../util/errors.js';

/** One job or array task as squeue reports it; `jobId` is `<array>_<task>` for array tasks. */
export interface SlurmTaskState {
  jobId: string;
  arrayJobId: string;
  taskId?: number;
  state: string;
  reason: string;
}

/** What scontrol adds: the exit code and the signal that ended the job (`ExitCode=code:signal`). */
export interface SlurmTaskDetail extends SlurmTaskState {
  exitCode: number;
  signal: number;
}

/** States after which a job never runs again; anything else (PENDING, RUNNING, COMPLETING, ...) is still going. */
export const FINAL_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'CANCELLED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
  'SPECIAL_EXIT',
]);

async function slurm(
  tool: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await execa(tool, args, { env, reject: false, stdin: 'ignore' });
  if (r.failed && r.exitCode === undefined)
    throw new UserError(
      `${tool}: ${r.shortMessage ?? 'cannot run'} (the sweep's executor is slurm: run it where Slurm is installed, or use executor: { type: local })`,
    );
  return { ok: r.exitCode === 0, stdout: String(r.stdout), stderr: String(r.stderr).trim() };
}

/** Submits a batch job; returns its id (`--parsable` prints `id` or `id;cluster`). */
export async function sbatch(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await slurm('sbatch', ['--parsable', ...args], env);
  const id = r.stdout.trim().split(';')[0];
  if (!r.ok || !/^\d+$/.test(id)) throw new EpsilabError(`sbatch failed: ${r.stderr || r.stdout.trim()}`);
  return id;
}

/** Task ids of an array spec such as `0-3%2`, `2,5-7` or `0-9:3`. */
export function expandTaskSpec(spec: string): number[] {
  const ids: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!m) continue;
    const [from, to, step] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3] ?? 1)];
    for (let i = from; i <= to; i += step) ids.push(i);
  }
  return ids;
}

/**
 * States of the given jobs, finished ones included (`-t all`; Slurm keeps them for MinJobAge seconds). A pending
 * array's single summary line is expanded to one entry per task. Jobs Slurm no longer knows are simply absent.
 */
export async function squeueStates(jobIds: string[], env?: NodeJS.ProcessEnv): Promise<SlurmTaskState[]> {
  if (!jobIds.length) return [];
  const r = await slurm('squeue', ['-h', '-t', 'all', '-j', jobIds.join(','), '-o', '%i|%F|%K|%T|%r'], env);
  if (!r.ok) {
    if (/invalid job id/i.test(r.stderr)) return [];
    throw new EpsilabError(`squeue failed: ${r.stderr}`);
  }
  const out: SlurmTaskState[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [id, arrayJobId, tasks, state, reason] = line.split('|');
    if (tasks === 'N/A') out.push({ jobId: id, arrayJobId, state, reason });
    else
      for (const taskId of expandTaskSpec(tasks))
        out.push({ jobId: `${arrayJobId}_${taskId}`, arrayJobId, taskId, state, reason });
  }
  return out;
}

function field(line: string, key: string): string | undefined {
  return new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)?.[1];
}

/** `scontrol show job -o <id>`: one line per job or array task, with exit codes; [] when Slurm forgot the job. */
export async function scontrolJobs(jobId: string, env?: NodeJS.ProcessEnv): Promise<SlurmTaskDetail[]> {
  const r = await slurm('scontrol', ['show', 'job', '-o', jobId], env);
  if (!r.ok) {
    if (/invalid job id/i.test(r.stderr)) return [];
    throw new EpsilabError(`scontrol failed: ${r.stderr}`);
  }
  const out: SlurmTaskDetail[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const arrayJobId = field(line, 'ArrayJobId');
    const task = field(line, 'ArrayTaskId');
    const [exitCode, signal] = (field(line, 'ExitCode') ?? '0:0').split(':').map(Number);
    const common = {
      state: field(line, 'JobState') ?? 'UNKNOWN',
      reason: field(line, 'Reason') ?? 'None',
      exitCode,
      signal,
    };
    if (!arrayJobId)
      out.push({ jobId: field(line, 'JobId') ?? jobId, arrayJobId: field(line, 'JobId') ?? jobId, ...common });
    else
      for (const taskId of expandTaskSpec(task ?? ''))
        out.push({ jobId: `${arrayJobId}_${taskId}`, arrayJobId, taskId, ...common });
  }
  return out;
}

/** Jobs of this name whose command line holds `needle` (how a submission cut off before its id was recorded is found). */
export async function jobsByCommand(name: string, needle: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await slurm('squeue', ['-h', '-t', 'all', '-n', name, '-o', '%F|%o'], env);
  if (!r.ok) throw new EpsilabError(`squeue failed: ${r.stderr}`);
  const ids = r.stdout
    .split('\n')
    .filter((l) => l.includes(needle))
    .map((l) => l.split('|')[0]);
  return [...new Set(ids)];
}

export async function scancel(jobIds: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  if (!jobIds.length) return;
  const r = await slurm('scancel', jobIds, env);
  if (!r.ok) throw new EpsilabError(`scancel failed: ${r.stderr}`);
}

/** `scontrol requeue <job>`: a running or finished batch job (one array task) goes back to PENDING under its id. */
export async function scontrolRequeue(jobId: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await slurm('scontrol', ['requeue', jobId], env);
  if (!r.ok) throw new EpsilabError(`scontrol requeue ${jobId} failed: ${r.stderr}`);
}
