import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { hparamsOf, readEvents } from '../../src/tensorboard/reader.js';
import { runSweep } from '../../src/sweep/run-sweep.js';
import { readLedger, recorder, runsOf, scriptCommand, until, workspace, writeSweepFile } from '../helpers/sweep.js';
import { epsilab } from '../helpers/binary.js';
import { removeTempDirs } from '../helpers/tmp.js';

after(removeTempDirs);

/** A trial's ledger entry by its slug, once the sweep in `sweepDir` has one. */
function readLedgerEntry(sweepDir: string, slug: string) {
  const file = join(sweepDir, 'ledger.json');
  return existsSync(file) ? Object.values(readLedger(file).trials).find((e) => e.slug === slug) : undefined;
}

const sweepYaml = (root: string, epsilons: number[], parallel: number) =>
  `sweep: local\nbase: tiny.yaml\ngrid: { model.epsilon: [${epsilons.join(', ')}] }\nexecutor: { type: local, max_parallel: ${parallel}, kill_grace_s: 5 }\noutput: { root: ${root} }\n`;

test('no batch barrier: a free slot takes the next trial while a long one runs, never more than max_parallel at once', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3, 4], 2));
  const seen = recorder();
  const s = await runSweep({
    file,
    observer: seen,
    command: scriptCommand(w.script, (e) => ({ ms: e === 1 ? 4000 : 100 })),
  });
  assert.deepEqual(s.counts, { pending: 0, running: 0, done: 4, failed: 0, cancelled: 0 });
  const finished = seen.events.filter((e) => e.kind === 'finished').map((e) => e.slug);
  assert.equal(finished.at(-1), 'model.epsilon=1', `the short trials finished while the long one ran: ${finished}`);
  let running = 0;
  for (const e of seen.events) {
    running += e.kind === 'started' ? 1 : -1;
    assert.ok(running <= 2, 'at most max_parallel trials at once');
  }
});

test('trials running at once are told they share the cores (EPSILAB_CORES_SHARED_BY); one at a time, they are not', async () => {
  for (const parallel of [2, 1]) {
    const w = workspace();
    const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2], parallel));
    const s = await runSweep({ file, observer: recorder(), command: scriptCommand(w.script, () => ({ ms: 50 })) });
    for (const e of s.entries)
      assert.match(
        readFileSync(join(s.dir, e.dir, 'trial.log'), 'utf8'),
        new RegExp(`cores shared by ${parallel === 1 ? 'none' : parallel}\\n`),
      );
  }
});

test('a trial that exits non-zero is recorded failed with its exit code and log tail; the others still finish', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3], 2));
  const s = await runSweep({
    file,
    observer: recorder(),
    command: scriptCommand(w.script, (e) => ({ ms: 50, code: e === 2 ? 3 : 0 })),
  });
  assert.deepEqual(s.counts, { pending: 0, running: 0, done: 2, failed: 1, cancelled: 0 });
  const failed = s.entries.find((e) => e.state === 'failed')!;
  assert.equal(failed.slug, 'model.epsilon=2');
  assert.equal(failed.exit_code, 3);
  assert.equal(failed.reason, 'exit code 3');
  assert.match(failed.log_tail!, /training in .*\nboom: loss is nan at step 7$/);
  assert.match(readFileSync(join(s.dir, failed.dir, 'trial.log'), 'utf8'), /^=== attempt 1 on /);
});

test('cancelling stops running trials with SIGTERM (they checkpoint) and records them cancelled; the rest stay pending', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3], 2));
  const controller = new AbortController();
  const t0 = Date.now();
  const sweep = runSweep({
    file,
    observer: recorder(),
    cancel: controller.signal,
    command: scriptCommand(w.script, () => ({ ms: 30_000 })),
  });
  const root = join(w.dir, 'local');
  const running = () =>
    readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && runsOf(join(root, d.name)) === 1)
      .length;
  await until(() => existsSync(root) && running() === 2, 'two trials running');
  controller.abort();
  const s = await sweep;
  assert.ok(Date.now() - t0 < 15_000, 'cancelled without waiting for the trials');
  assert.deepEqual(s.counts, { pending: 1, running: 0, done: 0, failed: 0, cancelled: 2 });
  for (const e of s.entries.filter((x) => x.state === 'cancelled')) {
    assert.equal(e.reason, 'cancelled by the sweep');
    assert.equal(e.exit_code, 130);
    assert.match(e.log_tail!, /SIGTERM: checkpoint written/);
  }
});

