import cliProgress from 'cli-progress';
import type { LedgerEntry, TrialState } from './ledger.js';
import type { SweepObserver, Trial } from './trial.js';

export interface ProgressDisplay extends SweepObserver {
  stop(): void;
}

function seconds(e: LedgerEntry): string {
  if (!e.started_at || !e.ended_at) return '';
  return ` in ${((Date.parse(e.ended_at) - Date.parse(e.started_at)) / 1000).toFixed(1)} s`;
}

function endLine(e: LedgerEntry): string {
  const why = e.state === 'done' ? '' : ` (${e.reason ?? e.state}); log: ${e.dir}/trial.log`;
  return `${e.state} ${e.slug}${seconds(e)}${why}`;
}

/**
 * One display for the whole sweep: a bar on a terminal (with a line per failure above it), plain lines otherwise
 * (logs, CI, Slurm output files).
 */
export function progressDisplay(
  total: number,
  alreadyDone: number,
  out: NodeJS.WriteStream = process.stderr,
): ProgressDisplay {
  const counts: Record<TrialState, number> = { pending: 0, running: 0, done: alreadyDone, failed: 0, cancelled: 0 };
  const finished = () => counts.done + counts.failed + counts.cancelled;
  if (!out.isTTY) {
    const say = (line: string) => out.write(`[${finished()}/${total}] ${line}\n`);
    return {
      started: (t: Trial, e: LedgerEntry) =>
        say(`${e.job?.type === 'slurm' ? 'submitted' : 'start'} ${t.slug} (${t.id}, attempt ${e.attempts})`),
      finished: (_t: Trial, e: LedgerEntry) => {
        counts[e.state] += 1;
        say(endLine(e));
      },
      note: (line: string) => say(line),
      stop: () => undefined,
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      stream: out,
      format: 'sweep [{bar}] {value}/{total} finished | {running} running | {failed} failed | {cancelled} cancelled',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, alreadyDone, { running: 0, failed: 0, cancelled: 0 });
  const redraw = () =>
    bar.update(finished(), { running: counts.running, failed: counts.failed, cancelled: counts.cancelled });
  return {
    started: () => {
      counts.running += 1;
      redraw();
    },
    finished: (_t: Trial, e: LedgerEntry) => {
      counts.running = Math.max(0, counts.running - 1);
      counts[e.state] += 1;
      if (e.state !== 'done') bars.log(endLine(e) + '\n');
      redraw();
    },
    note: (line: string) => bars.log(line + '\n'),
    stop: () => bars.stop(),
  };
}
