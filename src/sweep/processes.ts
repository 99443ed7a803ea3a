import { readdirSync, readFileSync } from 'node:fs';
import { running } from '../util/processes.js';

/**
 * Live processes on this host whose argument list holds `dir` as one whole argument: a trial's `--run-dir`.
 * This finds a trial's process after its sweep process was killed, even when that died before recording the
 * pid. Without /proc (not Linux) only `knownPid` can be checked.
 */
export function trialProcesses(dir: string, knownPid?: number): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return knownPid !== undefined && running(knownPid) ? [knownPid] : [];
  }
  const found: number[] = [];
  for (const p of pids) {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (args.includes(dir)) found.push(Number(p));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Sends `signal` to a process group led by `pid` (trials run detached, as group leaders); false when gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