test('running the sweep again runs only what is not done: failed trials again, new grid values, nothing finished twice', async () => {
  const w = workspace();
  const failTwo = scriptCommand(w.script, (e) => ({ ms: 50, code: e === 2 ? 1 : 0 }));
  const first = await runSweep({
    file: writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2], 2)),
    observer: recorder(),
    command: failTwo,
  });
  assert.deepEqual([first.counts.done, first.counts.failed], [1, 1]);
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3], 2));
  const again = await runSweep({ file, observer: recorder(), command: scriptCommand(w.script, () => ({ ms: 50 })) });
  assert.equal(again.counts.done, 3);
  assert.deepEqual(
    again.entries.map((e) => [e.slug, e.attempts, runsOf(join(again.dir, e.dir))]),
    [
      ['model.epsilon=1', 1, 1],
      ['model.epsilon=2', 2, 2],
      ['model.epsilon=3', 1, 1],
    ],
  );

  // TensorBoard: one experiment summary at the root naming all three values; one session file per trial, up to date
  const events = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.includes('tfevents'))
      .map((f) => join(dir, f));
  const hparams = (file: string) =>
    readEvents(file)
      .events.flatMap((e) => e.summary?.value ?? [])
      .map(hparamsOf);
  const [experimentFile, ...others] = events(again.dir);
  assert.equal(others.length, 0);
  const experiment = hparams(experimentFile)[0] as {
    experiment: { hparam_infos: { name: string; domain_discrete: unknown }[]; metric_infos: unknown[] };
  };
  assert.equal(experiment.experiment.hparam_infos[0].name, 'model.epsilon');
  assert.deepEqual(experiment.experiment.hparam_infos[0].domain_discrete, {
    values: [{ number_value: 1 }, { number_value: 2 }, { number_value: 3 }],
  });
  const retried = join(again.dir, again.entries[1].dir);
  const sessions = events(retried);
  assert.equal(sessions.length, 1, "the failed attempt's session was replaced");
  const [start, end] = hparams(sessions[0]) as [
    { session_start_info: { hparams: object; group_name: string } },
    { session_end_info: { status: number } },
  ];
  assert.deepEqual(start.session_start_info.hparams, { 'model.epsilon': { number_value: 2 } });
  assert.equal(start.session_start_info.group_name, 'model.epsilon=2');
  assert.equal(end.session_end_info.status, 1, 'STATUS_SUCCESS');
});

test('a sweep process killed with SIGKILL mid-way and started again completes: no finished trial runs twice', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2, 3, 4], 2));
  const runSweepModule = fileURLToPath(new URL('../../src/sweep/run-sweep.js', import.meta.url));
  const driver = `const { runSweep } = await import(${JSON.stringify(runSweepModule)});
const quiet = { started() {}, finished() {}, note() {} };
const s = await runSweep({ file: process.argv[1], observer: quiet, command: (t) => [process.execPath, process.argv[2], t.dir, '1500', '0'] });
process.exit(s.counts.done === s.entries.length ? 0 : 1);`;
  const args = ['--input-type=module', '-e', driver, file, w.script];
  const ledgerFile = join(w.dir, 'local', 'ledger.json');
  const killed = execa(process.execPath, args, { reject: false });
  await until(() => {
    try {
      const states = Object.values(readLedger(ledgerFile).trials).map((e) => e.state);
      return states.includes('done') && states.includes('running');
    } catch {
      return false;
    }
  }, 'a finished and a running trial');
  killed.kill('SIGKILL');
  assert.equal((await killed).signal, 'SIGKILL');
  const before = readLedger(ledgerFile);
  const doneBefore = Object.values(before.trials)
    .filter((e) => e.state === 'done')
    .map((e) => e.id);
  const resumed = await execa(process.execPath, args, { reject: false });
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  const after = readLedger(ledgerFile);
  assert.ok(Object.values(after.trials).every((e) => e.state === 'done'));
  for (const e of Object.values(after.trials))
    assert.equal(runsOf(join(w.dir, 'local', e.dir)), 1, `${e.slug} trained once`);
  for (const id of doneBefore) assert.equal(after.trials[id].attempts, 1, 'a finished trial was not started again');
  const taken = Object.values(after.trials).filter((e) => e.history.some((h) => h.reason?.includes('sweep process')));
  assert.ok(taken.length >= 1, "the killed sweep's running trials were taken over");
});

