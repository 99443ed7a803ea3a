import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { PRESETS, plotPoints } from './plot-data.js';
import { renderSvg, svgToPng, vegaLiteSpec } from './render-plot.js';
import { matches, type RunRecord } from './runs.js';
import type { PlotSpec } from './spec.js';

/** Draws one plot from the runs' metrics.jsonl and writes it in each format asked; returns the files written. */
export async function drawPlot(plot: PlotSpec, runs: RunRecord[], outDir: string): Promise<string[]> {
  const chosen = runs.filter((r) => matches(r.config, plot.where));
  const points = plotPoints(plot.kind, chosen, plot.legend);
  if (!points.length) {
    const keys = Object.keys(PRESETS[plot.kind].keys).join(' or ');
    throw new Error(`plot ${plot.name}: none of the ${chosen.length} selected runs has ${keys} in its metrics.jsonl`);
  }
  const svg = await renderSvg(vegaLiteSpec(plot, points));
  const files: string[] = [];
  for (const format of plot.formats) {
    const file = join(outDir, `${plot.name}.${format}`);
    writeFileAtomic(file, format === 'svg' ? svg : svgToPng(svg));
    files.push(file);
  }
  return files;
}
