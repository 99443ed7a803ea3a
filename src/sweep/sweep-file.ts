import { Type, type Static, type TInteger, type TNumber } from '@sinclair/typebox';

/** A path into an experiment config: `model.epsilon`, `transforms.train[0].pad` or `schedule.initial.0.1`. */
const ConfigPath = Type.String({ pattern: '^[^\\s]+$' });

const Values = Type.Array(Type.Unknown(), { minItems: 1, description: 'The values this config path takes.' });

const Bounds = (item: TNumber | TInteger) => Type.Array(item, { minItems: 2, maxItems: 2, description: '[low, high]' });

/** How random search draws one config path's value. */
const Distribution = Type.Union(
  [
    Type.Object(
      { uniform: Bounds(Type.Number()) },
      { additionalProperties: false, description: 'A float uniform in [low, high).' },
    ),
    Type.Object(
      { log_uniform: Bounds(Type.Number({ exclusiveMinimum: 0 })) },
      {
        additionalProperties: false,
        description: 'A float whose logarithm is uniform: as likely in [0.001, 0.01) as in [0.01, 0.1).',
      },
    ),
    Type.Object(
      { int: Bounds(Type.Integer()) },
      { additionalProperties: false, description: 'An integer uniform in [low, high], both included.' },
    ),
    Type.Object(
      { choice: Type.Array(Type.Unknown(), { minItems: 1 }) },
      { additionalProperties: false, description: 'One of these values, each as likely.' },
    ),
  ],
  { description: 'uniform, log_uniform, int or choice.' },
);
export type Distribution = Static<typeof Distribution>;

export const RandomSearch = Type.Object(
  {
    type: Type.Literal('random', { description: 'Draw trials at random from distributions per config path.' }),
    n: Type.Integer({ minimum: 1, description: 'How many combinations to draw (each repeated per seed).' }),
    seed: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Seeds the draws: the same file draws the same trials (so the sweep resumes), and raising n keeps the first draws.',
    }),
    params: Type.Record(ConfigPath, Distribution, {
      additionalProperties: false,
      description: 'Config path -> the distribution its value is drawn from.',
    }),
  },
  { additionalProperties: false, description: 'Random search, multiplied with grid, zip, trials and seeds.' },
);
export type RandomSearch = Static<typeof RandomSearch>;

export const Asha = Type.Object(
  {
    metric: Type.String({
      default: 'test_error',
      description:
        "The result.json metric trials are ranked by at each rung (a metrics.jsonl key such as 'test_error').",
    }),
    mode: Type.Union([Type.Literal('min'), Type.Literal('max')], {
      default: 'min',
      description: 'min: a lower metric is better (errors, losses); max: a higher one is.',
    }),
    min_epochs: Type.Integer({ minimum: 1, description: 'Epochs of the first rung: every trial trains this long.' }),
    max_epochs: Type.Integer({
      minimum: 1,
      description: "Epochs of the last rung: the trials' train.epochs (a trial promoted this far is a full run).",
    }),
    reduction_factor: Type.Integer({
      minimum: 2,
      default: 3,
      description:
        'η: rung k trains min_epochs·η^k epochs, and the best 1/η of a rung (as far as it has results) go on to the next.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Asynchronous successive halving (Li et al., 2020): every trial first trains min_epochs; a free slot promotes the best 1/η of a rung to the next, continuing the same run folder (--extend, no epoch trained twice), else starts the next trial. Decisions are kept in the ledger.',
  },
);
export type Asha = Static<typeof Asha>;

export const LocalExecutor = Type.Object(
  {
    type: Type.Literal('local', { description: 'Run trials as child processes on this machine.' }),
    max_parallel: Type.Integer({
      minimum: 1,
      default: 1,
      description: 'Trials running at once; a free slot takes the next trial at once.',
    }),
    kill_grace_s: Type.Number({
      minimum: 0,
      default: 60,
      description: 'On cancel, seconds a trial gets to checkpoint after SIGTERM before SIGKILL.',
    }),
  },
  { additionalProperties: false, description: 'Child processes on this machine.' },
);
export type LocalExecutor = Static<typeof LocalExecutor>;

export const SlurmExecutor = Type.Object(
  {
    type: Type.Literal('slurm', {
      description: 'Submit trials to Slurm with sbatch (a job array when several are pending).',
    }),
    partition: Type.Optional(Type.String({ description: 'sbatch --partition; the cluster default when left out.' })),
    time: Type.Optional(
      Type.String({ description: 'sbatch --time per trial, e.g. "2:00:00"; the partition default when left out.' }),
    ),
    cpus_per_task: Type.Integer({ minimum: 1, default: 1, description: 'sbatch --cpus-per-task.' }),
    gpus: Type.Integer({ minimum: 0, default: 0, description: 'sbatch --gpus per trial; 0 asks for none.' }),
    tasks_per_trial: Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'Ranks of a data-parallel trial (sbatch --ntasks): its run starts as one srun step of that many tasks, each a rank with cpus_per_task CPUs and gpus_per_task GPUs (device: cuda); a rank that fails stops the others.',
    }),
    gpus_per_task: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'sbatch --gpus-per-task: the GPUs of each rank (1 for device: cuda); 0 asks for none.',
    }),
    array_limit: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Trials of one job array running at once (the %N of --array).' }),
    ),
    extra_args: Type.Array(Type.String(), {
      default: [],
      description: 'More sbatch arguments, passed as they are (e.g. ["--mem=8G", "--qos=short"]).',
    }),
    poll_s: Type.Number({
      exclusiveMinimum: 0,
      default: 1,
      description: 'Seconds between squeue polls while following the jobs.',
    }),
    // SIGUSR1 is caught by NCCL, so submitit moved its preemption signal to USR2 and then HUP (submitit#1697, #1701)
    requeue_signal: Type.Union([Type.Literal('HUP'), Type.Literal('USR1'), Type.Literal('USR2')], {
      default: 'HUP',
      description:
        'Signal Slurm sends the job before its time limit (sbatch --signal=B:<SIG>@<signal_grace_s>): the run writes a checkpoint and the job requeues itself. HUP by default, since NCCL catches USR1.',
    }),
    signal_grace_s: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 120,
      description:
        'Seconds before the time limit that Slurm sends requeue_signal: long enough to finish a step and write a checkpoint (Slurm may send it up to 60 s early).',
    }),
    max_requeues: Type.Integer({
      minimum: 0,
      default: 3,
      description:
        'Times a trial is requeued after a time-limit signal, PREEMPTED or TIMEOUT before it counts as failed; each requeue resumes from its checkpoint and is recorded in the ledger.',
    }),
  },
  {
    additionalProperties: false,
    description: 'A Slurm cluster; the sweep process follows its jobs with squeue and scontrol.',
  },
);
export type SlurmExecutor = Static<typeof SlurmExecutor>;

