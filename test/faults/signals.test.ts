import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epsilab, noStack, tinyConfig } from '../helpers/binary.js';
import { tempDir } from '../helpers/tmp.js';

// SIGTERM ends every command as it ends `run`: exit 130 and the run folder's lock released, whatever the command was
// doing when the signal came (here: as soon as it holds the lock).
const root = tempDir('signals');
let trained = '';

before(async () => {
  mkdirSync(join(root, 'trained'));
  trained = join(root, 'trained', 'run');
  const config = tinyConfig(join(root, 'trained'), 1);
  // compress takes an ε-ResNet run
  const text = readFileSync(config, 'utf8').replace(
    /model: .*/,
    'model: { type: epsilon-resnet, depth: 8, epsilon: 0.5 }',
  );
  writeFileSync(config, text);
  const r = await epsilab(['run', config, '--run-dir', trained]);
  assert.equal(r.code, 0, r.out);
});

for (const [command, args] of [
  ['compress', (run: string) => ['compress', run]],
  ['export', (run: string) => ['export', run, '--format', 'onnx']],
  ['run (start-up)', (run: string) => ['run', tinyConfig(join(run, '..'), 1), '--run-dir', join(run, '..', 'fresh')]],
] as const) {
  test(`SIGTERM during ${command}: exit 130, the lock released`, async () => {
    const dir = join(root, command.replace(/\W+/g, '-'));
    mkdirSync(dir);
    const run = join(dir, 'run');
    cpSync(trained, run, { recursive: true });
    const folder = command.startsWith('run') ? join(dir, 'fresh') : run;
    const lock = join(folder, 'run.lock');
    let poll: NodeJS.Timeout | undefined;
    const r = await epsilab(
      args(run),
      {},
      {
        onStart: (pid) =>
          (poll = setInterval(() => {
            if (!existsSync(lock)) return;
            clearInterval(poll);
            process.kill(pid, 'SIGTERM');
          }, 10)),
      },
      { seconds: 120, memoryMb: 1536 },
    );
    clearInterval(poll);
    assert.equal(r.code, 130, r.out);
    noStack(r);
    assert.match(r.out, /SIGTERM/);
    assert.equal(existsSync(lock), false, 'the lock goes with its holder');
  });
}
