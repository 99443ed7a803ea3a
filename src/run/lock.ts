import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../util/errors.js';
import { running } from '../util/processes.js';

/** Who holds a run folder: recorded in its run.lock so that a refusal can name the holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO time). */
  started: string;
  /** What it is doing: `run`, `compress`... with its command line. */
  purpose: string;
  command: string[];
}

export const LOCK_FILE = 'run.lock';
/** The holder touches its lock this often, so a lock on a shared filesystem shows whether its holder (on another host) is alive. */
const HEARTBEAT_MS = 30_000;
/** A lock from another host whose heartbeat is older than this is taken over: its pid cannot be checked from here. */
const FOREIGN_STALE_MS = 5 * 60_000;
/** A takeover marker (held for microseconds) older than this was left by a process killed mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The lock file's holder; null when there is no lock, or it is being written right now. */
function readHolder(lockPath: string): { holder: LockHolder | null; text: string } | null {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(
      `${lockPath} is not a lock file (${(err as NodeJS.ErrnoException).code === 'EISDIR' ? 'a folder' : (err as Error).message}): remove it, once no epsilab process uses the run folder`,
    );
  }
  try {
    return { holder: JSON.parse(text) as LockHolder, text };
  } catch {
    return { holder: null, text };
  }
}

/** Why a lock's holder no longer holds it, or null when it may still be running. */
function staleReason(lockPath: string, holder: LockHolder | null): string | null {
  if (holder === null) return ageMs(lockPath) > TAKEOVER_STALE_MS ? 'an unknown process left it unreadable' : null;
  if (holder.host === hostname()) return running(holder.pid) ? null : `${describeHolder(holder)} is no longer running`;
  const age = ageMs(lockPath);
  return age > FOREIGN_STALE_MS
    ? `${describeHolder(holder)} has not refreshed it for ${Math.round(age / 60_000)} minutes`
    : null;
}

/** The holder in words; a lock written by hand or by another tool may lack fields, shown as '?'. */
export function describeHolder(h: Partial<LockHolder>): string {
  return `\`epsilab ${h.purpose ?? '?'}\` (pid ${h.pid ?? '?'} on ${h.host ?? '?'}, since ${h.started ?? '?'})`;
}

/** The live holder of a run folder's lock, or null when no process holds it. */
export function runFolderHolder(runDir: string): LockHolder | null {
  const lockPath = join(runDir, LOCK_FILE);
  const read = readHolder(lockPath);
  if (!read || staleReason(lockPath, read.holder) !== null) return null;
  return read.holder;
}

/** Readers (eval, a distillation teacher) refuse a folder a writer holds: its model may be about to change. */
export function assertNotBusy(runDir: string, what: string): void {
  const holder = runFolderHolder(runDir);
  if (holder) throw new InputError(`${runDir} is in use by ${describeHolder(holder)}; ${what} once it has finished`);
}

export interface RunFolderLock {
  release(): void;
}

export interface LockOptions {
  /** The command taking the lock (`run`, `resume`, `compress`), recorded for whoever finds the folder busy. */
  purpose: string;
  /** Wait for the holder to finish instead of failing. */
  wait?: boolean;
  log?: (line: string) => void;
}

/** A folder other than a run folder held the same way: the lock's file name and what holding it allows. */
export interface FolderLockKind {
  file: string;
  /** Completes "one process at a time may …". */
  exclusive: string;
  /** The command takes --wait. */
  canWait: boolean;
}

const RUN_FOLDER: FolderLockKind = { file: LOCK_FILE, exclusive: 'write a run folder', canWait: true };

/** Remove a stale lock, unless another process replaced it since it was judged stale (guarded by an exclusive marker). */
function takeOver(lockPath: string, staleText: string): void {
  const marker = `${lockPath}.takeover`;
  let fd: number;
  try {
    fd = openSync(marker, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (ageMs(marker) > TAKEOVER_STALE_MS) unlinkSync(marker);
    return;
  }
  try {
    if (readHolder(lockPath)?.text === staleText) unlinkSync(lockPath);
  } finally {
    closeSync(fd);
    unlinkSync(marker);
  }
}

/**
 * Take the run folder's exclusive lock (run.lock, created with O_EXCL; holder pid, host, start time and command
 * inside). A lock whose holder died (a dead pid on this host, or no heartbeat from another host for 5 minutes) is
 * taken over; a live holder makes this fail with an InputError naming it, or, with `wait`, wait for it.
 * The lock goes when `release` is called or the process exits.
 */
export function lockRunFolder(runDir: string, o: LockOptions): Promise<RunFolderLock> {
  return lockFolder(runDir, RUN_FOLDER, o);
}

/** `lockRunFolder` for another kind of folder (a sweep's: one sweep process follows its trials). */
export async function lockFolder(dir: string, kind: FolderLockKind, o: LockOptions): Promise<RunFolderLock> {
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, kind.file);
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    purpose: o.purpose,
    command: process.argv.slice(1),
  };
  const text = JSON.stringify(me);
  let waiting = false;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const read = readHolder(lockPath);
    if (!read) continue;
    const stale = staleReason(lockPath, read.holder);
    if (stale !== null) {
      o.log?.(`taking over ${lockPath}: ${stale}`);
      takeOver(lockPath, read.text);
      continue;
    }
    if (!read.holder) {
      await sleep(20);
      continue;
    }
    if (!o.wait) {
      throw new InputError(
        `${dir} is in use by ${describeHolder(read.holder)}: one process at a time may ${kind.exclusive}. ` +
          `Wait for it to finish (or stop it)${kind.canWait ? ', or pass --wait to start when it is done' : ''}`,
      );
    }
    if (!waiting) o.log?.(`waiting for ${describeHolder(read.holder)} to finish with ${dir}`);
    waiting = true;
    await sleep(250);
  }
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lockPath, now, now);
    } catch {
      // the folder was removed under us; release will find nothing to remove
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    clearInterval(heartbeat);
    process.off('exit', release);
    if (readHolder(lockPath)?.text === text) unlinkSync(lockPath);
  };
  process.on('exit', release);
  return { release };
}
