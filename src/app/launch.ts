import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentConfig } from '../config/load.js';
import { libtorchReport } from '../backends/info.js';
import { sharedCoresEnv } from '../backends/threads.js';
import { describeHolder, runFolderHolder } from '../run/lock.js';
import { InputError, UnavailableError, UsageError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';
import { running } from '../util/processes.js';
import { freePort } from '../util/free-port.js';
import { executeRun, type ExecuteOptions } from './execute.js';
import { checkRankable, distributedSettings, launchedRank, rankLog, SUPERVISOR_ENV } from './ranks.js';
import { setTimeout as sleep } from 'node:timers/promises';

interface LaunchOptions {
  config: ExperimentConfig;
  runDir: string;
  /** The `epsilab` arguments every rank runs (`run <config> ...`): each finds its rank in its environment. */
  args: string[];
  ranks: number;
  log: (line: string) => void;
  /** Wait for another process holding the run folder instead of failing. */
  wait?: boolean;
}

/** After the first rank fails, how long the others get to end on their own (a peer's failure reaches them at once). */
const SETTLE_MS = 2_000;
/** Seconds a stopped rank gets to end after SIGTERM beyond the watchdog timeout, before SIGKILL. */
const KILL_GRACE_S = 10;
/** How a rank's error says that a collective or the rendezvous failed or waited past the watchdog timeout for another. */
const TIMED_OUT = /timed out/i;

interface Rank {
  rank: number;
  child: ChildProcess;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** The last line it printed on stderr: its error, when it failed. */
  lastError: string;
  /** Killed by the supervisor, not by whatever stopped the run. */
  stoppedByUs: boolean;
}

/** What stops N ranks from starting on this machine: a user's error (exit 2) naming the fix. */
async function checkLaunchable(o: LaunchOptions): Promise<void> {
  const { config, ranks } = o;
  checkRankable(config, ranks, `--nproc ${ranks}`);
  const { info, why } = libtorchReport();
  if (!info)
    throw new UnavailableError(
      `--nproc ${ranks} needs the libtorch backend, which does not load here: ${why} (\`epsilab doctor\` says more)`,
    );
  if (config.device !== 'cpu') {
    if (config.device !== 'cuda')
      throw new UsageError(
        `--nproc ${ranks} gives each rank a GPU of its own: set device: cuda (not ${config.device}); rank k takes cuda:k`,
      );
    const gpus = info.cudaDevices ?? 0;
    if (gpus < ranks)
      throw new UsageError(
        `--nproc ${ranks} with device: cuda needs ${ranks} GPUs (one per rank) and libtorch sees ${gpus === 0 ? 'none' : gpus}: ${gpus > 1 ? `use --nproc ${gpus} or fewer, or ` : ''}train with device: cpu (the cores divided between the ranks)`,
      );
  }
  if (!(config.device === 'cpu' ? info.gloo : info.nccl))
    throw new UnavailableError(
      config.device === 'cpu'
        ? `--nproc ${ranks} exchanges gradients over Gloo, and this build of the libtorch addon has no Gloo: install libgloo-dev and rebuild it with \`node native/install.mjs\` (native/README.md)`
        : `--nproc ${ranks} with device: cuda exchanges gradients over NCCL, and this build of the libtorch addon has none: rebuild it against a CUDA PyTorch that has NCCL (\`node native/install.mjs\`, native/README.md), or train with device: cpu (Gloo)`,
    );
  // rank 0 would find the folder busy too, with its peers already waiting for it
  for (let holder = runFolderHolder(o.runDir), told = false; holder; holder = runFolderHolder(o.runDir)) {
    if (!o.wait)
      throw new InputError(
        `${o.runDir} is in use by ${describeHolder(holder)}: one process at a time may write a run folder. Wait for it to finish (or stop it), or pass --wait to start when it is done`,
      );
    if (!told) o.log(`waiting for ${describeHolder(holder)} to finish with ${o.runDir}`);
    told = true;
    await sleep(250);
  }
}

/**
 * `epsilab run --nproc N`: starts N ranks of the same command on this machine (torchrun's environment: RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; cpu threads divided between them) and supervises them. Rank 0
 * prints as a plain run does; rank k>0 logs to rank-k.log in the run folder. When one rank dies or stops responding,
 * the others are stopped and one message names it (exit 1); SIGINT/SIGTERM pass to every rank once (exit 130).
 */
async function launchRanks(o: LaunchOptions): Promise<number> {
  await checkLaunchable(o);
  const { ranks, log } = o;
  const port = process.env.MASTER_PORT ?? String(await freePort());
  const onCpu = o.config.device === 'cpu';
  const { timeout_s: timeoutS } = distributedSettings(o.config);
  const others =
    ranks === 2 ? `rank 1 logs to ${rankLog(o.runDir, 1)}` : `ranks 1–${ranks - 1} log to rank-K.log there`;
  log(
    `starting ${ranks} ranks on this machine (rendezvous 127.0.0.1:${port}, ${onCpu ? 'the cores divided between them' : 'one GPU each'}): rank 0 writes ${o.runDir}, ${others}`,
  );
  mkdirSync(o.runDir, { recursive: true });
  const bin = join(projectRoot(), 'bin', 'epsilab.js');
  const all: Rank[] = [];
  let failing = false;
  for (let rank = 0; rank < ranks; rank++) {
    const logFd = rank === 0 ? null : openSync(rankLog(o.runDir, rank), 'a');
    const child = spawn(process.execPath, [bin, ...o.args], {
      // its own process group: a Ctrl-C reaches the supervisor alone, which passes it on once
      detached: true,
      stdio: ['ignore', logFd ?? 'inherit', 'pipe'],
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(ranks),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(ranks),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
        [SUPERVISOR_ENV]: String(process.pid),
        ...(onCpu ? sharedCoresEnv(ranks) : {}),
      },
    });
    if (logFd !== null) closeSync(logFd);
    const r: Rank = { rank, child, lastError: '', stoppedByUs: false };
    let pending = '';
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      if (rank > 0) appendRankLog(o.runDir, rank, text);
      // once another rank has failed, rank 0's own error (a peer gone) would only repeat the supervisor's message
      else if (!failing) process.stderr.write(text);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      const last = lines.filter((l) => l.trim()).at(-1);
      if (last) r.lastError = last.replace(/^epsilab \w+: /, '');
    });
    all.push(r);
  }
  log(`ranks started: ${all.map((r) => `${r.rank}=pid ${r.child.pid}`).join(', ')}`);
  let interrupted = false;
  const forward = (signal: NodeJS.Signals) => {
    interrupted = true;
    for (const r of all) if (!r.exit) r.child.kill(signal);
  };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let killTimer: NodeJS.Timeout | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  let blamed = false;
  let message: string | null = null;
  /** Once: name the rank the failure is due to, then stop the ranks still running. */
  const settle = () => {
    if (blamed) return;
    blamed = true;
    clearTimeout(settleTimer);
    const verdict = blame(all, timeoutS);
    message = verdict.message;
    const { hung } = verdict;
    for (const r of all.filter((x) => !x.exit)) {
      r.stoppedByUs = true;
      r.child.kill(hung.includes(r) ? 'SIGKILL' : 'SIGTERM');
    }
    killTimer = setTimeout(
      () => all.filter((r) => !r.exit).forEach((r) => r.child.kill('SIGKILL')),
      (timeoutS + KILL_GRACE_S) * 1000,
    );
  };
  try {
    await new Promise<void>((resolve) => {
      let left = all.length;
      for (const r of all) {
        r.child.on('close', (code, signal) => {
          r.exit = { code, signal };
          const failed = signal !== null || (code !== 0 && !(interrupted && code === 130));
          if (failed && !failing && !interrupted) {
            failing = true;
            // a rank that timed out waited for another: the one still running after the others timed out too hangs
            if (signal === null && TIMED_OUT.test(r.lastError)) settleTimer = setTimeout(settle, SETTLE_MS);
            else settle();
          }
          if (--left > 0) return;
          if (failing) settle();
          resolve();
        });
      }
    });
  } finally {
    clearTimeout(killTimer);
    clearTimeout(settleTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  // said last, after whatever the ranks printed while they stopped
  if (message) log(message);
  return exitCode(all, interrupted);
}

/** The rank a failure is due to, told in one message, and the ranks that hang (to be killed, a SIGTERM would wait). */
function blame(all: Rank[], timeoutS: number): { message: string | null; hung: Rank[] } {
  const resume = 'run the same command again to resume from the last checkpoint';
  const pid = (r: Rank) => `rank ${r.rank} (pid ${r.child.pid})`;
  const killed = all.find((r) => r.exit?.signal && !r.stoppedByUs);
  if (killed)
    return {
      message: `${pid(killed)} was killed by ${killed.exit!.signal}: the other ranks are stopped; ${resume}`,
      hung: [],
    };
  const failed = all.filter((r) => r.exit && r.exit.code !== 0);
  // a rank that answers a user's mistake (a busy or mismatched run folder) has said so itself, exit 2
  if (failed.some((r) => r.exit!.code === 2)) return { message: null, hung: [] };
  const cause = failed.find((r) => !TIMED_OUT.test(r.lastError));
  if (cause)
    return {
      message:
        cause.rank === 0
          ? `${pid(cause)} failed (its error is above): the other ranks are stopped`
          : `${pid(cause)} failed: ${cause.lastError || `exit ${cause.exit!.code}`} (more in rank-${cause.rank}.log): the other ranks are stopped`,
      hung: [],
    };
  const hung = all.filter((r) => !r.exit);
  if (hung.length)
    return {
      message: `${hung.map(pid).join(', ')} stopped responding: rank ${failed[0].rank} waited ${timeoutS} s for it (train.distributed.timeout_s); it is killed and the run stopped; ${resume}`,
      hung,
    };
  return { message: `every rank timed out waiting for the others: the run stopped; ${resume}`, hung: [] };
}

/** The run's exit code: a user's error (2) or a failure (1) of any rank, else 130 when interrupted, else 0. */
function exitCode(all: Rank[], interrupted: boolean): number {
  const codes = all.map((r) => r.exit!.code);
  if (codes.includes(2)) return 2;
  // interrupted, rank 0 wrote its checkpoint: a peer that lost it mid-collective failed for that alone
  if (interrupted && codes[0] === 130) return 130;
  if (all.some((r) => r.exit!.signal !== null || (r.exit!.code !== 0 && r.exit!.code !== 130))) return 1;
  return codes.includes(130) ? 130 : 0;
}

function appendRankLog(runDir: string, rank: number, text: string): void {
  const fd = openSync(rankLog(runDir, rank), 'a');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Trains a run: as the rank its launcher (srun, torchrun, `--nproc`) made this process, by starting the ranks that
 * train.distributed asks for, or in this one process. A rank other than 0 logs to rank-K.log in the run folder.
 */
export async function runTraining(o: ExecuteOptions & { args: string[] }): Promise<number> {
  const place = launchedRank(o.config);
  const { ranks } = distributedSettings(o.config);
  if (!place && ranks > 1)
    return launchRanks({ config: o.config, runDir: o.runDir, args: o.args, ranks, log: o.log, wait: o.wait });
  if (!place) return executeRun(o);
  watchSupervisor();
  if (place.rank === 0) return executeRun({ ...o, place });
  mkdirSync(o.runDir, { recursive: true });
  const file = rankLog(o.runDir, place.rank);
  return executeRun({ ...o, place, log: (line) => appendFileSync(file, line + '\n') });
}

/** A rank whose `--nproc` supervisor was killed stops too (it would wait on the others forever): checked every second. */
function watchSupervisor(): void {
  const supervisor = Number(process.env[SUPERVISOR_ENV]);
  if (!supervisor) return;
  setInterval(() => {
    if (!running(supervisor)) process.kill(process.pid, 'SIGKILL');
  }, 1000).unref();
}
