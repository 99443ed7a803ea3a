import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { noSlurm, startSlurm } from '../helpers/slurm.js';
import { noGloo, rankedConfig } from '../helpers/ranks.js';
import { recorder } from '../helpers/sweep.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const skip = noSlurm || noGloo;

describe('a data-parallel trial on a real one-node Slurm', { skip }, () => {
  let slurm: Awaited<ReturnType<typeof startSlurm>>;
  before(async () => {
    slurm = await startSlurm();
  });
  after(async () => {
    await slurm.stop();
    removeTempDirs();
  });

  test('tasks_per_trial: 2 runs the trial as one srun step of 2 ranks; rank 0 writes the run, rank 1 its log', async () => {
    const dir = tempDir('slurm-ranks');
    writeFileSync(join(dir, 'base.yaml'), rankedConfig('slurm-ranks', 2));
    writeFileSync(
      join(dir, 'sweep.yaml'),
      `sweep: ranks\nbase: base.yaml\ngrid: { model.epsilon: [0.5] }\n` +
        `executor: { type: slurm, tasks_per_trial: 2, cpus_per_task: 1, poll_s: 0.2 }\noutput: { root: ${JSON.stringify(dir)} }\n`,
    );
    const s = await runSweep({ file: join(dir, 'sweep.yaml'), env: slurm.env, observer: recorder() });
    const [entry] = s.entries;
    const trialDir = join(s.dir, entry.dir);
    const log = (name: string) => readFileSync(join(trialDir, name), 'utf8');
    assert.equal(entry.state, 'done', `${entry.reason}\n${log('trial.log')}`);
    const env = JSON.parse(log('env.json')) as { distributed: Record<string, unknown> };
    assert.equal(env.distributed.world_size, 2);
    assert.equal(env.distributed.launcher, 'slurm');
    assert.deepEqual(env.distributed.hosts, ['localhost', 'localhost']);
    assert.match(log('rank-1.log'), /data-parallel: rank 1 of 2 \(gloo\)/);
    assert.doesNotMatch(log('trial.log'), /rank 1 of 2/, "rank 1's lines stay in its own log");
    const metrics = log('metrics.jsonl').trim().split('\n');
    assert.equal(metrics.length, 2, 'one metrics line per epoch, written by rank 0 alone');
  });
});
