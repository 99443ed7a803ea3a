import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { projectRoot } from '../src/util/paths.js';
import { runSweep } from '../src/sweep/run-sweep.js';
import { sbatch, squeueStates } from '../src/sweep/slurm-cli.js';
import type { SweepObserver, Trial } from '../src/sweep/trial.js';
import type { LedgerData, SlurmJob } from '../src/sweep/ledger.js';

const readLedgerFile = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as LedgerData;

const USAGE = `npm run build && node dist/bench/sweep.js [options]
  Local: the sweep's scheduling overhead per trial (ledger updates, log files, HParams records, the next start),
  beyond the start-up of the trial's own process, measured with trials that exit at once. Slurm (when installed and
  run as root): submit -> RUNNING latency of sbatch on a one-node Slurm started for the purpose, submit -> trial
  process start through the sweep's executor (job array, launcher), and the cost of a requeue: a real run of a tiny
  config is sent the time-limit signal (scancel --signal=HUP --batch) N times, and each time the seconds from the
  signal to training again are measured (checkpoint, exit, scontrol requeue, the job's new start, the run's resume).
  --trials N      trials per measurement (default 8)
  --requeues N    preemptions of the requeue measurement (default 3; 0 leaves it out)
  --skip-slurm    leave out the Slurm figures
  --json FILE     also write the figures as JSON`;

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '8' },
    requeues: { type: 'string', default: '3' },
    'skip-slurm': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const BASE = `experiment: bench
backend: cpu
dataset: { type: synthetic, train_size: 8, test_size: 4, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }
optimizer: { type: momentum, momentum: 0.9 }
schedule: { type: piecewise, values: [[0, 0.1]] }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 4 }
`;

/** Writes a trial's start time into its folder, then exits: a trial that costs only its own start-up. */
const STAMP = `require('node:fs').writeFileSync(process.argv[1] + '/started', String(Date.now()))`;

