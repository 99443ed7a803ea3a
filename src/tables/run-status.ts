import { valueAt, type RunRecord } from './runs.js';

/** Whether a run finished, and if not, why, in words a table footnote can show. */
export function runStatus(run: RunRecord): { done: true } | { done: false; why: string } {
  const r = run.result;
  const ledger = run.ledger;
  // Successive halving stopped it short of the full run: its numbers are of fewer epochs than its peers'
  const stopped = ledger?.asha?.decisions.find((d) => d.decision === 'stopped');
  if (stopped)
    return {
      done: false,
      why: `stopped by ASHA after ${r?.epochs_done ?? '?'} epochs (rung ${stopped.rung + 1}, rank ${stopped.rank} of ${stopped.of})`,
    };
  if (r?.status === 'done') return { done: true };
  if (run.damage) return { done: false, why: run.damage };
  if (ledger && (ledger.state === 'failed' || ledger.state === 'cancelled')) {
    const detail = [ledger.exit_code !== undefined ? `exit code ${ledger.exit_code}` : '', ledger.reason ?? '']
      .filter(Boolean)
      .join(', ');
    return { done: false, why: `${ledger.state === 'failed' ? 'failed' : 'cancelled'}${detail ? ` (${detail})` : ''}` };
  }
  const epochs = valueAt(run.config, 'train.epochs');
  const progress = `epoch ${r?.epochs_done ?? 0} of ${typeof epochs === 'number' ? epochs : '?'}`;
  if (!r)
    return {
      done: false,
      why:
        ledger?.state === 'pending' || ledger?.state === 'running'
          ? `${ledger.state} in its sweep, no result yet`
          : 'not started (no result.json)',
    };
  switch (r.status) {
    case 'running':
      return { done: false, why: `not finished (${progress})` };
    case 'interrupted':
      return { done: false, why: `interrupted (${progress})` };
    case 'diverged':
      return { done: false, why: `diverged: loss not finite (${progress})` };
    default:
      return { done: false, why: `failed${typeof r.error === 'string' ? `: ${r.error}` : ''}` };
  }
}
