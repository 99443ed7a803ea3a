import { basename, dirname, extname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { readRun, type RunRecord } from '../../tables/runs.js';
import { PLOT_KINDS, PlotSpec } from '../../tables/spec.js';
import { EXIT, type Command } from '../command.js';
import { InputError, UsageError } from '../../util/errors.js';

export const plotCommand: Command = {
  name: 'plot',
  summary: 'Plot learning curves of run folders: error, discarded blocks, learning rate, teacher vs student',
  usage: `epsilab plot <run-dir>... --kind KIND [--legend PATH ...] [--title T] [-o FILE.svg|FILE.png]

Draws one figure from the runs' metrics.jsonl (a table spec's plots are drawn by \`epsilab table\`).
Kinds: error (test solid, train dashed), discarded (discarded blocks), lr (learning rate, log scale),
teacher-student (test error of the teacher and each distillation stage, laid end to end).

Options:
  --kind KIND     ${PLOT_KINDS.join(', ')} (default error)
  --legend PATH   config path naming each run in the legend, e.g. model.epsilon; repeatable (default: the folder)
  --title T       title above the plot
  -o, --out FILE  output file; .svg or .png (default <kind>.svg)
Exit codes: 0 written, 1 no run has the curve, 2 bad usage or not a run folder.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kind: { type: 'string', default: 'error' },
        legend: { type: 'string', multiple: true, default: [] },
        title: { type: 'string', default: '' },
        out: { type: 'string', short: 'o' },
      },
    });
    const kind = values.kind as PlotSpec['kind'];
    if (!PLOT_KINDS.includes(kind))
      throw new UsageError(`--kind must be one of ${PLOT_KINDS.join(', ')} (got ${values.kind})`);
    if (!positionals.length) throw new UsageError('give at least one run folder');
    const runs: RunRecord[] = positionals.map((dir) => {
      const run = readRun(process.cwd(), relative(process.cwd(), resolve(dir)));
      if (!run) throw new UsageError(`${dir} is not a run folder (no config.json)`);
      return run;
    });
    const out = resolve(values.out ?? `${kind}.svg`);
    const format = extname(out).slice(1);
    if (format !== 'svg' && format !== 'png')
      throw new UsageError(`--out must end in .svg or .png (got ${values.out})`);
    const plot = Value.Default(PlotSpec, {
      name: basename(out, extname(out)),
      kind,
      title: values.title,
      legend: values.legend,
      formats: [format],
    }) as PlotSpec;
    // Loaded here, not at the top: the plotting stack (vega, resvg) takes time that `epsilab --help` need not pay.
    const { drawPlot } = await import('../../tables/draw-plot.js');
    try {
      for (const f of await drawPlot(plot, runs, dirname(out)))
        console.error(`wrote ${relative(process.cwd(), f) || f}`);
    } catch (e) {
      if (e instanceof InputError) throw e;
      console.error(`epsilab plot: ${(e as Error).message}`);
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};
