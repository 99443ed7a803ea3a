import { readFileSync } from 'node:fs';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive and not a zombie: a container whose first process reaps nothing keeps dead orphans as zombies. */
export function running(pid: number): boolean {
  try {
    if (/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
  } catch {
    // no /proc here, or the process is gone: the signal probe below decides
  }
  return processAlive(pid);
}
