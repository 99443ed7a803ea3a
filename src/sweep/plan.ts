import { join, relative } from 'node:path';
import { rungEpochs } from './asha.js';
import { Ledger, type AshaState, type LedgerEntry } from './ledger.js';
import { resolveSweep } from './resolve.js';
import type { SweepExecutor } from './sweep-file.js';

function executorLine(x: SweepExecutor): string {
  if (x.type === 'local') return `local, ${x.max_parallel} at a time`;
  const opts = [
    x.partition && `partition ${x.partition}`,
    x.time && `time ${x.time}`,
    `${x.cpus_per_task} cpu`,
    x.gpus && `${x.gpus} gpu`,
    x.tasks_per_trial > 1 &&
      `${x.tasks_per_trial} ranks of ${x.cpus_per_task} cpu${x.gpus_per_task ? ` and ${x.gpus_per_task} gpu` : ''} each`,
    x.array_limit && `${x.array_limit} at a time`,
    `requeue on SIG${x.requeue_signal} ${x.signal_grace_s} s before the limit, at most ${x.max_requeues} times`,
  ];
  return `slurm (${opts.filter(Boolean).join(', ')})`;
}

/** Where successive halving has the trial: its rung (1-based) of how many, or where it stopped and its rank. */
function ashaCell(asha: AshaState, rungs: number): string {
  const stop = asha.decisions.find((d) => d.decision === 'stopped');
  if (stop) return `asha: stopped at rung ${stop.rung + 1} of ${rungs}, rank ${stop.rank} of ${stop.of}`;
  return `asha: rung ${asha.rung + 1} of ${rungs}`;
}

/** The trial's state, with the last reason the ledger gives: its outcome's, its latest requeue's, or ASHA's. */
function stateCell(e: LedgerEntry | undefined, rungs: number): string {
  if (!e) return 'new';
  const why =
    e.state === 'failed' || e.state === 'cancelled'
      ? e.reason
      : (e.requeues?.at(-1)?.reason ?? (e.asha ? ashaCell(e.asha, rungs) : undefined));
  return why ? `${e.state} (${why})` : e.state;
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
    [
      'failures',
      `${source.spec.retries} retries for infrastructure failures${source.spec.fail_fast ? ', fail_fast' : ''}`,
    ],
    ['trials', `${trials.length} (${toRun} to run)`],
    ...(source.spec.asha
      ? [
          [
            'asha',
            `rungs of ${rungEpochs(source.spec.asha).join(', ')} epochs, the best 1/${source.spec.asha.reduction_factor} by ${source.spec.asha.metric} (${source.spec.asha.mode}) go on`,
          ] as [string, string],
        ]
      : []),
  ];
  const width = Math.max(...head.map(([k]) => k.length));
  const rungs = source.spec.asha ? rungEpochs(source.spec.asha).length : 0;
  const rows = [
    ['id', 'state', 'attempts', 'requeues', 'trial'],
    ...trials.map((t) => {
      const e = ledger.trials[t.id];
      return [t.id, stateCell(e, rungs), String(e?.attempts ?? 0), String(e?.requeues?.length ?? 0), t.slug];
    }),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return [
    ...head.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    ...rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]) : cell)).join('  ')),
  ];
}

/** What the plan command runs for a sweep file; prints the table and returns the exit code. */
export async function planSweep(file: string): Promise<number> {
  for (const line of await planSweepLines(file)) console.log(line);
  return 0;
}
