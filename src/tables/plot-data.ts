import { readMetrics, valueAt, type RunRecord } from './runs.js';
import type { PlotSpec } from './spec.js';

/** One point of one curve: `series` picks the colour (run, and stage when there are stages), `line` the dash. */
export interface PlotPoint {
  epoch: number;
  value: number;
  series: string;
  line: string;
}

interface Preset {
  /** metrics.jsonl key -> name of its curve. */
  keys: Record<string, string>;
  axis: string;
  percent?: boolean;
  log?: boolean;
  /** Constant over each epoch, so drawn as steps. */
  step?: boolean;
  /** d3 tick format of the value axis, where Vega's default misreads a flat curve (0.000000). */
  format?: string;
}

export const PRESETS: Record<PlotSpec['kind'], Preset> = {
  error: { keys: { test_error: 'test', train_error: 'train' }, axis: 'Error', percent: true },
  discarded: { keys: { discarded_cnt: 'discarded blocks' }, axis: 'Discarded blocks', format: '~g' },
  lr: { keys: { lr: 'learning rate' }, axis: 'Learning rate', log: true, step: true },
  'teacher-student': { keys: { test_error: 'test' }, axis: 'Test error', percent: true },
};

/** How a run is named in the legend: the last segment and value of each legend path (strings bare), else its folder. */
export function runLabel(run: RunRecord, legend: string[]): string {
  if (!legend.length) return run.id;
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v ?? null));
  return legend.map((p) => `${p.split('.').pop()}=${show(valueAt(run.config, p))}`).join(', ');
}

/**
 * The curves of a plot kind from each run's metrics.jsonl. Epochs of successive distillation stages are laid end to
 * end, so the teacher's curve is followed by each student stage's.
 */
export function plotPoints(kind: PlotSpec['kind'], runs: RunRecord[], legend: string[]): PlotPoint[] {
  const { keys } = PRESETS[kind];
  const points: PlotPoint[] = [];
  for (const run of runs) {
    const label = runLabel(run, legend);
    const offsets = new Map<string, number>();
    let end = 0;
    for (const line of readMetrics(run)) {
      const stage = typeof line.stage === 'string' ? line.stage : '';
      if (!offsets.has(stage)) offsets.set(stage, end);
      const epoch = offsets.get(stage)! + Number(line.epoch);
      end = Math.max(end, epoch);
      for (const [key, name] of Object.entries(keys)) {
        const value = line[key];
        if (typeof value === 'number' && Number.isFinite(value))
          points.push({ epoch, value, series: stage ? `${label} · ${stage}` : label, line: name });
      }
    }
  }
  return points;
}
