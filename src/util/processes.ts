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

/**
 * Exit status of a run that stopped on its scheduler's warning signal after writing a checkpoint, asking to be
 * requeued: EX_TEMPFAIL of sysexits.h ("temporary failure; the user is invited to retry").
 */
export const REQUEUE_EXIT_CODE = 75;

/** Names the signal (e.g. SIGHUP) on which a run checkpoints and exits REQUEUE_EXIT_CODE; the Slurm task launcher sets it. */
export const REQUEUE_SIGNAL_ENV = 'EPSILAB_REQUEUE_SIGNAL';
