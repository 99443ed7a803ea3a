import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { parseYaml } from '../../src/config/yaml-source.js';
import { FILE_KINDS } from '../../src/runner/commands/validate.js';
import { resolveSweep } from '../../src/sweep/resolve.js';
import type { Trial } from '../../src/sweep/trial.js';
import { matches, valueAt } from '../../src/tables/runs.js';
import { loadTableSpec, type TableSpec } from '../../src/tables/spec.js';
import { projectRoot } from '../../src/util/paths.js';

const root = projectRoot();
const shipped = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(root, dir, f));
const tableSpecs = shipped('configs/tables');
const sweepFiles = shipped('configs/sweeps');

/** The kind `epsilab validate` picks for a file, from its top-level keys, as the command does. */
function kindOf(file: string): string {
  const { root: node } = parseYaml({ file, text: readFileSync(file, 'utf8') });
  const keys = node?.kind === 'map' ? [...node.entries.keys()] : [];
  return FILE_KINDS.find((k) => k.matches(file, keys))!.name;
}

const trialsCache = new Map<string, Promise<Trial[]>>();
const trialsOf = (sweep: string) =>
  trialsCache.get(sweep) ??
  trialsCache
    .set(
      sweep,
      resolveSweep(join(root, 'configs/sweeps', `${sweep}.yaml`), root).then((s) => s.trials),
    )
    .get(sweep)!;

test('every shipped table spec validates as `epsilab validate` checks it', async () => {
  assert.ok(tableSpecs.length >= 4);
  for (const file of tableSpecs) {
    assert.equal(kindOf(file), 'table spec', file);
    await FILE_KINDS.find((k) => k.name === 'table spec')!.validate(file, []);
  }
});

test('every shipped sweep validates and expands, every trial resolved, as `epsilab plan` does', async () => {
  for (const file of sweepFiles) {
    assert.equal(kindOf(file), 'sweep file', file);
    await FILE_KINDS.find((k) => k.name === 'sweep file')!.validate(file, []);
    assert.ok((await trialsOf(basename(file, '.yaml'))).length > 0, file);
  }
});

test('the paper sweeps run exactly the configs they name', async () => {
  const withoutName = (config: Record<string, unknown>) => ({ ...config, experiment: undefined });
  for (const sweep of ['paper-epsilon-resnet-cifar10', 'paper-epsilon-resnet-cifar100', 'paper-epsilon-resnet-svhn']) {
    for (const trial of await trialsOf(sweep)) {
      const named = `configs/epsilon-resnet/${trial.config.experiment as string}-d${valueAt(trial.config, 'model.depth') as number}.yaml`;
      const { config } = await loadExperiment(join(root, named));
      assert.deepEqual(
        withoutName(trial.config),
        withoutName(config as unknown as Record<string, unknown>),
        `${sweep}: trial ${trial.slug} differs from ${named}`,
      );
    }
  }
  const noRes = await trialsOf('paper-no-res');
  assert.equal(noRes.length, 2);
  for (const trial of noRes) {
    const { config } = await loadExperiment(join(root, 'configs', `${trial.config.experiment as string}.yaml`));
    assert.deepEqual(trial.config, config as unknown as Record<string, unknown>);
  }
});

test("every table's cells, paper values and plots select trials of the sweeps it reads", async () => {
  for (const file of tableSpecs) {
    const spec: TableSpec = await loadTableSpec(file);
    if (!spec.runs.sweeps.length) continue;
    const trials = (await Promise.all(spec.runs.sweeps.map(trialsOf)))
      .flat()
      .map((t) => t.config)
      .filter((c) => matches(c, spec.runs.where));
    const key = (c: Record<string, unknown>) =>
      [...spec.rows, ...spec.columns].map((a) => String(valueAt(c, a.path) ?? null)).join('/');
    for (const cell of spec.cells) {
      const cellTrials = trials.filter((c) => matches(c, cell.where));
      assert.ok(cellTrials.length > 0, `${basename(file)}: no trial for cell ${cell.label}`);
      for (const ref of Object.keys(cell.reference?.values ?? {})) {
        assert.ok(
          cellTrials.some((c) => key(c) === ref),
          `${basename(file)}: cell ${cell.label} has a paper value for ${ref}, which no trial is`,
        );
      }
    }
    for (const plot of spec.plots)
      assert.ok(
        trials.some((c) => matches(c, plot.where)),
        `${basename(file)}: plot ${plot.name} selects no trial`,
      );
  }
});
