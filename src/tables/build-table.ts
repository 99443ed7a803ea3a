import { aggregate } from './aggregate.js';
import { formatNumber } from './number-format.js';
import { runStatus } from './run-status.js';
import { matches, readMetrics, valueAt, type MetricsLine, type RunRecord, type Selection } from './runs.js';
import type { Axis, Cell, TableSpec } from './spec.js';

/** One table cell: its text, the numbers behind it, and why it is empty or partial. */
export interface Entry {
  text: string;
  value?: number;
  std?: number;
  n?: number;
  note?: string;
}

export interface TableRow {
  /** The row's config values, one per row axis. */
  values: unknown[];
  labels: string[];
  entries: Entry[];
}

export interface TableModel {
  title: string;
  rowHeaders: string[];
  /** Headings of the value columns: each cell's metric, then its reference and difference when asked. */
  columns: string[];
  rows: TableRow[];
  /** Notes on the whole table: runs left out, sweep trials without a run folder. */
  notes: string[];
}

/** Config paths that differ between runs without being asked for; a seed is expected to. */
const EXPECTED_TO_DIFFER = new Set(['seed', 'output', 'description', '$schema']);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const configValue = (run: RunRecord, path: string) => valueAt(run.config, path) ?? null;

function sortValues(values: unknown[]): unknown[] {
  return values.sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
}

function axisValues(axis: Axis, runs: RunRecord[]): unknown[] {
  if (axis.values) return axis.values;
  const found = new Map(runs.map((r) => [JSON.stringify(configValue(r, axis.path)), configValue(r, axis.path)]));
  return sortValues([...found.values()]);
}

