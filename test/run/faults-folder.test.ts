import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/paths.js';
import { computedMetrics, epsilab, noStack, status, tinyConfig, type Ran } from '../helpers/binary.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('folder');
const config = tinyConfig(root, 2);
const folder = join(root, 'run');
const epochs = (dir: string) => computedMetrics(dir).map((m) => m.epoch);
const lockOf = (pid: number) =>
  JSON.stringify({
    pid,
    host: hostname(),
    started: new Date().toISOString(),
    purpose: 'run',
    command: ['epsilab', 'run'],
  });

test('two runs of one folder: the second exits 2 naming the first, --wait waits and finds it done; a changed config is refused, --extend and --force are recorded', async () => {
  // The first run is stopped (SIGSTOP) once it holds the folder, so that the others meet it there however slow the machine.
  let holder = 0;
  let first!: Promise<Ran>;
  await new Promise<void>((resolve) => {
    first = epsilab(
      ['run', config, '--run-dir', folder],
      {},
      { onStart: (pid) => (holder = pid), onOutput: (out) => out.includes('run folder:') && resolve() },
    );
  });
  process.kill(holder, 'SIGSTOP');
  const second = await epsilab(['run', config, '--run-dir', folder]);
  assert.equal(second.code, 2, second.out);
  noStack(second);
  assert.match(
    second.out,
    new RegExp(`is in use by \`epsilab run\` \\(pid ${holder} on ${hostname()}, since [-\\dT:.Z]+\\).*--wait`),
  );
  let resumed = false;
  const resume = (out: string) =>
    !resumed && out.includes('waiting for') && (resumed = process.kill(holder, 'SIGCONT'));
  const waiting = epsilab(['run', config, '--run-dir', folder, '--wait'], {}, { onOutput: resume });
  assert.equal((await first).code, 0);
  const waited = await waiting;
  assert.equal(waited.code, 0, waited.out);
  assert.match(waited.out, new RegExp(`waiting for \`epsilab run\` \\(pid ${holder} [^]*already done`));
  assert.deepEqual(epochs(folder), [1, 2], 'each epoch recorded once');

  // A lock left by a process that no longer exists is taken over.
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(join(folder, 'run.lock'), lockOf(gone));
  const longer = await epsilab(['run', config, '--run-dir', folder, '--set', 'train.epochs=3']);
  assert.equal(longer.code, 2, longer.out);
  assert.match(
    longer.out,
    new RegExp(`taking over .*run\\.lock: \`epsilab run\` \\(pid ${gone} .*is no longer running`),
  );
  assert.match(
    longer.out,
    /holds a run of another config \(its config differs\):\n  train\.epochs: 2 in the folder, 3 now\n.*without --run-dir.*--force.*--extend/,
  );
  assert.deepEqual(epochs(folder), [1, 2], 'a refused run changes nothing');

  const extended = await epsilab(['run', config, '--run-dir', folder, '--set', 'train.epochs=3', '--extend']);
  assert.equal(extended.code, 0, extended.out);
  assert.match(extended.out, /resuming from .*step-000000004 at epoch 3/);
  assert.deepEqual(epochs(folder), [1, 2, 3]);
  assert.equal(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')).train.epochs, 3);

  const fresh = await epsilab(['run', config, '--run-dir', folder, '--set', 'train.epochs=1', '--force']);
  assert.equal(fresh.code, 0, fresh.out);
  assert.deepEqual(epochs(folder), [1], 'started over');
  const history = readFileSync(join(folder, 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    history.map((h) => h.event),
    ['extend', 'force'],
  );
  assert.deepEqual(history[0].changed, [{ path: 'train.epochs', before: 2, after: 3 }]);
  assert.equal(history[1].previous_epochs_done, 3);
  assert.equal(existsSync(join(folder, 'run.lock')), false, 'the lock goes with its holder');

  writeFileSync(join(folder, 'result.json'), '{"status": "do');
  const rewritten = await epsilab(['run', config, '--run-dir', folder, '--set', 'train.epochs=1']);
  assert.equal(rewritten.code, 0, rewritten.out);
  assert.match(
    rewritten.out,
    /warning: .*result\.json \(the run's result record\) is damaged: .*; it is rewritten as the run goes on/,
  );
  assert.equal(status(folder), 'done');
  assert.deepEqual(epochs(folder), [1]);
});

test('resume, eval and compress honour a live lock: exit 2 naming the holder', async () => {
  const busy = join(root, 'busy');
  mkdirSync(busy, { recursive: true });
  copyFileSync(config, join(busy, 'config.yaml'));
  writeFileSync(join(busy, 'config.json'), '{}');
  writeFileSync(join(busy, 'run.lock'), lockOf(process.pid));
  for (const command of ['resume', 'eval', 'compress']) {
    const r = await epsilab([command, busy]);
    assert.equal(r.code, 2, `${command}: ${r.out}`);
    noStack(r);
    assert.match(r.out, new RegExp(`in use by \`epsilab run\` \\(pid ${process.pid} `), command);
  }
});

test('a damaged metrics.jsonl is named with its line', async () => {
  const damaged = join(root, 'damaged-metrics');
  mkdirSync(damaged, { recursive: true });
  copyFileSync(config, join(damaged, 'config.yaml'));
  writeFileSync(join(damaged, 'config.json'), '{}');
  writeFileSync(join(damaged, 'metrics.jsonl'), '{"epoch": 1}\n{"epo\n{"epoch": 3}\n');
  const r = await epsilab(['compress', damaged]);
  assert.equal(r.code, 2, r.out);
  noStack(r);
  assert.match(
    r.out,
    /metrics\.jsonl is damaged: line 2 is not JSON \("\{\\"epo"\)\. Remove that line to keep the other epochs, or start the run over with --force/,
  );
});

test('a truncated dataset file: exit 2 naming the file, what was expected and what was found', async () => {
  const data = join(root, 'fmnist');
  mkdirSync(data);
  const subset = join(projectRoot(), 'data', 'fashion-mnist-subset');
  for (const f of readdirSync(subset).filter((n) => n.endsWith('.gz'))) copyFileSync(join(subset, f), join(data, f));
  const images = join(data, 'train-images-idx3-ubyte.gz');
  truncateSync(images, Math.floor(statSync(images).size / 2));
  const fmnist = tinyConfig(join(root), 1, `{ type: fashion-mnist, path: ${JSON.stringify(data)} }`);
  const r = await epsilab(['run', fmnist, '--run-dir', join(root, 'fmnist-run')]);
  assert.equal(r.code, 2, r.out);
  noStack(r);
  assert.match(
    r.out,
    new RegExp(`${images.replace(/[.]/g, '\\.')}: damaged gzip data \\(unexpected end of file; the file is \\d+ bytes`),
  );
  assert.notEqual(status(join(root, 'fmnist-run')), 'done');
});
