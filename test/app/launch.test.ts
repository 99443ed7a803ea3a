import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { computedMetrics, epsilab, noStack, status, type Watch } from '../helpers/binary.js';
import { noGloo, rankedConfig } from '../helpers/ranks.js';
import { tempDir } from '../helpers/tmp.js';

const skip = noGloo;

/** The ranked tiny config in `root`, with its results under `root`/results. */
function config(root: string, epochs: number, moreTrain = ''): string {
  const file = join(root, `tiny-${epochs}.yaml`);
  writeFileSync(
    file,
    rankedConfig('ranks', epochs, moreTrain) + `output: { root: ${JSON.stringify(join(root, 'results'))} }\n`,
  );
  return file;
}

/** Sends `signal` to rank 1 once rank 0 has finished its first epoch (the supervisor printed rank 1's pid before). */
function signalRankOne(signal: NodeJS.Signals): { watch: Watch; sent: () => boolean } {
  let sent = false;
  const onOutput = (out: string) => {
    const pid = /1=pid (\d+)/.exec(out)?.[1];
    if (!sent && pid && /epoch 1 /.test(out)) sent = process.kill(Number(pid), signal);
  };
  return { watch: { onOutput }, sent: () => sent };
}

describe('epsilab run --nproc: ranks started and supervised by one command', { skip }, () => {
  const root = tempDir('ranks');
  const file = config(root, 5);
  const run = (dir: string, watch: Watch = {}) => epsilab(['run', file, '--nproc', '2', '--run-dir', dir], {}, watch);
  let reference: Record<string, unknown>[];

  before(async () => {
    const r = await run(join(root, 'reference'));
    assert.equal(r.code, 0, r.out);
    noStack(r);
    reference = computedMetrics(join(root, 'reference'));
  });

  test('rank 0 owns the run folder; rank 1 writes only rank-1.log there; env.json records the ranks', () => {
    const dir = join(root, 'reference');
    assert.equal(status(dir), 'done');
    assert.deepEqual(
      reference.map((m) => m.epoch),
      [1, 2, 3, 4, 5],
    );
    const names = readdirSync(dir).filter((n) => !n.startsWith('events.out.tfevents.'));
    assert.deepEqual(names.sort(), [
      'checkpoints',
      'config.json',
      'config.yaml',
      'env.json',
      'metrics.jsonl',
      'model',
      'rank-1.log',
      'result.json',
    ]);
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.')).length, 1);
    assert.match(readFileSync(join(dir, 'rank-1.log'), 'utf8'), /data-parallel: rank 1 of 2 \(gloo\)/);
    const env = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) as { distributed: Record<string, unknown> };
    assert.equal(env.distributed.world_size, 2);
    assert.equal(env.distributed.process_group, 'gloo');
    assert.deepEqual(env.distributed.devices, ['cpu', 'cpu']);
    assert.equal((env.distributed.hosts as string[]).length, 2);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { train: { distributed: unknown } };
    assert.deepEqual(config.train.distributed, { ranks: 2, timeout_s: 300 });
  });

  test('kill -9 of one rank stops the run with one message naming it; the same command resumes to the same metrics', async () => {
    const dir = join(root, 'killed');
    const kill = signalRankOne('SIGKILL');
    const r = await run(dir, kill.watch);
    assert.ok(kill.sent(), r.out);
    assert.equal(r.code, 1, r.out);
    noStack(r);
    const named = r.out.match(/rank 1 \(pid \d+\) was killed by SIGKILL[^\n]*/g) ?? [];
    assert.equal(named.length, 1, r.out);
    assert.match(named[0], /run the same command again to resume from the last checkpoint/);
    assert.notEqual(status(dir), 'done');
    assert.ok(!readdirSync(join(dir, 'checkpoints')).some((n) => n.endsWith('.tmp')), 'no partial checkpoint');
    const again = await run(dir);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /resuming from /);
    assert.deepEqual(computedMetrics(dir), reference);
    assert.equal(status(dir), 'done');
  });

  test('Ctrl-C reaches every rank once: they stop after the same step, rank 0 checkpoints, exit 130; the same command resumes', async () => {
    const dir = join(root, 'interrupted');
    let supervisor = 0;
    let interrupted = false;
    const r = await run(dir, {
      onStart: (pid: number) => (supervisor = pid),
      onOutput: (out: string) => {
        if (!interrupted && /epoch 1 /.test(out)) interrupted = process.kill(supervisor, 'SIGINT');
      },
    });
    assert.equal(r.code, 130, r.out);
    const at = /checkpoint written at (epoch \d+, step \d+)/.exec(r.out)?.[1];
    assert.ok(at, r.out);
    assert.match(readFileSync(join(dir, 'rank-1.log'), 'utf8'), new RegExp(`stopped at ${at} with rank 0`));
    const again = await run(dir);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(computedMetrics(dir), reference);
  });

  test('a rank that hangs: the others time out after train.distributed.timeout_s and one message names it', async () => {
    const dir = join(root, 'hung');
    const hang = signalRankOne('SIGSTOP');
    const t0 = performance.now();
    const args = ['run', file, '--nproc', '2', '--run-dir', dir, '--set', 'train.distributed.timeout_s=15'];
    const r = await epsilab(args, {}, hang.watch);
    assert.ok(hang.sent(), r.out);
    assert.equal(r.code, 1, r.out);
    noStack(r);
    assert.match(r.out, /rank 1 \(pid \d+\) stopped responding: rank 0 waited 15 s for it/);
    assert.ok(performance.now() - t0 < 90_000, 'the run stops within the watchdog timeout, not at the end of training');
    assert.notEqual(status(dir), 'done');
  });

  test('a rendezvous that cannot form is an error that says so, exit 1: a port in use, a rank that never arrives', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const busy = await epsilab(['run', file, '--nproc', '2', '--run-dir', join(root, 'busy-port')], {
        MASTER_PORT: String(port),
      });
      assert.equal(busy.code, 1, busy.out);
      noStack(busy);
      assert.match(busy.out, new RegExp(`cannot host the rendezvous store on 127.0.0.1:${port} \\(is the port in use`));
      assert.match(busy.out, /rank 0 \(pid \d+\) failed \(its error is above\): the other ranks are stopped/);
    } finally {
      server.close();
    }
    const alone = await epsilab(['run', file, '--run-dir', join(root, 'alone')], {
      RANK: '0',
      WORLD_SIZE: '2',
      MASTER_PORT: String(port),
      EPSILAB_DIST_TIMEOUT: '3',
    });
    assert.equal(alone.code, 1, alone.out);
    noStack(alone);
    assert.match(alone.out, /rendezvous at 127.0.0.1:\d+ timed out after 3 s: rank\(s\) 1 of 2 never arrived/);
  });

  test('train.towers counts the towers of all ranks: 2 towers over 2 ranks train as 2 towers in one process', async () => {
    const towers = config(root, 2, ', towers: 2');
    const [ranked, single] = await Promise.all([
      epsilab(['run', towers, '--nproc', '2', '--run-dir', join(root, 'towers-ranked')]),
      epsilab(['run', towers, '--run-dir', join(root, 'towers-single')]),
    ]);
    assert.equal(ranked.code, 0, ranked.out);
    assert.equal(single.code, 0, single.out);
    const [got, want] = [computedMetrics(join(root, 'towers-ranked')), computedMetrics(join(root, 'towers-single'))];
    assert.equal(got.length, 2);
    for (const [i, m] of got.entries())
      for (const key of ['train_loss', 'train_error', 'test_loss', 'test_error'])
        assert.ok(
          Math.abs((m[key] as number) - (want[i][key] as number)) <=
            1e-4 * Math.max(1, Math.abs(want[i][key] as number)),
          `epoch ${i + 1} ${key}: ${m[key]} over 2 ranks, ${want[i][key]} in one process`,
        );
  });

  test('a finished data-parallel run is done for every rank: running it again trains nothing', async () => {
    const r = await run(join(root, 'reference'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /is already done/);
  });
});

