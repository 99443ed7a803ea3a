import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerData, LedgerEntry } from '../../src/sweep/ledger.js';
import type { SweepObserver, Trial } from '../../src/sweep/trial.js';
import { TINY_CONFIG } from './tiny-run.js';
import { tempDir } from './tmp.js';

/**
 * A stand-in trial that honours `epsilab run`'s contract on its run folder: it records each real run in runs.txt,
 * finds a finished folder done at once, checkpoints and exits 130 on SIGTERM, and exits with the given code. Its SIGTERM
 * handler is in place before it records the run, so a test that cancels once it sees the run cannot kill it unhandled.
 */
const TRIAL_SCRIPT = `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
const [dir, ms, code] = process.argv.slice(2);
if (existsSync(dir + '/done')) { console.log('already done'); process.exit(0); }
process.on('SIGTERM', () => { console.log('SIGTERM: checkpoint written'); process.exit(130); });
appendFileSync(dir + '/runs.txt', process.pid + '\\n');
console.log('training in ' + dir + ', cores shared by ' + (process.env.EPSILAB_CORES_SHARED_BY ?? 'none'));
setTimeout(() => {
  if (code === '0') writeFileSync(dir + '/done', '');
  else console.error('boom: loss is nan at step 7');
  process.exit(Number(code));
}, Number(ms));
`;

/** A temp folder with the tiny config as tiny.yaml and the stand-in trial script. */
export function workspace(): { dir: string; base: string; script: string } {
  const dir = tempDir('sweep');
  writeFileSync(join(dir, 'tiny.yaml'), TINY_CONFIG);
  writeFileSync(join(dir, 'trial.mjs'), TRIAL_SCRIPT);
  return { dir, base: join(dir, 'tiny.yaml'), script: join(dir, 'trial.mjs') };
}

export function writeSweepFile(dir: string, body: string, name = 'sweep.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

/** The stand-in's command line: how long each trial takes and how it exits, picked by its ε. */
export function scriptCommand(script: string, plan: (epsilon: number) => { ms: number; code?: number }) {
  return (t: Trial): string[] => {
    const { ms, code = 0 } = plan(Number(t.hparams['model.epsilon']));
    return [process.execPath, script, t.dir, String(ms), String(code)];
  };
}

export function runsOf(trialDir: string): number {
  const file = join(trialDir, 'runs.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

export interface Recorded extends SweepObserver {
  events: { kind: 'started' | 'finished'; slug: string; state: string; at: number }[];
  notes: string[];
}

export function recorder(): Recorded {
  const events: Recorded['events'] = [];
  const notes: string[] = [];
  return {
    events,
    notes,
    started: (t: Trial, e: LedgerEntry) =>
      void events.push({ kind: 'started', slug: t.slug, state: e.state, at: Date.now() }),
    finished: (t: Trial, e: LedgerEntry) =>
      void events.push({ kind: 'finished', slug: t.slug, state: e.state, at: Date.now() }),
    note: (line: string) => void notes.push(line),
  };
}

export function readLedger(file: string): LedgerData {
  return JSON.parse(readFileSync(file, 'utf8')) as LedgerData;
}

/** Polls `probe` until it returns something truthy. */
export async function until<T>(probe: () => T, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
