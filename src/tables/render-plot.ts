import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { PRESETS, type PlotPoint } from './plot-data.js';
import type { PlotSpec } from './spec.js';

/** The Vega-Lite description of a learning-curve plot. */
export function vegaLiteSpec(plot: PlotSpec, points: PlotPoint[]): TopLevelSpec {
  const preset = PRESETS[plot.kind];
  const dashed = Object.keys(preset.keys).length > 1;
  return {
    ...(plot.title ? { title: plot.title } : {}),
    width: plot.width,
    height: plot.height,
    data: { values: points },
    mark: { type: 'line', point: points.length <= 60, ...(preset.step ? { interpolate: 'step-after' } : {}) },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: preset.axis,
        scale: preset.log ? { type: 'log' } : { zero: false },
        ...(preset.percent ? { axis: { format: '.1%' } } : preset.format ? { axis: { format: preset.format } } : {}),
      },
      // Legend labels name runs by several config values: show them whole, not cut at Vega's 160 px.
      color: { field: 'series', type: 'nominal', title: 'Run', sort: null, legend: { labelLimit: 600 } },
      ...(dashed ? { strokeDash: { field: 'line', type: 'nominal', title: 'Curve' } } : {}),
    },
  } as TopLevelSpec;
}

/** Vega renders to SVG in Node without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG at `scale`× on white, with the system's fonts. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
