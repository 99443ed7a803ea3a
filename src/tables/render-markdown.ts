import type { TableModel } from './build-table.js';
import { footnotes } from './footnotes.js';

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** A GitHub-flavoured Markdown table; an empty cell shows — and a footnote saying why. */
export function renderMarkdown(model: TableModel): string {
  const { marker, notes } = footnotes(model);
  const header = [...model.rowHeaders, ...model.columns];
  const align = [...model.rowHeaders.map(() => '---'), ...model.columns.map(() => '---:')];
  const lines = [`| ${header.map(cell).join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const row of model.rows) {
    const entries = row.entries.map((e) => {
      const m = marker(e);
      return cell(e.text || '—') + (m ? `[^${m}]` : '');
    });
    lines.push(`| ${[...row.labels.map(cell), ...entries].join(' | ')} |`);
  }
  const out = [...(model.title ? [`**${model.title}**`, ''] : []), ...lines];
  if (notes.length) out.push('', ...notes.map((n, i) => `[^${i + 1}]: ${n}`));
  if (model.notes.length) out.push('', ...model.notes.map((n) => `Note: ${n}`));
  return out.join('\n') + '\n';
}