const made: string[] = [];
const tempDir = (prefix: string) => (made.push(mkdtempSync(join(tmpdir(), prefix))), made.at(-1)!);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${x.toFixed(0)} ms`;

function sweepFile(dir: string, n: number, executor: string): string {
  writeFileSync(join(dir, 'base.yaml'), BASE);
  const values = Array.from({ length: n }, (_, i) => (i + 1) / 10);
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `sweep: bench\nbase: base.yaml\ngrid: { model.epsilon: [${values.join(', ')}] }\nexecutor: ${executor}\noutput: { root: ${dir} }\n`,
  );
  return file;
}

const command = (t: Trial) => [process.execPath, '-e', STAMP, t.dir];

async function localOverhead(n: number): Promise<Record<string, number>> {
  const dir = tempDir('epsilab-bench-');
  const bare: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await execa(process.execPath, ['-e', STAMP, dir]);
    bare.push(performance.now() - t0);
  }
  const finished: number[] = [];
  const observer: SweepObserver = {
    started: () => undefined,
    finished: () => void finished.push(performance.now()),
    note: () => undefined,
  };
  await runSweep({ file: sweepFile(dir, n + 1, '{ type: local, max_parallel: 1 }'), observer, command });
  // From one trial's end to the next one's end: the next trial's start-up plus everything the sweep does around it
  const perTrial = finished.slice(1).map((t, i) => t - finished[i]);
  return { bare_child_ms: median(bare), per_trial_ms: median(perTrial), overhead_ms: median(perTrial) - median(bare) };
}

async function freePort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return String(port);
}

/** A one-node Slurm started for the measurement, stopped once `measure` is done. */
async function withSlurm<T>(measure: (env: NodeJS.ProcessEnv, state: string) => Promise<T>): Promise<T> {
  const state = tempDir('epsilab-bench-slurm-');
  const scripts = join(projectRoot(), 'scripts', 'slurm');
  const env = { ...process.env, SLURM_CONF: join(state, 'slurm.conf') };
  await execa(join(scripts, 'start-local.sh'), [state], {
    env: { ...process.env, SLURM_LOCAL_CTLD_PORT: await freePort(), SLURM_LOCAL_D_PORT: await freePort() },
  });
  try {
    return await measure(env, state);
  } finally {
    await execa(join(scripts, 'stop-local.sh'), [state], { reject: false });
  }
}

async function slurmLatency(n: number, env: NodeJS.ProcessEnv, state: string): Promise<Record<string, number>> {
  const toRunning: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const id = await sbatch([`--output=${state}/%j.out`, '--wrap', 'sleep 2'], env);
    while (!(await squeueStates([id], env)).some((s) => s.state !== 'PENDING'))
      await new Promise((r) => setTimeout(r, 20));
    toRunning.push(performance.now() - t0);
  }
  const dir = tempDir('epsilab-bench-');
  const s = await runSweep({
    file: sweepFile(dir, n, '{ type: slurm, poll_s: 0.2 }'),
    env,
    command,
    observer: { started: () => undefined, finished: () => undefined, note: () => undefined },
  });
  // The first trial's: later array tasks also wait for a free CPU
  const toTrial = s.entries.map(
    (e) => Number(readFileSync(join(s.dir, e.dir, 'started'), 'utf8')) - Date.parse(e.started_at!),
  );
  return { submit_to_running_ms: median(toRunning), submit_to_first_trial_start_ms: Math.min(...toTrial) };
}

const sleep = (msecs: number) => new Promise((r) => setTimeout(r, msecs));

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 300_000): Promise<NonNullable<T>> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20)) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const count = (file: string, needle: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split(needle).length - 1 : 0;

/**
 * One trial of a tiny config (real `epsilab run`) signalled `n` times: per preemption, the time from the signal to
 * its run training again (the trial's log says "resuming from"), and its parts. Slurm holds a requeued job for its
 * credential lifetime (cred_expire, 120 s by default) before it may start again: StartTime=now skips that hold,
 * which is Slurm's and the same for any requeue; its length is reported apart.
 */
async function slurmRequeue(n: number, env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  const dir = tempDir('epsilab-bench-');
  writeFileSync(join(dir, 'base.yaml'), BASE.replace('epochs: 1', 'epochs: 400'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `sweep: requeue\nbase: base.yaml\nexecutor: { type: slurm, poll_s: 0.2, max_requeues: ${n} }\noutput: { root: ${dir} }\n`,
  );
  const ledgerFile = join(dir, 'requeue', 'ledger.json');
  const sweep = runSweep({
    file,
    env,
    observer: { started: () => undefined, finished: () => undefined, note: () => undefined },
  });
  const entry = () => (existsSync(ledgerFile) ? Object.values(readLedgerFile(ledgerFile).trials)[0] : undefined);
  const jobId = await until(() => (entry()?.job as SlurmJob | undefined)?.job_id, 'the job id');
  const log = join(dir, 'requeue', entry()!.dir, 'trial.log');
  const toCheckpointed: number[] = [];
  const toTraining: number[] = [];
  const heldFor: number[] = [];
  for (let i = 0; i < n; i++) {
    await until(() => count(log, 'epoch ') > 0 && count(log, 'resuming from') === i, 'training');
    await sleep(1000);
    const t0 = Date.now();
    await execa('scancel', ['--signal=HUP', '--batch', jobId], { env });
    await until(() => (entry()?.requeues?.length ?? 0) > i, 'the requeue');
    toCheckpointed.push(Date.parse(entry()!.requeues![i].at) - t0);
    await until(
      async () => (await execa('squeue', ['-h', '-j', jobId, '-o', '%T|%S'], { env })).stdout.startsWith('PENDING'),
      'the job pending again',
    );
    const startAt = (await execa('squeue', ['-h', '-j', jobId, '-o', '%S'], { env })).stdout.trim();
    heldFor.push(Date.parse(startAt) - Date.now());
    await execa('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now'], { env });
    await until(() => count(log, 'resuming from') > i, 'training again');
    toTraining.push(Date.now() - t0);
  }
  await execa('scancel', [jobId], { env });
  await sweep;
  return {
    requeues: n,
    signal_to_requeue_recorded_ms: median(toCheckpointed),
    signal_to_training_again_ms: median(toTraining),
    slurm_hold_skipped_ms: median(heldFor),
  };
}

if (args.help) console.log(USAGE);
else {
  const n = Number(args.trials);
  const figures: Record<string, Record<string, number> | string> = { local: await localOverhead(n) };
  const local = figures.local as Record<string, number>;
  console.log(
    `local: bare child ${ms(local.bare_child_ms)}, per trial in a sweep ${ms(local.per_trial_ms)}: overhead ${ms(local.overhead_ms)} per trial (target < 1000 ms)`,
  );
  if (!args['skip-slurm']) {
    try {
      await withSlurm(async (env, state) => {
        const slurm = await slurmLatency(Math.min(n, 5), env, state);
        figures.slurm = slurm;
        console.log(
          `slurm: submit -> RUNNING ${ms(slurm.submit_to_running_ms)} (target < 3000 ms), submit -> first trial process start ${ms(slurm.submit_to_first_trial_start_ms)}`,
        );
        if (Number(args.requeues) > 0) {
          const r = await slurmRequeue(Number(args.requeues), env);
          figures.requeue = r;
          console.log(
            `slurm requeue (median of ${r.requeues}): signal -> requeue recorded ${ms(r.signal_to_requeue_recorded_ms)}, signal -> training again ${ms(r.signal_to_training_again_ms)}, plus Slurm's hold of a requeued job (skipped here) ${ms(r.slurm_hold_skipped_ms)}`,
          );
        }
      });
    } catch (err) {
      figures.slurm = `not measured: ${(err as Error).message.split('\n')[0]}`;
      console.log(`slurm: ${figures.slurm}`);
    }
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(figures, null, 2) + '\n');
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
}
