import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EpsilabError } from '../util/errors.js';
import { running } from '../util/processes.js';

/** A lock left by a process on another host is taken over after this long (its pid cannot be checked from here). */
const FOREIGN_LOCK_STALE_MS = 5 * 60_000;

/** The lock file's owner is gone: a dead pid on this host, or an old lock from another host. */
function isStale(lockPath: string, owner: string): boolean {
  const [pid, host] = owner.split('@');
  if (host === hostname()) return !running(Number(pid));
  try {
    return Date.now() - statSync(lockPath).mtimeMs > FOREIGN_LOCK_STALE_MS;
  } catch {
    return true;
  }
}

function readOwner(lockPath: string): string | null {
  try {
    return readFileSync(lockPath, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Runs `fn` while holding `<path>.lock`, created with O_EXCL so only one process holds it; a lock whose owner died
 * (SIGKILL) is taken over. Waits up to `timeoutMs` for a live owner.
 */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const lockPath = `${path}.lock`;
  const me = `${process.pid}@${hostname()}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(lockPath);
    // Re-read right before removing: never remove a lock that changed hands since it was judged stale
    if (owner !== null && isStale(lockPath, owner) && readOwner(lockPath) === owner) {
      unlinkSync(lockPath);
      continue;
    }
    if (Date.now() > deadline) throw new EpsilabError(`${lockPath} is held by ${owner ?? 'another process'}; gave up after ${timeoutMs / 1000} s`);
    await sleep(10 + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}
