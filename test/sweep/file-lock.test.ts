import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from '../../src/sweep/file-lock.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

after(removeTempDirs);

test('the ledger lock holds its owner from the moment it exists, and is gone afterwards', async () => {
  const dir = tempDir('file-lock');
  const ledger = join(dir, 'ledger.json');
  const seen = await withFileLock(ledger, () => readFileSync(`${ledger}.lock`, 'utf8'));
  assert.equal(seen, `${process.pid}@${hostname()}`);
  assert.deepEqual(readdirSync(dir), [], 'no lock and no file written aside are left');
});

test('an empty lock (its creator killed, as older versions could leave it) is taken over once 10 s old, not before', async () => {
  const dir = tempDir('file-lock');
  const ledger = join(dir, 'ledger.json');
  writeFileSync(`${ledger}.lock`, '');
  await assert.rejects(
    withFileLock(ledger, () => 'taken', 300),
    /is held by another process; gave up after 0.3 s/,
  );
  const old = new Date(Date.now() - 11_000);
  utimesSync(`${ledger}.lock`, old, old);
  assert.equal(await withFileLock(ledger, () => 'taken', 300), 'taken');
});
