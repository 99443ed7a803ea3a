import { Type, type Static } from '@sinclair/typebox';
import { error } from '../util/diagnostics.js';
import { ConfigError } from '../util/errors.js';
import { positionAt, toDocument } from '../config/document.js';
import { validateDocument } from '../config/validate.js';
import { loadYamlWithPositions } from '../config/yaml-source.js';

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

const Where = Type.Record(Type.String(), Type.Union([Scalar, Type.Array(Scalar)]), {
  description:
    'Config path -> the value a run must have there, or a list of accepted values (null matches an absent path).',
  default: {},
});

export const RunSelection = Type.Object(
  {
    results: Type.String({
      default: 'results',
      description: 'Folder holding run folders, relative to the working directory.',
    }),
    glob: Type.Array(Type.String(), {
      default: [],
      description: 'Run folders, as globs relative to `results` (`*`, `?`, `**`): e.g. `cifar10-*/*`.',
    }),
    sweeps: Type.Array(Type.String(), {
      default: [],
      description: 'Sweeps whose trials to take: results/<sweep>/ledger.json lists them.',
    }),
    where: Where,
  },
  { additionalProperties: false, description: 'Which run folders to read.' },
);
export type RunSelection = Static<typeof RunSelection>;

export const Axis = Type.Object(
  {
    path: Type.String({ description: 'Config path whose value picks the row (or column), e.g. `model.depth`.' }),
    label: Type.String({ default: '', description: 'Heading; the path when empty.' }),
    values: Type.Optional(
      Type.Array(Scalar, {
        description: 'Values to show, in this order (missing ones show as empty); all found, sorted, when absent.',
      }),
    ),
    names: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'Value -> the text shown for it, e.g. `{cifar10: CIFAR-10}`.',
    }),
  },
  { additionalProperties: false },
);
export type Axis = Static<typeof Axis>;

export const Reference = Type.Object(
  {
    label: Type.String({ default: 'Paper', description: 'Heading of the reference column.' }),
    values: Type.Record(Type.String(), Type.Number(), {
      description:
        "Key -> the published value, in the metric's own units (0.0524 for 5.24% error). The key joins the row values, then the column values, with `/`: `cifar10/110`.",
    }),
    difference: Type.Boolean({ default: true, description: 'Add a column with ours minus the reference.' }),
  },
  { additionalProperties: false },
);

export const Cell = Type.Object(
  {
    label: Type.String({ description: 'Heading of the column this metric fills.' }),
    value: Type.String({
      description:
        'Path in result.json (`metrics.test_error`, `params`), or a metrics.jsonl key when `from` is last-epoch.',
    }),
    from: Type.Union([Type.Literal('result'), Type.Literal('last-epoch')], {
      default: 'result',
      description: 'result.json, or the last metrics.jsonl line that has the key.',
    }),
    where: Where,
    aggregate: Type.Union(
      ['mean', 'median', 'min', 'max'].map((a) => Type.Literal(a)),
      { default: 'mean', description: 'How runs in one cell (seeds) combine.' },
    ),
    format: Type.Union(
      ['percent', 'number', 'integer', 'si', 'ms'].map((f) => Type.Literal(f)),
      {
        default: 'number',
        description:
          'percent: ×100; integer: rounded, grouped digits; si: 1.7M style; ms: seconds shown in milliseconds (×1000).',
      },
    ),
    decimals: Type.Integer({ minimum: 0, maximum: 10, default: 2, description: 'Digits after the point.' }),
    std: Type.Boolean({ default: true, description: 'Show ± the standard deviation over runs (mean only, n > 1).' }),
    n: Type.Boolean({ default: true, description: 'Show the number of runs aggregated.' }),
    reference: Type.Optional(Reference),
  },
  { additionalProperties: false },
);
export type Cell = Static<typeof Cell>;

export const PLOT_KINDS = ['error', 'discarded', 'lr', 'teacher-student'] as const;

export const PlotSpec = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'File name of the figure, without extension.',
    }),
    kind: Type.Union(
      PLOT_KINDS.map((k) => Type.Literal(k)),
      {
        description:
          'error: test (solid) and train (dashed) error; discarded: discarded blocks; lr: learning rate; teacher-student: test error of each distillation stage.',
      },
    ),
    title: Type.String({ default: '', description: 'Title above the plot.' }),
    runs: Type.Optional({ ...RunSelection, description: "Runs for this plot; the table's runs when absent." }),
    where: Where,
    legend: Type.Array(Type.String(), {
      default: [],
      description: 'Config paths that name each run in the legend; the run folder when empty.',
    }),
    formats: Type.Array(Type.Union([Type.Literal('svg'), Type.Literal('png')]), {
      default: ['svg'],
      minItems: 1,
      description: 'Files to write.',
    }),
    width: Type.Integer({ minimum: 100, default: 480, description: 'Plot width in pixels.' }),
    height: Type.Integer({ minimum: 100, default: 300, description: 'Plot height in pixels.' }),
  },
  { additionalProperties: false },
);
export type PlotSpec = Static<typeof PlotSpec>;

export const TableSpec = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path of the JSON Schema, for editor completion.' })),
    title: Type.String({ default: '', description: 'Caption.' }),
    description: Type.Optional(
      Type.String({ description: "Free text: where the paper's numbers come from, what to expect." }),
    ),
    runs: RunSelection,
    rows: Type.Array(Axis, {
      default: [],
      description: 'Config paths whose values make the rows (one row when empty).',
    }),
    columns: Type.Array(Axis, { default: [], description: 'Config paths whose values split each cell into columns.' }),
    cells: Type.Array(Cell, { default: [], description: 'The metrics shown; each is one column per column value.' }),
    plots: Type.Array(PlotSpec, { default: [], description: 'Figures drawn from the same runs.' }),
  },
  { additionalProperties: false },
);
export type TableSpec = Static<typeof TableSpec>;

/** Reads and validates a table spec; every problem is a ConfigError at its file position. */
export async function loadTableSpec(file: string): Promise<TableSpec> {
  const { root } = await loadYamlWithPositions(file);
  const doc = toDocument(file, root);
  const diagnostics = validateDocument(doc, TableSpec);
  const spec = doc.value as TableSpec;
  const at = positionAt(doc);
  if (!diagnostics.length) {
    const selections: [string, RunSelection | undefined][] = [
      ['runs', spec.runs],
      ...spec.plots.map((p, i): [string, RunSelection | undefined] => [`plots.${i}.runs`, p.runs]),
    ];
    for (const [path, s] of selections) {
      if (s && !s.glob.length && !s.sweeps.length)
        diagnostics.push(error(`${path} selects no runs: give runs.glob or runs.sweeps`, at(path)));
    }
  }
  if (diagnostics.length) throw new ConfigError(diagnostics);
  return spec;
}
