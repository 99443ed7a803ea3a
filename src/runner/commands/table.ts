import { basename, extname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTable } from '../../tables/build-table.js';
import { renderCsv } from '../../tables/render-csv.js';
import { renderLatex } from '../../tables/render-latex.js';
import { renderMarkdown } from '../../tables/render-markdown.js';
import { selectRuns } from '../../tables/runs.js';
import { loadTableSpec } from '../../tables/spec.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { EXIT, type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';

const RENDERERS = { markdown: ['md', renderMarkdown], csv: ['csv', renderCsv], latex: ['tex', renderLatex] } as const;

export const tableCommand: Command = {
  name: 'table',
  summary: 'Make a table (Markdown, CSV, LaTeX) and its plots from finished run folders, as a table spec says',
  usage: `epsilab table <spec.yaml> [--format markdown|csv|latex] [--out DIR] [--no-plots]

Reads run folders only; it never runs anything. Cells aggregate the runs that share their row and column values
(mean ± std and n over seeds, or as the spec says); every empty cell gets a footnote saying why (no run, not
finished, failed, metric missing). Prints the table and writes DIR/<spec>.md, .csv (one line per cell) and .tex
(booktabs), and the spec's plots.

Options:
  --format F   what to print: markdown (default), csv or latex
  --out DIR    where files go (default: <results>/tables/<spec name>)
  --no-plots   skip the spec's plots
Exit codes: 0 written, 1 a plot could not be drawn, 2 bad spec or usage.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'markdown' },
        out: { type: 'string' },
        'no-plots': { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('table takes exactly one table spec');
    const format = values.format as keyof typeof RENDERERS;
    if (!(format in RENDERERS)) throw new UsageError(`--format must be markdown, csv or latex (got ${values.format})`);
    const file = positionals[0];
    await expectFileKind(file, ['table spec']);
    const spec = await loadTableSpec(file);
    const name = basename(file, extname(file));
    const outDir = resolve(values.out ?? join(spec.runs.results, 'tables', name));
    const selection = selectRuns(spec.runs);
    const shown = (f: string) => relative(process.cwd(), f) || f;
    if (spec.cells.length) {
      const model = buildTable(spec, selection);
      for (const [ext, render] of Object.values(RENDERERS))
        writeFileAtomic(join(outDir, `${name}.${ext}`), render(model));
      process.stdout.write(RENDERERS[format][1](model));
      console.error(`wrote ${shown(join(outDir, name))}.{md,csv,tex} from ${selection.runs.length} runs`);
    }
    if (values['no-plots']) return EXIT.ok;
    let failed = 0;
    // Loaded here, not at the top: the plotting stack (vega, resvg) takes time that `epsilab --help` need not pay.
    const { drawPlot } = await import('../../tables/draw-plot.js');
    for (const plot of spec.plots) {
      try {
        const runs = plot.runs ? selectRuns(plot.runs).runs : selection.runs;
        for (const f of await drawPlot(plot, runs, outDir)) console.error(`wrote ${shown(f)}`);
      } catch (e) {
        failed++;
        console.error(`epsilab table: ${(e as Error).message}`);
      }
    }
    return failed ? EXIT.failed : EXIT.ok;
  },
};
