import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { addTrials, finishAttempt, Ledger, requeue, startAttempt, type LocalJob } from '../../src/sweep/ledger.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

after(removeTempDirs);

const job: LocalJob = { type: 'local', host: 'h', owner_pid: 1 };
const tempLedger = () => new Ledger(join(tempDir('ledger'), 'ledger.json'), 'sw');

test('a trial goes pending -> running -> failed -> running -> done, keeping every attempt', async () => {
  const ledger = tempLedger();
  assert.deepEqual(ledger.read().trials, {});
  await ledger.update((d) => addTrials(d, [{ id: 'a1', slug: 'x=1', dir: 'a1' }]));
  await ledger.update((d) => startAttempt(d, 'a1', job));
  await ledger.update((d) =>
    finishAttempt(d, 'a1', { state: 'failed', exit_code: 3, reason: 'exit code 3', log_tail: 'boom' }),
  );
  let e = ledger.read().trials.a1;
  assert.deepEqual([e.state, e.attempts, e.exit_code, e.log_tail], ['failed', 1, 3, 'boom']);
  await ledger.update((d) => startAttempt(d, 'a1', job));
  e = ledger.read().trials.a1;
  assert.deepEqual(
    [e.state, e.attempts, e.exit_code, e.log_tail],
    ['running', 2, undefined, undefined],
    'a new attempt clears the last outcome',
  );
  await ledger.update((d) => finishAttempt(d, 'a1', { state: 'done', exit_code: 0 }));
  e = ledger.read().trials.a1;
  assert.equal(e.state, 'done');
  assert.deepEqual(
    e.history.map((h) => [h.attempt, h.state, h.exit_code]),
    [
      [1, 'failed', 3],
      [2, 'done', 0],
    ],
  );
  assert.equal(e.history[0].reason, 'exit code 3', 'the failure stays on record after the retry succeeded');
});

test('a finished trial never starts again; only a running one finishes or is re-queued', async () => {
  const ledger = tempLedger();
  await ledger.update((d) => addTrials(d, [{ id: 'a', slug: 'a', dir: 'a' }]));
  await assert.rejects(
    ledger.update((d) => finishAttempt(d, 'a', { state: 'done' })),
    /is pending, not running/,
  );
  await assert.rejects(
    ledger.update((d) => requeue(d, 'a', 'why')),
    /cannot be re-queued/,
  );
  await ledger.update((d) => startAttempt(d, 'a', job));
  await assert.rejects(
    ledger.update((d) => startAttempt(d, 'a', job)),
    /is running; it cannot start again/,
  );
  await ledger.update((d) => requeue(d, 'a', 'its sweep process died'));
  assert.equal(ledger.read().trials.a.state, 'pending');
  await ledger.update((d) => startAttempt(d, 'a', job));
  await ledger.update((d) => finishAttempt(d, 'a', { state: 'done' }));
  await assert.rejects(
    ledger.update((d) => startAttempt(d, 'a', job)),
    /is done; it cannot start again/,
  );
  assert.equal(ledger.read().trials.a.state, 'done', 'a rejected change leaves the file as it was');
});

test('adding trials keeps the state of known ones and adds new ones as pending', async () => {
  const ledger = tempLedger();
  await ledger.update((d) => addTrials(d, [{ id: 'a', slug: 'e=1', dir: 'a' }]));
  await ledger.update((d) => (startAttempt(d, 'a', job), finishAttempt(d, 'a', { state: 'done' })));
  await ledger.update((d) =>
    addTrials(d, [
      { id: 'a', slug: 'e=1', dir: 'a' },
      { id: 'b', slug: 'e=2', dir: 'b' },
    ]),
  );
  const t = ledger.read().trials;
  assert.deepEqual([t.a.state, t.b.state], ['done', 'pending']);
});

test('concurrent writers in separate processes lose no update and leave no temporary file', async () => {
  const ledger = tempLedger();
  await ledger.update((d) => addTrials(d, [{ id: 'n', slug: 'n', dir: 'n' }]));
  const mod = fileURLToPath(new URL('../../src/sweep/ledger.js', import.meta.url));
  const script = `const { Ledger } = await import(${JSON.stringify(mod)});
const l = new Ledger(${JSON.stringify(ledger.file)}, 'sw');
for (let i = 0; i < 25; i++) await l.update((d) => { d.trials.n.attempts += 1; });`;
  await Promise.all([0, 1, 2, 3].map(() => execa(process.execPath, ['--input-type=module', '-e', script])));
  assert.equal(ledger.read().trials.n.attempts, 100);
  assert.deepEqual(readdirSync(join(ledger.file, '..')), ['ledger.json']);
});

test('a lock left by a dead process is taken over; a live holder is waited for', async () => {
  const ledger = tempLedger();
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => dead.on('exit', r));
  writeFileSync(`${ledger.file}.lock`, `${dead.pid}@${hostname()}`);
  await ledger.update((d) => addTrials(d, [{ id: 'a', slug: 'a', dir: 'a' }]));
  assert.equal(ledger.read().trials.a.state, 'pending');

  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600)']);
  writeFileSync(`${ledger.file}.lock`, `${holder.pid}@${hostname()}`);
  const t0 = Date.now();
  await ledger.update((d) => startAttempt(d, 'a', job));
  assert.ok(Date.now() - t0 >= 400, `waited ${Date.now() - t0} ms for the live holder`);
  assert.equal(ledger.read().trials.a.state, 'running');
});
