import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rungEpochs } from '../../src/sweep/asha.js';
import type { AshaDecision, LedgerData, SlurmJob } from '../../src/sweep/ledger.js';
import { epsilab, tinyConfig } from '../helpers/binary.js';
import { noSlurm, startSlurm } from '../helpers/slurm.js';
import { readLedger, until } from '../helpers/sweep.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

after(removeTempDirs);

/** A 4-trial ASHA sweep of the tiny config over the learning rate, rungs of 1 and 2 epochs, one trial at a time. */
function ashaSweep(executor = '{ type: local, max_parallel: 1 }'): { root: string; file: string; ledger: string } {
  const root = tempDir('asha');
  tinyConfig(root, 2);
  const file = join(root, 'asha.yaml');
  writeFileSync(
    file,
    `sweep: halving\nbase: tiny.yaml\ngrid: { schedule.initial: [0.3, 0.1, 0.03, 0.01] }\n` +
      `asha: { metric: test_loss, min_epochs: 1, max_epochs: 2, reduction_factor: 2 }\n` +
      `executor: ${executor}\noutput: { root: ${JSON.stringify(root)} }\n`,
  );
  return { root, file, ledger: join(root, 'halving', 'ledger.json') };
}

/** Every decision of the sweep, without its time: trial, rung, promoted or stopped, rank. */
const decisions = (d: LedgerData) =>
  Object.values(d.trials)
    .flatMap((e) => (e.asha?.decisions ?? []).map((x) => ({ slug: e.slug, ...x })))
    .sort((x, y) => x.at.localeCompare(y.at));
const untimed = (xs: (AshaDecision & { slug: string })[]) => xs.map(({ at: _at, ...rest }) => rest);

const epochsIn = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length;

test('rungs: min_epochs·η^k below max_epochs, then max_epochs', () => {
  assert.deepEqual(
    rungEpochs({ metric: 'test_error', mode: 'min', min_epochs: 1, max_epochs: 27, reduction_factor: 3 }),
    [1, 3, 9, 27],
  );
  assert.deepEqual(
    rungEpochs({ metric: 'test_error', mode: 'min', min_epochs: 2, max_epochs: 10, reduction_factor: 3 }),
    [2, 6, 10],
  );
});

test('an asha sweep refuses --no-wait (its next jobs are decided as jobs end), exit 2 saying what to do', async () => {
  const s = ashaSweep();
  const r = await epsilab(['sweep', s.file, '--no-wait']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /run it without --no-wait/);
  assert.ok(!existsSync(s.ledger), 'nothing ran');
});

test(
  'a sweep process killed in the middle of an ASHA sweep resumes with the same decisions, no epoch trained twice',
  { timeout: 300_000 },
  async () => {
    const whole = ashaSweep();
    const cut = ashaSweep();
    const uninterrupted = epsilab(['sweep', whole.file]);

    let pid = 0;
    const killed = epsilab(['sweep', cut.file], {}, { onStart: (p) => (pid = p) });
    const before = await until(
      () => {
        const d = existsSync(cut.ledger) ? decisions(readLedger(cut.ledger)) : [];
        return d.some((x) => x.decision === 'promoted') ? d : undefined;
      },
      'the first promotion',
      200_000,
    );
    process.kill(pid, 'SIGKILL');
    await killed;
    const resumed = await epsilab(['sweep', cut.file]);
    assert.equal(resumed.code, 0, resumed.out);
    const ran = await uninterrupted;
    assert.equal(ran.code, 0, ran.out);

    const after = decisions(readLedger(cut.ledger));
    assert.deepEqual(after.slice(0, before.length), before, 'the decisions made before the kill stand as they were');
    assert.deepEqual(
      untimed(after),
      untimed(decisions(readLedger(whole.ledger))),
      'the same decisions as without the kill',
    );
    assert.deepEqual(
      Object.values(readLedger(cut.ledger).trials).map((e) => e.asha!.decisions.filter((d) => d.rung === 0).length),
      [1, 1, 1, 1],
      'each trial was promoted or stopped at the first rung, once',
    );
    for (const e of Object.values(readLedger(cut.ledger).trials)) {
      const dir = join(cut.root, 'halving', e.dir);
      const rung = e.asha!.rung;
      assert.equal(epochsIn(dir), [1, 2][rung], `${e.slug} trained each of its epochs once`);
      const extended = existsSync(join(dir, 'history.jsonl')) ? readFileSync(join(dir, 'history.jsonl'), 'utf8') : '';
      assert.equal((extended.match(/"event":"extend"/g) ?? []).length, rung, `${e.slug}: one --extend per promotion`);
    }
    const status = await epsilab(['sweep', cut.file, '--status']);
    assert.match(status.out, /done \(asha: rung 2 of 2\)/);
    assert.match(status.out, /done \(asha: stopped at rung 1 of 2, rank \d of 4\)/);
  },
);

describe('ASHA on a real one-node Slurm', { skip: noSlurm }, () => {
  let slurm: Awaited<ReturnType<typeof startSlurm>>;
  before(async () => void (slurm = await startSlurm()));
  after(async () => slurm?.stop());

  test(
    'each rung of a trial is a Slurm job continuing the same folder; every trial ends promoted or stopped',
    { timeout: 300_000 },
    async () => {
      const s = ashaSweep('{ type: slurm, poll_s: 0.2, array_limit: 2 }');
      const ran = await epsilab(['sweep', s.file], { SLURM_CONF: slurm.env.SLURM_CONF! });
      assert.equal(ran.code, 0, ran.out);
      const entries = Object.values(readLedger(s.ledger).trials);
      for (const e of entries) {
        const rung = e.asha!.rung;
        assert.equal(e.state, 'done', e.slug);
        assert.equal(e.attempts, rung + 1, `${e.slug}: one Slurm job per rung`);
        assert.equal(new Set(e.history.map((h) => (h.job as SlurmJob).job_id)).size, rung + 1);
        assert.equal(epochsIn(join(s.root, 'halving', e.dir)), [1, 2][rung]);
        assert.equal(e.asha!.decisions.filter((d) => d.rung === 0).length, 1, e.slug);
      }
      assert.ok(entries.some((e) => e.asha!.decisions.some((d) => d.decision === 'stopped')));
      assert.ok(entries.some((e) => e.asha!.rung === 1));
    },
  );
});
