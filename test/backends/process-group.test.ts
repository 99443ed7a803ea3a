import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributedEnv } from '../../src/backends/process-group.js';
import { freePort } from '../../src/util/free-port.js';
import { glooSkip } from '../helpers/gloo.js';
import { tempDir } from '../helpers/tmp.js';

const RANK_SCRIPT = fileURLToPath(new URL('../helpers/process-group-rank.js', import.meta.url));
const skip = glooSkip();

interface RankResult {
  code: number | null;
  out: Record<string, unknown>;
  seconds: number;
}

/** Starts rank `rank` of `worldSize` on the scenario; resolves with its exit code and the JSON line it printed. */
function startRank(
  scenario: string,
  rank: number,
  worldSize: number,
  port: number,
  env: Record<string, string> = {},
): Promise<RankResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [RANK_SCRIPT, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(worldSize),
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
      EPSILAB_DIST_TIMEOUT: '3',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ code, out: JSON.parse(line), seconds: (performance.now() - started) / 1000 });
      } catch {
        reject(new Error(`rank ${rank} printed no result (exit ${code}): ${stdout}${stderr}`));
      }
    }),
  );
}

test('torchrun environment: ranks, defaults, and mistakes named', () => {
  assert.equal(distributedEnv({}), null);
  assert.equal(distributedEnv({ WORLD_SIZE: '1', RANK: '0' }), null);
  assert.deepEqual(distributedEnv({ WORLD_SIZE: '2', RANK: '1' }), {
    rank: 1,
    worldSize: 2,
    localRank: 1,
    host: '127.0.0.1',
    port: 29500,
    file: undefined,
    timeoutMs: 300_000,
  });
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '2' }), /RANK=2 is not a rank of WORLD_SIZE=2/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: 'x' }), /MASTER_PORT=x/);
});

/** What each rank of the 'collectives' scenario must see. */
function assertCollectives(ranks: RankResult[]): void {
  for (const [r, { code, out }] of ranks.entries()) {
    assert.equal(code, 0, JSON.stringify(out));
    assert.deepEqual(out, {
      rank: r,
      sumA: [3, 30],
      sumB: [1, 2],
      sumBShape: [1, 2],
      sumBDtype: 'int32',
      avgA: [1.5, 15],
      broadcast: [2, 20],
      inputKept: [r + 1, 10 * (r + 1)],
    });
  }
}

test('two processes: allreduce (sum, average, two buckets), broadcast and barrier agree', { skip }, async () => {
  const port = await freePort();
  assertCollectives(await Promise.all([0, 1].map((r) => startRank('collectives', r, 2, port))));
});

test('two processes meeting through a FileStore (EPSILAB_DIST_STORE) instead of TCP', { skip }, async () => {
  const store = join(tempDir('file-store'), 'store');
  const unusedPort = await freePort();
  assertCollectives(
    await Promise.all([0, 1].map((r) => startRank('collectives', r, 2, unusedPort, { EPSILAB_DIST_STORE: store }))),
  );
});

test('a rank that never arrives: the rendezvous fails within the timeout, naming it', { skip }, async () => {
  const { code, out, seconds } = await startRank('collectives', 0, 2, await freePort());
  assert.equal(code, 1);
  assert.match(String(out.error), /rendezvous at 127\.0\.0\.1:\d+ timed out after 3 s: rank\(s\) 1 of 2 never arrived/);
  assert.ok(seconds < 30, `took ${seconds} s`);
});

test('a rank that skips a collective: the others time out naming the allreduce', { skip }, async () => {
  const port = await freePort();
  const [zero, one] = await Promise.all([0, 1].map((r) => startRank('one-skips', r, 2, port)));
  assert.equal(zero.code, 1);
  assert.match(String(zero.out.error), /allreduce of bucket 1\/1 \(1 tensors\) \(collective 1 on rank 0 of 2\)/);
  assert.deepEqual(one.out, { rank: 1, finished: true });
});

test('the port in use: rank 0 says it cannot host the store there', { skip }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const { code, out } = await startRank('collectives', 0, 2, port);
    assert.equal(code, 1);
    assert.match(
      String(out.error),
      new RegExp(
        `rank 0 cannot host the rendezvous store on 127\\.0\\.0\\.1:${port} \\(is the port in use\\? choose another MASTER_PORT\\)`,
      ),
    );
  } finally {
    server.close();
  }
});
