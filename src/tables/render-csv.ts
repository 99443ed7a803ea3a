import type { TableModel } from './build-table.js';

function field(v: string | number | undefined): string {
  const s = v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The table in long form, one line per cell: row values, column heading, the raw number (metric units), its std and
 * n, the text shown, and the note saying why a cell is empty or partial.
 */
export function renderCsv(model: TableModel): string {
  const lines = [[...model.rowHeaders, 'column', 'value', 'std', 'n', 'text', 'note'].map(field).join(',')];
  for (const row of model.rows) {
    row.entries.forEach((e, i) => {
      const values = row.values.map((v) => (v === null ? '' : String(v)));
      lines.push([...values, model.columns[i], e.value, e.std, e.n, e.text, e.note].map(field).join(','));
    });
  }
  return lines.join('\n') + '\n';
}
