import type { TableModel } from './build-table.js';
import { footnotes } from './footnotes.js';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};
const SYMBOLS: [string, string][] = [
  ['±', '$\\pm$'],
  ['ε', '$\\varepsilon$'],
  ['Δ', '$\\Delta$'],
  ['×', '$\\times$'],
  ['—', '---'],
];

/** LaTeX-safe text: specials escaped, then the few symbols our tables use turned into math. */
export function latexText(text: string): string {
  let out = text.replace(/[\\~^]/g, (c) => SPECIAL[c]).replace(/[&%$#_{}]/g, (c) => `\\${c}`);
  for (const [from, to] of SYMBOLS) out = out.split(from).join(to);
  return out;
}

/** A booktabs tabular (needs \usepackage{booktabs}), then the footnotes saying why cells are empty. */
export function renderLatex(model: TableModel): string {
  const { marker, notes } = footnotes(model);
  const row = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  const spec = 'l'.repeat(model.rowHeaders.length) + 'r'.repeat(model.columns.length);
  const lines = [
    ...(model.title ? [`% ${model.title.replace(/\n/g, ' ')}`] : []),
    `\\begin{tabular}{${spec}}`,
    '\\toprule',
    row([...model.rowHeaders, ...model.columns].map(latexText)),
    '\\midrule',
    ...model.rows.map((r) =>
      row([
        ...r.labels.map(latexText),
        ...r.entries.map((e) => {
          const m = marker(e);
          return latexText(e.text || '—') + (m ? `\\textsuperscript{${m}}` : '');
        }),
      ]),
    ),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  const remarks = [
    ...notes.map((n, i) => `\\textsuperscript{${i + 1}}~${latexText(n)}`),
    ...model.notes.map(latexText),
  ];
  if (remarks.length) lines.push('', '\\par\\smallskip{\\footnotesize', ...remarks.map((r) => `${r}\\par`), '}');
  return lines.join('\n') + '\n';
}
