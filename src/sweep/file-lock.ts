import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EpsilabError } from '../util/errors.js';
import { running } from '../util/processes.js';

/** A lock left by a process on another host is taken over after this long (its pid cannot be checked from here). */
const FOREIGN_LOCK_STALE_MS = 5 * 60_000;

/** A lock file without an owner (one created empty and its creator killed, as older versions could) is stale after this long. */
const EMPTY_LOCK_STALE_MS = 10_000;

/** The lock file's owner is gone: a dead pid on this host, an old lock from another host, or an old empty lock. */
function isStale(lockPath: string, owner: string): boolean {
  const [pid, host] = owner.split('@');
  if (host === hostname()) return !running(Number(pid));
  try {
    return Date.now() - statSync(lockPath).mtimeMs > (owner === '' ? EMPTY_LOCK_STALE_MS : FOREIGN_LOCK_STALE_MS);
  } catch {
    return true;
  }
}

/** Creates the lock with its owner already inside (written aside, then hard-linked into place), or returns false if it is held. */
function tryCreate(lockPath: string, owner: string): boolean {
  const aside = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(aside, owner);
  try {
    linkSync(aside, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(aside, { force: true });
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
 * Runs `fn` while holding `<path>.lock`, created by an exclusive hard link so only one process holds it and it never
 * exists without its owner (a process killed while creating it leaves no empty lock); a lock whose owner died
 * (SIGKILL) is taken over. Waits up to `timeoutMs` for a live owner.
 */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const lockPath = `${path}.lock`;
  const me = `${process.pid}@${hostname()}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryCreate(lockPath, me)) break;
    const owner = readOwner(lockPath);
    // Re-read right before removing: never remove a lock that changed hands since it was judged stale
    if (owner !== null && isStale(lockPath, owner) && readOwner(lockPath) === owner) {
      unlinkSync(lockPath);
      continue;
    }
    if (Date.now() > deadline)
      throw new EpsilabError(
        `${lockPath} is held by ${owner || 'another process'}; gave up after ${timeoutMs / 1000} s`,
      );
    await sleep(10 + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}
