import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runId } from '../../src/run/run-id.js';
import { readScalars } from '../../src/tensorboard/reader.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { recorder, workspace, writeSweepFile } from '../helpers/sweep.js';
import { removeTempDirs } from '../helpers/tmp.js';

after(removeTempDirs);

test('a 2 epsilon x 2 seed sweep of a tiny config runs `epsilab run` per trial to completion, and again runs nothing', async () => {
  const w = workspace();
  const file = writeSweepFile(
    w.dir,
    `sweep: e2e\nbase: tiny.yaml\ngrid: { model.epsilon: [0.5, 2.5] }\nseeds: [0, 1]\nexecutor: { type: local, max_parallel: 2 }\noutput: { root: ${w.dir} }\n`,
  );
  const s = await runSweep({ file, observer: recorder() });
  assert.deepEqual(
    s.counts,
    { pending: 0, running: 0, done: 4, failed: 0, cancelled: 0 },
    JSON.stringify(s.entries.map((e) => e.log_tail)),
  );
  for (const e of s.entries) {
    const dir = join(s.dir, e.dir);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { status: string; run_id: string };
    assert.deepEqual(
      [result.status, result.run_id],
      ['done', e.id],
      'the run used the trial folder and trained the planned config',
    );
    assert.equal(runId(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))), e.id);
    const events = readdirSync(dir).filter((f) => f.includes('tfevents'));
    const tags = new Set(events.flatMap((f) => [...readScalars(join(dir, f)).keys()]));
    assert.ok(tags.has('test/error'), "the HParams metric is a scalar of the trial's own folder");
  }
  const seen = recorder();
  const again = await runSweep({ file, observer: seen });
  assert.equal(again.counts.done, 4);
  assert.equal(seen.events.length, 0, 'finished trials are not run again');
});