function product(lists: unknown[][]): unknown[][] {
  return lists.reduce<unknown[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

function valueLabel(axis: Axis, value: unknown): string {
  return axis.names[String(value)] ?? (value === null ? '—' : String(value));
}

function withCounts(reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${r} (${n} runs)` : r)).join('; ');
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value))
      if (prefix || !EXPECTED_TO_DIFFER.has(k)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(value));
}

function differingPaths(runs: RunRecord[]): string[] {
  const flat = runs.map((r) => {
    const m = new Map<string, string>();
    flatten(r.config, '', m);
    return m;
  });
  const paths = new Set(flat.flatMap((m) => [...m.keys()]));
  return [...paths].filter((p) => flat.some((m) => m.get(p) !== flat[0].get(p))).sort();
}

function metricEntry(cell: Cell, group: RunRecord[], metricsOf: (run: RunRecord) => MetricsLine[]): Entry {
  if (!group.length) return { text: '', note: 'no run matches' };
  const left: string[] = [];
  const used: RunRecord[] = [];
  const values: number[] = [];
  for (const run of group) {
    const status = runStatus(run);
    if (!status.done) {
      left.push(status.why);
      continue;
    }
    const v =
      cell.from === 'result'
        ? valueAt(run.result, cell.value)
        : [...metricsOf(run)].reverse().find((l) => l[cell.value] !== undefined)?.[cell.value];
    if (typeof v === 'number' && Number.isFinite(v)) {
      values.push(v);
      used.push(run);
    } else
      left.push(
        cell.from === 'result'
          ? `metric ${cell.value} missing from result.json`
          : `no metrics.jsonl line has ${cell.value}`,
      );
  }
  if (!values.length) return { text: '', note: withCounts(left) };
  const a = aggregate(values, cell.aggregate);
  let text = formatNumber(a.value, cell.format, cell.decimals);
  if (cell.std && a.std !== undefined) text += ` ± ${formatNumber(a.std, cell.format, cell.decimals)}`;
  if (cell.n) text += ` (n=${a.n})`;
  const notes = left.length ? [`from ${values.length} of ${group.length} runs; left out: ${withCounts(left)}`] : [];
  const differ = differingPaths(used);
  if (differ.length) notes.push(`combines runs whose configs also differ in ${differ.join(', ')}`);
  return { text, ...a, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

const inKey = (run: RunRecord, axes: Axis[], key: unknown[]) =>
  axes.every((a, i) => same(configValue(run, a.path), key[i]));

/** Whether any cell's reference has a value for this row. */
function hasReference(spec: TableSpec, rowKey: unknown[]): boolean {
  const prefix = rowKey.map(String).join('/');
  return spec.cells.some((c) =>
    Object.keys(c.reference?.values ?? {}).some((k) => k === prefix || k.startsWith(`${prefix}/`)),
  );
}

/**
 * Lays the selected runs out as the spec asks: rows × (cells × column values), each cell aggregated over its runs.
 * Rows are every combination of listed values; a combination that takes a value found in the runs is shown only where
 * a run or a reference has it (no SVHN-752 row because CIFAR has depth 752).
 */
export function buildTable(spec: TableSpec, selection: Selection): TableModel {
  const runs = selection.runs;
  const rowKeys = product(spec.rows.map((a) => axisValues(a, runs))).filter(
    (key) => spec.rows.every((a) => a.values) || runs.some((r) => inKey(r, spec.rows, key)) || hasReference(spec, key),
  );
  const colKeys = product(spec.columns.map((a) => axisValues(a, runs)));
  const metricsCache = new Map<string, MetricsLine[]>();
  const metricsOf = (run: RunRecord) =>
    metricsCache.get(run.id) ?? metricsCache.set(run.id, readMetrics(run)).get(run.id)!;

  const columns: string[] = [];
  for (const cell of spec.cells) {
    for (const colKey of colKeys) {
      const suffix = spec.columns.length
        ? ` (${spec.columns.map((a, i) => a.names[String(colKey[i])] ?? `${a.label || a.path}=${String(colKey[i])}`).join(', ')})`
        : '';
      columns.push(cell.label + suffix);
      if (cell.reference) columns.push(cell.reference.label + suffix);
      if (cell.reference?.difference) columns.push(`Δ vs ${cell.reference.label}${suffix}`);
    }
  }

  const rows = rowKeys.map((rowKey): TableRow => {
    const entries: Entry[] = [];
    for (const cell of spec.cells) {
      for (const colKey of colKeys) {
        const group = runs.filter(
          (r) => inKey(r, spec.rows, rowKey) && inKey(r, spec.columns, colKey) && matches(r.config, cell.where),
        );
        const ours = metricEntry(cell, group, metricsOf);
        entries.push(ours);
        if (!cell.reference) continue;
        const key = [...rowKey, ...colKey].map(String).join('/');
        const ref = cell.reference.values[key];
        entries.push(
          ref === undefined
            ? { text: '', note: 'the spec gives no reference value here' }
            : { text: formatNumber(ref, cell.format, cell.decimals), value: ref },
        );
        if (!cell.reference.difference) continue;
        if (ref === undefined || ours.value === undefined)
          entries.push({ text: '', note: 'needs both our value and the reference' });
        else
          entries.push({
            text: formatNumber(ours.value - ref, cell.format, cell.decimals, true),
            value: ours.value - ref,
          });
      }
    }
    return { values: rowKey, labels: spec.rows.map((a, i) => valueLabel(a, rowKey[i])), entries };
  });

  const notes: string[] = [];
  const placed = runs.filter(
    (r) => rowKeys.some((k) => inKey(r, spec.rows, k)) && colKeys.some((k) => inKey(r, spec.columns, k)),
  );
  if (!runs.length) notes.push('no run folder matches the selection');
  if (placed.length < runs.length)
    notes.push(
      `${runs.length - placed.length} selected runs have row or column values not listed: ${runs
        .filter((r) => !placed.includes(r))
        .map((r) => r.id)
        .join(', ')}`,
    );
  for (const { sweep, entry } of selection.trialsWithoutFolder)
    notes.push(`sweep ${sweep}: trial ${entry.slug} has no run folder yet (${entry.state})`);
  return { title: spec.title, rowHeaders: spec.rows.map((a) => a.label || a.path), columns, rows, notes };
}
