import path from 'node:path';
import { loadExperiment, type LoadedExperiment } from '../config/load.js';
import { error, type Diagnostic } from '../util/diagnostics.js';
import { ConfigError } from '../util/errors.js';
import { runId } from '../run/run-id.js';
import { combinations, readSweep, type Override, type SweepSource } from './expand.js';
import type { HParamValue, Trial } from './trial.js';

export interface ResolvedSweep {
  source: SweepSource;
  /** Absolute path of the sweep's folder: <output.root>/<sweep>/. */
  dir: string;
  trials: Trial[];
  /** Each trial's resolved config as YAML with provenance comments (its trial.yaml), by trial id. */
  texts: Map<string, string>;
}

/** How a value reads in a slug or an HParams cell: strings bare, anything else as compact JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function hparamValue(value: unknown): HParamValue {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
    ? value
    : JSON.stringify(value);
}

/** `--set` text for an override: JSON is YAML, so the value parses back exactly. */
function setText(o: Override): string {
  return `${o.path}=${JSON.stringify(o.value)}`;
}

/**
 * Expands a sweep file and resolves every trial against its base config (extends, defaults, validation, checks)
 * before anything runs. Throws ConfigError with every problem: base config problems once, at the base config's
 * line; problems of an override at the sweep file's line that set it, naming the trial.
 */
export async function resolveSweep(file: string, cwd = process.cwd()): Promise<ResolvedSweep> {
  const source = await readSweep(file);
  const dir = path.resolve(cwd, source.spec.output.root, source.spec.sweep);
  const diags: Diagnostic[] = [];
  const trials: Trial[] = [];
  const texts = new Map<string, string>();
  const slugOfId = new Map<string, string>();
  const asha = source.spec.asha;
  const ashaPos = source.doc.places.get('/asha')?.keyPos;
  if (asha && asha.min_epochs > asha.max_epochs)
    diags.push(error(`asha: min_epochs (${asha.min_epochs}) is more than max_epochs (${asha.max_epochs})`, ashaPos));
  for (const combo of combinations(source)) {
    const overrides: Override[] = [
      ...combo.overrides,
      ...(combo.seed ? [{ path: 'seed', value: combo.seed.value, pos: combo.seed.pos }] : []),
    ];
    const slug = overrides.map((o) => `${o.path}=${show(o.value)}`).join(',') || 'base';
    const varied = overrides.find((o) => o.path === 'train.epochs');
    if (asha && varied)
      diags.push(error(`asha sets train.epochs per rung (up to max_epochs); do not vary it in the sweep`, varied.pos));
    // A trial is its full run: ASHA trains it max_epochs at most, in rungs
    if (asha) overrides.push({ path: 'train.epochs', value: asha.max_epochs, pos: ashaPos });
    const loaded = await loadTrial(source, overrides, slug, diags);
    if (!loaded) continue;
    const { config } = loaded;
    const id = runId(config);
    const twin = slugOfId.get(id);
    if (twin !== undefined) {
      diags.push(
        error(
          `trial ${slug} resolves to the same config as trial ${twin}; each trial must differ`,
          overrides.find((o) => o.pos)?.pos,
        ),
      );
      continue;
    }
    slugOfId.set(id, slug);
    texts.set(
      id,
      `# Trial ${slug} of sweep ${source.spec.sweep} (${path.relative(cwd, source.file) || source.file}); its run reads the base config with these overrides.\n${loaded.text}`,
    );
    trials.push({
      id,
      slug,
      group: combo.overrides.map((o) => `${o.path}=${show(o.value)}`).join(',') || 'base',
      hparams: Object.fromEntries(combo.overrides.map((o) => [o.path, hparamValue(o.value)])),
      seed: config.seed,
      base: source.baseFile,
      sets: overrides.map(setText),
      config: config as unknown as Record<string, unknown>,
      dir: path.join(dir, id),
    });
  }
  if (diags.length) throw new ConfigError(dedupe(diags));
  return { source, dir, trials, texts };
}

async function loadTrial(
  source: SweepSource,
  overrides: Override[],
  slug: string,
  diags: Diagnostic[],
): Promise<LoadedExperiment | undefined> {
  const sets = overrides.map(setText);
  try {
    return await loadExperiment(source.baseFile, sets);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const d of err.diagnostics) {
      const i = d.pos?.set !== undefined ? sets.indexOf(d.pos.set) : -1;
      if (i < 0) diags.push(d);
      else
        diags.push({
          ...d,
          message: `${d.message.replace(`--set ${sets[i]}: `, '')} (trial ${slug})`,
          pos: overrides[i].pos,
        });
    }
    return undefined;
  }
}

/** Base config problems repeat in every trial: report each once. */
function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const key = `${d.pos?.file}:${d.pos?.line}:${d.pos?.col}:${d.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
