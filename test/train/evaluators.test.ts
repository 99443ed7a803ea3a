import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/config/load.js';
import { buildExperiment } from '../../src/train/build.js';
import { evaluate, runEvaluations } from '../../src/train/evaluate.js';
import { evaluateModelFolder } from '../../src/app/evaluate.js';
import { TINY_CONFIG, tinyRun, trainConfig } from '../helpers/tiny-run.js';
import { cpuContext, tf } from '../helpers/tiny-model.js';

const TRAIN = 'train: { epochs: 1, batch_size: 8, eval_batch_size: 6 }';
/** TINY_CONFIG over 3 epochs with `train` extra keys and an `evaluations` section (none: the schema default). */
function config(train: string, evaluations = ''): string {
  assert.ok(TINY_CONFIG.includes(TRAIN));
  return TINY_CONFIG.replace(TRAIN, `train: { epochs: 3, batch_size: 8, eval_batch_size: 6${train} }`) + evaluations;
}

const TWO = `evaluations:
  test: { type: classification }
  train_eval: { type: classification, split: train, every: 1, batch_size: 4 }
`;

function metrics(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const evaluationKeys = (m: Record<string, number>) =>
  Object.keys(m)
    .filter((k) => /^(test|train_eval|eval)_/.test(k))
    .sort();

test('the default evaluations are the test split under the names and values of the engine, each evaluator its own split and batch size', async () => {
  await cpuContext([8, 8, 3], 3);
  const cases: [string, string[]][] = [
    ['', ['test']],
    [TWO, ['test', 'train_eval']],
  ];
  for (const [evaluations, expected] of cases) {
    const run = tinyRun('evaluators', config('', evaluations));
    const { config: c, registry } = await loadExperiment(run.file);
    const built = await buildExperiment(c, { tf, configDir: run.dir, log: () => {}, registry });
    const { loss, dataset, model, testTransforms: transforms } = built;
    const got = await runEvaluations(built.evaluators, { tf, model, loss, dataset, transforms });
    const want: Record<string, number> = {};
    for (const name of expected) {
      const [split, batchSize] = name === 'test' ? (['test', 6] as const) : (['train', 4] as const);
      const r = await evaluate(tf, model, { loss, dataset, split, transforms, batchSize, seed: 3, compile: 'auto' });
      Object.assign(want, {
        [`${name}_loss`]: r.loss,
        [`${name}_error`]: r.error,
        [`${name}_top5_error`]: r.top5Error,
        [`${name}_accuracy`]: 1 - r.error,
      });
      // The ε-ResNet's side head, as <head>/test_error.
      assert.deepEqual(Object.keys(r.auxError), ['side_output/res2.0']);
      for (const [head, error] of Object.entries(r.auxError)) want[`${head}/${name}_error`] = error;
      assert.equal(got.results[expected.indexOf(name)].images, dataset[split].size);
    }
    const { eval_images_per_sec: throughput, ...values } = got.metrics;
    assert.deepEqual(values, want);
    assert.ok(throughput > 0);
    model.dispose();
  }
});

test('the loop runs each evaluator at its own cadence and after the last epoch; eval runs them all on the saved model', async () => {
  // train.eval_every 2 paces the test evaluation, train_eval sets every: 1.
  const run = tinyRun('evaluators-loop', config(', eval_every: 2', TWO));
  assert.equal((await trainConfig(run.file, run.runDir)).code, 0);
  const [first, second, last] = metrics(run.runDir);
  const test = ['test_accuracy', 'test_error', 'test_loss', 'test_top5_error'];
  const trainEval = ['train_eval_accuracy', 'train_eval_error', 'train_eval_loss', 'train_eval_top5_error'];
  assert.deepEqual(evaluationKeys(first), ['eval_images_per_sec', ...trainEval]);
  assert.deepEqual(evaluationKeys(second), ['eval_images_per_sec', ...test, ...trainEval]);
  assert.deepEqual(evaluationKeys(last), [
    'eval_images_per_sec',
    'test_accuracy',
    'test_error',
    'test_error_batch_statistics',
    'test_loss',
    'test_top5_error',
    ...trainEval,
  ]);
  const evaluated = (await evaluateModelFolder(run.runDir)) as unknown as Record<string, number>;
  for (const k of [...test, ...trainEval])
    assert.ok(Math.abs(evaluated[k] - last[k]) < 1e-5, `${k}: ${evaluated[k]} vs ${last[k]}`);
  assert.equal(evaluated.images, 6 + 16);
});

test('a run recorded before evaluations existed is evaluated with their schema default', async () => {
  const run = tinyRun('evaluators-old', config(''));
  assert.equal((await trainConfig(run.file, run.runDir)).code, 0);
  const file = join(run.runDir, 'config.json');
  const { evaluations, ...recorded } = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(evaluations, { test: { type: 'classification', split: 'test' } });
  writeFileSync(file, JSON.stringify(recorded));
  const evaluated = (await evaluateModelFolder(run.runDir)) as unknown as Record<string, number>;
  assert.equal(evaluated.test_error, metrics(run.runDir).at(-1)!.test_error);
});
