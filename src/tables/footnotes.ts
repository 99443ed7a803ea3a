import type { Entry, TableModel } from './build-table.js';

/** Numbers each distinct cell note in reading order, so identical reasons share one footnote. */
export function footnotes(model: TableModel): { marker: (e: Entry) => number | undefined; notes: string[] } {
  const numbers = new Map<string, number>();
  for (const row of model.rows)
    for (const e of row.entries) if (e.note && !numbers.has(e.note)) numbers.set(e.note, numbers.size + 1);
  return { marker: (e) => (e.note ? numbers.get(e.note) : undefined), notes: [...numbers.keys()] };
}
