import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadExperiment } from '../../src/config/load.js';
import { projectRoot } from '../../src/util/paths.js';

const script = join(projectRoot(), 'scripts', 'check-claims.mjs');

const CONFIG = `# A tiny config with claims.
# claims: seeds 0 1; backends cpu; compress
# claim: compression.after.error = metrics.test_error ± 0.001
# claim: metrics.test_error = 0.30 ± 0.05
# claim: metrics.test_error ≤ 0.5
experiment: claimed
backend: cpu
dataset: { type: synthetic, num_classes: 3, train_size: 12, test_size: 6, height: 8, width: 8 }
model: { type: epsilon-resnet, depth: 8 }
loss: { type: cross-entropy }
optimizer: { type: momentum, momentum: 0.9 }
schedule: { type: piecewise, values: [[0, 0.05]] }
train: { epochs: 1, batch_size: 6 }
`;

/**
 * A finished run folder as `epsilab run` and `epsilab compress` leave it, with the given errors: its config.json is
 * the config resolved for that seed on cpu, so `epsilab run` finds the run done (a folder without one is refused).
 */
async function finishedRun(config: string, runs: string, seed: number, error: number, compressed: number) {
  const dir = join(runs, 'claimed', `cpu-seed${seed}`);
  mkdirSync(dir, { recursive: true });
  const resolved = (await loadExperiment(config, [`seed=${seed}`, 'backend=cpu'])).config;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(resolved));
  const result = {
    status: 'done',
    experiment: 'claimed',
    run_id: 'x',
    epochs_done: 1,
    metrics: { test_error: error },
    compression: { after: { error: compressed } },
  };
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result));
}

function check(args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: projectRoot(), encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('claims are read from the header and checked on every run: value ± tolerance, equality of two values, an upper bound', async () => {
  const { parseClaims, checkClaim } = (await import(pathToFileURL(script).href)) as {
    parseClaims: (
      text: string,
      file: string,
    ) => { runs: { seeds: number[]; backends: string[]; compress: boolean }; claims: { text: string }[] };
    checkClaim: (claim: unknown, results: unknown) => { ok: boolean };
  };
  const { runs, claims } = parseClaims(CONFIG, 'claimed.yaml');
  assert.deepEqual(runs.seeds, [0, 1]);
  assert.deepEqual(runs.backends, ['cpu']);
  assert.equal(runs.compress, true);
  const run = (error: number, after: number) => ({
    run: { metrics: { test_error: error }, compression: { after: { error: after } } },
  });
  assert.deepEqual(
    claims.map((c) => checkClaim(c, run(0.3, 0.3005)).ok),
    [true, true, true],
  );
  assert.deepEqual(
    claims.map((c) => checkClaim(c, run(0.36, 0.362)).ok),
    [false, false, true],
  );
  assert.equal(checkClaim(claims[2], run(0.51, 0.51)).ok, false);
  assert.equal(
    checkClaim(claims[0], { run: { metrics: { test_error: 0.3 } } }).ok,
    false,
    'a value missing from result.json fails the claim',
  );
});

test('the checker reuses finished runs, exits 1 naming the claim that fails, and 2 on a claim it cannot read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epsilab-claims-'));
  const config = join(dir, 'claimed.yaml');
  writeFileSync(config, CONFIG);
  const runs = join(dir, 'runs');
  await finishedRun(config, runs, 0, 0.3, 0.3);
  await finishedRun(config, runs, 1, 0.32, 0.34);
  const r = check([config, '--runs', runs]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /\| 1 \| compression\.after\.error = metrics\.test_error ± 0\.001 \| \*\*fails\*\*/);
  assert.match(r.out, /1 of 6 claim checks fail/);
  assert.equal(check([config, '--runs', runs, '--seeds', '0']).code, 0);
  writeFileSync(config, CONFIG.replace('≤ 0.5', 'is small'));
  const bad = check([config, '--runs', runs]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /cannot read the claim 'metrics.test_error is small'/);
});

test('a mean(...) claim is checked once per backend on the means over the seeds, and a claim `on` a backend only there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epsilab-claims-'));
  const config = join(dir, 'claimed.yaml');
  const claims = [
    '# claim: mean(metrics.test_error) ≤ 0.32',
    '# claim on cpu: mean(metrics.test_error) = 0.31 ± 0.006',
    '# claim on wasm: metrics.test_error ≤ 0.1',
  ];
  writeFileSync(
    config,
    CONFIG.replace(/# claim: [^\n]*\n/g, '').replace(
      '# claims: seeds 0 1; backends cpu; compress\n',
      `# claims: seeds 0 1; backends cpu wasm; compress\n${claims.join('\n')}\n`,
    ),
  );
  const runs = join(dir, 'runs');
  await finishedRun(config, runs, 0, 0.3, 0.3);
  await finishedRun(config, runs, 1, 0.33, 0.33);
  const r = check([config, '--runs', runs, '--backends', 'cpu']);
  assert.equal(r.code, 0, r.out);
  assert.match(
    r.out,
    /\| cpu \| mean of 0 1 \| mean\(metrics\.test_error\) ≤ 0\.32 \| holds: 0\.3150 ≤ 0\.3200 \+ 0 \|/,
  );
  assert.match(r.out, /\| cpu \| mean of 0 1 \| on cpu: mean\(metrics\.test_error\) = 0\.31 ± 0\.006 \| holds/);
  assert.doesNotMatch(r.out, /on wasm/, 'a claim on another backend is not checked here');
  assert.match(r.out, /all 2 claim checks hold/);
  await finishedRun(config, runs, 1, 0.36, 0.36);
  const failing = check([config, '--runs', runs, '--backends', 'cpu']);
  assert.equal(failing.code, 1, 'one seed moves both means out');
  assert.match(failing.out, /2 of 2 claim checks fail/);
  writeFileSync(config, CONFIG.replace('≤ 0.5', '≤ mean(baseline.metrics.test_error)'));
  const mixed = check([config, '--runs', runs]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.out, /compares a mean over the seeds with one run's value/);
  writeFileSync(
    config,
    CONFIG.replace('# claim: metrics.test_error ≤ 0.5', '# claim on tpu: metrics.test_error ≤ 0.5'),
  );
  assert.match(
    check([config, '--runs', runs]).out,
    /a claim on tpu, which is not one of the '# claims:' backends \(cpu\)/,
  );
});