describe('what cannot train over ranks is refused before any starts, exit 2 naming the fix', { skip }, () => {
  const root = tempDir('ranks-refused');
  const refused = async (file: string, args: string[], expected: RegExp) => {
    const r = await epsilab(['run', file, ...args]);
    assert.equal(r.code, 2, r.out);
    noStack(r);
    assert.match(r.out, expected);
    assert.ok(!existsSync(join(root, 'results')), 'no run folder');
  };

  test('--nproc on a backend other than libtorch', () =>
    refused(config(root, 1), ['--nproc', '2', '--set', 'backend=wasm'], /set backend: libtorch/));
  test('a batch that does not split over the ranks', () =>
    refused(config(root, 1), ['--nproc', '3'], /batch_size \(8\).*3 equal parts: use a multiple of 3/));
  test('towers that do not split over the ranks', () =>
    refused(config(root, 1, ', towers: 2'), ['--nproc', '4'], /train.towers \(2\) must split evenly over the 4 ranks/));
  test('more cuda ranks than GPUs', () =>
    refused(config(root, 1), ['--nproc', '2', '--set', 'device=cuda'], /needs 2 GPUs|CUDA build/));
  test('a number of processes that is not one', () => refused(config(root, 1), ['--nproc', 'two'], /--nproc takes/));
});