test('a second copy of a running sweep is refused with exit 2 naming the first; the first finishes untouched', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, sweepYaml(w.dir, [1, 2], 2));
  const first = runSweep({ file, observer: recorder(), command: scriptCommand(w.script, () => ({ ms: 3000 })) });
  const ledgerFile = join(w.dir, 'local', 'ledger.json');
  await until(
    () => existsSync(ledgerFile) && Object.values(readLedger(ledgerFile).trials).some((e) => e.state === 'running'),
    'a running trial',
  );
  const second = await epsilab(['sweep', file], {}, {}, { seconds: 60, memoryMb: 2048 });
  assert.equal(second.code, 2, second.out);
  assert.match(
    second.out,
    new RegExp(
      `local is in use by \`epsilab sweep\` \\(pid ${process.pid} on .*: one process at a time may run a sweep`,
    ),
  );
  assert.doesNotMatch(second.out, /failed|internal error/);
  const s = await first;
  assert.deepEqual(s.counts, { pending: 0, running: 0, done: 2, failed: 0, cancelled: 0 });
  for (const e of s.entries) assert.equal(e.attempts, 1, `${e.slug} ran once`);
  assert.ok(!existsSync(join(w.dir, 'local', 'sweep.lock')), 'the lock goes with the sweep');
});

test('retries: a trial killed with SIGKILL runs again with every attempt kept; exit 1 and exit 2 are not retried', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, `retries: 2\n${sweepYaml(w.dir, [1, 2, 3], 3)}`);
  const seen = recorder();
  const sweep = runSweep({
    file,
    observer: seen,
    command: scriptCommand(w.script, (e) => (e === 1 ? { ms: 60_000 } : { ms: 50, code: e === 2 ? 1 : 2 })),
  });
  const sweepDir = join(w.dir, 'local');
  const first = await until(() => {
    const e = readLedgerEntry(sweepDir, 'model.epsilon=1');
    return e && runsOf(join(sweepDir, e.dir)) === 1 ? join(sweepDir, e.dir) : undefined;
  }, 'the long trial running');
  // As the kernel's OOM killer would; the retry finds the trial's work done (the stand-in's done file)
  const pid = Number(readFileSync(join(first, 'runs.txt'), 'utf8').trim());
  writeFileSync(join(first, 'done'), '');
  process.kill(pid, 'SIGKILL');
  const s = await sweep;
  const bySlug = Object.fromEntries(s.entries.map((e) => [e.slug, e]));
  const retried = bySlug['model.epsilon=1'];
  assert.equal(retried.state, 'done');
  assert.equal(retried.attempts, 2);
  assert.deepEqual(
    retried.history.map((h) => [h.state, h.signal, h.infrastructure]),
    [
      ['failed', 'SIGKILL', true],
      ['done', undefined, undefined],
    ],
  );
  assert.ok(
    seen.notes.some((n) => /model\.epsilon=1: killed by SIGKILL; retrying \(attempt 2 of 3\)/.test(n)),
    seen.notes.join('\n'),
  );
  for (const slug of ['model.epsilon=2', 'model.epsilon=3']) {
    assert.equal(bySlug[slug].state, 'failed');
    assert.equal(bySlug[slug].attempts, 1, `${slug} (exit ${bySlug[slug].exit_code}) is not retried`);
  }
});

test('fail_fast: the first trial that fails for good cancels the running ones and starts nothing more', async () => {
  const w = workspace();
  const file = writeSweepFile(w.dir, `fail_fast: true\n${sweepYaml(w.dir, [1, 2, 3, 4], 2)}`);
  const seen = recorder();
  const t0 = Date.now();
  const s = await runSweep({
    file,
    observer: seen,
    command: scriptCommand(w.script, (e) => (e === 2 ? { ms: 300, code: 1 } : { ms: 60_000 })),
  });
  assert.ok(Date.now() - t0 < 30_000, 'the long trial was cancelled, not waited for');
  assert.deepEqual(
    s.entries.map((e) => [e.slug, e.state]),
    [
      ['model.epsilon=1', 'cancelled'],
      ['model.epsilon=2', 'failed'],
      ['model.epsilon=3', 'pending'],
      ['model.epsilon=4', 'pending'],
    ],
  );
  assert.ok(
    seen.notes.some((n) => n.startsWith('fail_fast: model.epsilon=2 failed (exit code 1)')),
    seen.notes.join('\n'),
  );
});
