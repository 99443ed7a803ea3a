import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computedMetrics, epsilab, noStack, recordedScalars, status, tinyConfig } from '../helpers/binary.js';
import { tempDir } from '../helpers/tmp.js';

// Each case interrupts or damages a 3-epoch run, runs the same command again and expects exactly the metrics of the
// uninterrupted run: every epoch once, none lost.
const root = tempDir('faults');
const config = tinyConfig(root, 3);
const dir = (name: string) => join(root, name);
const run = (name: string, env: Record<string, string> = {}) => epsilab(['run', config, '--run-dir', dir(name)], env);
let reference: Record<string, unknown>[];
let referenceScalars: string[];
let referenceSeconds = 0;

before(async () => {
  const t0 = performance.now();
  const r = await run('reference');
  referenceSeconds = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, r.out);
  reference = computedMetrics(dir('reference'));
  referenceScalars = recordedScalars(dir('reference'));
  assert.deepEqual(
    reference.map((m) => m.epoch),
    [1, 2, 3],
  );
});

/** Runs the same command again and expects the uninterrupted run's metrics and TensorBoard steps, and a done result. */
async function finishesLikeReference(name: string, args: string[] = []): Promise<string> {
  const again = await epsilab(['run', config, '--run-dir', dir(name), ...args]);
  assert.equal(again.code, 0, again.out);
  noStack(again);
  assert.deepEqual(computedMetrics(dir(name)), reference, again.out);
  assert.deepEqual(recordedScalars(dir(name)), referenceScalars, 'each TensorBoard step once');
  assert.equal(status(dir(name)), 'done');
  return again.out;
}

const weights = (name: string, step: number) =>
  join(dir(name), 'checkpoints', `step-${String(step).padStart(9, '0')}`, 'weights.bin');

test('kill -9 during a metrics append: the torn line is dropped and the epoch trained again, once; damaged checkpoints fall back or say how to start over', async () => {
  const killed = await run('append', { EPSILAB_TEST_KILL_IN: 'metrics.jsonl:3' });
  assert.equal(killed.signal, 'SIGKILL', killed.out);
  assert.ok(!readFileSync(join(dir('append'), 'metrics.jsonl'), 'utf8').endsWith('\n'), 'the third line is torn');
  for (const copy of ['truncated', 'flipped', 'none-intact']) cpSync(dir('append'), dir(copy), { recursive: true });

  const resumed = await finishesLikeReference('append');
  assert.match(resumed, /resuming from .*step-000000004 at epoch 3/);

  truncateSync(weights('truncated', 4), 42);
  const fellBack = await finishesLikeReference('truncated');
  assert.match(
    fellBack,
    /warning: checkpoint .*step-000000004: weights\.bin is 42 bytes, the manifest says \d+; moved aside to .*step-000000004\.damaged/,
  );
  assert.match(fellBack, /resuming from .*step-000000002 at epoch 2/);

  const bytes = readFileSync(weights('flipped', 4));
  bytes[bytes.length >> 1] ^= 0x10;
  writeFileSync(weights('flipped', 4), bytes);
  assert.match(
    await finishesLikeReference('flipped'),
    /step-000000004: weights\.bin's SHA-256 differs from the manifest's/,
  );

  truncateSync(weights('none-intact', 4), 0);
  truncateSync(weights('none-intact', 2), 100);
  const refused = await run('none-intact');
  assert.equal(refused.code, 2, refused.out);
  noStack(refused);
  assert.match(
    refused.out,
    /no intact checkpoint to resume from:\n.*step-000000004: weights\.bin is 0 bytes.*\n.*step-000000002: weights\.bin is 100 bytes/,
  );
  assert.match(refused.out, /--force/);
});

test('stopped before its first checkpoint (killed mid-epoch, after an epoch line, in the first checkpoint; a full disk there): the run starts its records anew', async () => {
  const everyTwo = ['--set', 'train.checkpoint_every=2'];
  const cases: [string, string[], Record<string, string>][] = [
    ['before-first-line', everyTwo, { EPSILAB_TEST_KILL_IN: 'metrics.jsonl:2' }],
    ['in-first-checkpoint', everyTwo, { EPSILAB_TEST_KILL_IN: 'tmp/weights.bin:1' }],
    ['after-first-line', [], { EPSILAB_TEST_KILL_IN: 'tmp/weights.bin:1' }],
    ['disk-full-in-first-checkpoint', everyTwo, { EPSILAB_TEST_DISK_FULL_AFTER: '20000' }],
  ];
  for (const [name, args, env] of cases) {
    const stopped = await epsilab(['run', config, '--run-dir', dir(name), ...args], env);
    assert.ok(stopped.signal === 'SIGKILL' || stopped.code === 1, `${name}: ${stopped.out}`);
    assert.match(readFileSync(join(dir(name), 'metrics.jsonl'), 'utf8'), /^\{"epoch":1,/, `${name}: epoch 1 recorded`);
    assert.equal(existsSync(join(dir(name), 'checkpoints', 'latest.json')), false, `${name}: no checkpoint yet`);
    assert.doesNotMatch(await finishesLikeReference(name, args), /resuming from/, name);
  }
});

test('kill -9 inside a checkpoint write: the half-written checkpoint is never used and is cleaned up', async () => {
  const killed = await run('checkpoint', { EPSILAB_TEST_KILL_IN: 'tmp/weights.bin:2' });
  assert.equal(killed.signal, 'SIGKILL', killed.out);
  const ckpts = join(dir('checkpoint'), 'checkpoints');
  assert.ok(
    readdirSync(ckpts).some((n) => n.endsWith('.tmp')),
    'the kill left a partial checkpoint',
  );
  assert.match(await finishesLikeReference('checkpoint'), /resuming from .*step-000000002 at epoch 2/);
  assert.deepEqual(
    readdirSync(ckpts).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test("kill -9 at a random moment, then the same command: the uninterrupted run's metrics", async () => {
  const delay = Math.round((0.2 + 0.7 * Math.random()) * referenceSeconds * 1000);
  let timer: NodeJS.Timeout | undefined;
  const killed = await epsilab(
    ['run', config, '--run-dir', dir('random')],
    {},
    { onStart: (pid) => (timer = setTimeout(() => process.kill(pid, 'SIGKILL'), delay)) },
  );
  clearTimeout(timer);
  assert.ok(
    killed.signal === 'SIGKILL' || killed.code === 0,
    `killed after ${delay} ms of a ${referenceSeconds.toFixed(1)} s run: ${killed.out}`,
  );
  await finishesLikeReference('random');
});

test('a full disk: the run stops with exit 1 and says so; with space again the same command finishes it', async (t) => {
  const place = dir('full');
  let mounted = false;
  try {
    execFileSync('mkdir', ['-p', place]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=900k', 'tmpfs', place], { stdio: 'ignore' });
    mounted = true;
    t.after(() => execFileSync('umount', [place]));
  } catch {
    // not root, or no mount here: the disk-full test hook stands in for a small filesystem
  }
  const full = await run('full', mounted ? {} : { EPSILAB_TEST_DISK_FULL_AFTER: '900000' });
  assert.equal(full.code, 1, full.out);
  noStack(full);
  assert.match(
    full.out,
    /ENOSPC: no space left on device.*: the disk is full\. Free some space, then run the same command again/,
  );
  if (mounted) execFileSync('mount', ['-o', 'remount,size=16m', place]);
  await finishesLikeReference('full');
  assert.ok(existsSync(join(place, 'model', 'model.json')));
});