/** A sweep: one base experiment config, the config paths it varies, and the seeds every trial repeats with. */
export const SweepFile = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path of the JSON Schema, for editor completion.' })),
    sweep: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Name of the sweep; trials land in <output.root>/<sweep>/<trial-id>/.',
    }),
    description: Type.Optional(Type.String({ description: 'Free text shown by `plan`.' })),
    base: Type.String({ description: 'The experiment config every trial starts from, relative to this file.' }),
    grid: Type.Optional(
      Type.Record(ConfigPath, Values, {
        additionalProperties: false,
        description: "Cartesian product: every combination of these paths' values.",
      }),
    ),
    zip: Type.Optional(
      Type.Record(ConfigPath, Values, {
        additionalProperties: false,
        description: 'Zipped lists of equal length: the i-th values of all paths form one combination.',
      }),
    ),
    trials: Type.Optional(
      Type.Array(Type.Record(ConfigPath, Type.Unknown(), { additionalProperties: false }), {
        minItems: 1,
        description: 'Explicit combinations, each a map of config path to value; multiplied with grid and zip.',
      }),
    ),
    search: Type.Optional(RandomSearch),
    asha: Type.Optional(Asha),
    seeds: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), {
        minItems: 1,
        uniqueItems: true,
        description: 'Every combination runs once per seed (seeds are repeats, not hyperparameters).',
      }),
    ),
    executor: Type.Union([LocalExecutor, SlurmExecutor], {
      default: { type: 'local' },
      description: 'Where trials run: local child processes or Slurm.',
    }),
    retries: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'New attempts for a trial that fails for an infrastructure reason (NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, a process killed by SIGKILL); never for exit 2 (a config error) or a failure of the run itself. Every attempt stays in the ledger.',
    }),
    fail_fast: Type.Boolean({
      default: false,
      description: 'Cancel the rest of the sweep as soon as one trial fails for good (after its retries).',
    }),
    metrics: Type.Array(Type.String(), {
      default: ['test/error', 'test/loss', 'train/error', 'train/loss'],
      description: 'TensorBoard scalar tags the HParams table shows per trial (its last value).',
    }),
    output: Type.Object(
      {
        root: Type.String({
          default: 'results',
          description: 'Folder holding <root>/<sweep>/, relative to the working directory.',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Where the sweep folder goes.' },
    ),
  },
  { additionalProperties: false },
);
export type SweepFile = Static<typeof SweepFile>;
export type SweepExecutor = SweepFile['executor'];

let jsonSchema: Record<string, any> | undefined;

/** A key with a default is not required of the file's author (ajv fills it in; an editor must not flag it missing). */
function defaultsOptional(node: any): any {
  if (Array.isArray(node)) return node.map(defaultsOptional);
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, defaultsOptional(v)]));
  if (Array.isArray(out.required) && out.properties) {
    out.required = out.required.filter((k: string) => out.properties[k]?.default === undefined);
    if (!out.required.length) delete out.required;
  }
  return out;
}

/**
 * The sweep file's JSON Schema (schemas/sweep.schema.json): the executor is a tagged union on `type`, so ajv
 * reports the errors of the branch a file chose and fills in that branch's defaults.
 */
export function sweepJsonSchema(): Record<string, any> {
  if (jsonSchema) return jsonSchema;
  const plain = defaultsOptional(JSON.parse(JSON.stringify(SweepFile))) as Record<string, any>;
  const executor = plain.properties.executor;
  plain.properties.executor = {
    type: 'object',
    description: executor.description,
    default: executor.default,
    discriminator: { propertyName: 'type' },
    oneOf: executor.anyOf,
  };
  jsonSchema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'epsilab sweep',
    description:
      'A sweep: a base experiment config, the config paths it varies (grid, zip, trials) and seeds. Generated from the code; do not edit.',
    ...plain,
  };
  return jsonSchema;
}
