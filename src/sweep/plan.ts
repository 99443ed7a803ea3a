import { join, relative } from 'node:path';
import { Ledger, type LedgerEntry } from './ledger.js';
import { resolveSweep } from './resolve.js';
import type { SweepExecutor } from './sweep-file.js';

function executorLine(x: SweepExecutor): string {
  if (x.type === 'local') return `local, ${x.max_parallel} at a time`;
  const opts = [
    x.partition && `partition ${x.partition}`,
    x.time && `time ${x.time}`,
    `${x.cpus_per_task} cpu`,
    x.gpus && `${x.gpus} gpu`,
    x.array_limit && `${x.array_limit} at a time`,
  ];
  return `slurm (${opts.filter(Boolean).join(', ')})`;
}

function stateCell(e: LedgerEntry | undefined): string {
  if (!e) return 'new';
  return e.state === 'failed' || e.state === 'cancelled' ? `${e.state} (${e.reason ?? ''})` : e.state;
}

/** Lines `plan <sweep.yaml>` prints: every trial, validated, with its id and its state in the ledger. */
export async function planSweepLines(file: string, cwd = process.cwd()): Promise<string[]> {
  const { source, dir, trials } = await resolveSweep(file, cwd);
  const ledger = new Ledger(join(dir, 'ledger.json'), source.spec.sweep).read();
  const toRun = trials.filter((t) => ledger.trials[t.id]?.state !== 'done').length;
  const head: [string, string][] = [
    ['sweep', source.spec.sweep + (source.spec.description ? ` (${source.spec.description})` : '')],
    ['base', relative(cwd, source.baseFile) || source.baseFile],
    ['folder', `${relative(cwd, dir) || '.'}/`],
    ['executor', executorLine(source.spec.executor)],
    ['trials', `${trials.length} (${toRun} to run)`],
  ];
  const width = Math.max(...head.map(([k]) => k.length));
  const rows = trials.map((t) => [t.id, stateCell(ledger.trials[t.id]), t.slug]);
  const w0 = Math.max(2, ...rows.map((r) => r[0].length));
  const w1 = Math.max(5, ...rows.map((r) => r[1].length));
  return [
    ...head.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    `${'id'.padEnd(w0)}  ${'state'.padEnd(w1)}  trial`,
    ...rows.map(([id, state, slug]) => `${id.padEnd(w0)}  ${state.padEnd(w1)}  ${slug}`),
  ];
}

/** What the plan command runs for a sweep file; prints the table and returns the exit code. */
export async function planSweep(file: string): Promise<number> {
  for (const line of await planSweepLines(file)) console.log(line);
  return 0;
}
