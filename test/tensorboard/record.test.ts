import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@aws-crypto/crc32c';
import { frameRecord, maskedCrc32c, splitRecords } from '../../src/tensorboard/record.js';

test('CRC-32C is the Castagnoli checksum', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('masked CRC matches a record from a real TensorFlow event file', () => {
  assert.equal(maskedCrc32c(Buffer.from('\x1a\x11CRC test, one two', 'latin1')), 0x5794d08a);
});

test('a 24-byte record carries the length CRC real TensorFlow writes for its brain.Event:2 record', () => {
  const record = frameRecord(new Uint8Array(24));
  assert.equal(record.length, 12 + 24 + 4);
  assert.equal(record.readBigUInt64LE(0), 24n);
  assert.equal(record.readUInt32LE(8), 0x224b7fa3);
});

test('records split back with both CRCs checked', () => {
  const payloads = ['a', 'bb', '', 'dddd'].map((s) => Buffer.from(s));
  const { records, tornTailBytes } = splitRecords(Buffer.concat(payloads.map(frameRecord)));
  assert.deepEqual(records, payloads);
  assert.equal(tornTailBytes, 0);
});

test('a record torn anywhere leaves the earlier records readable', () => {
  const whole = Buffer.concat([frameRecord(Buffer.from('first')), frameRecord(Buffer.from('second'))]);
  const firstLength = 12 + 5 + 4;
  for (let cut = firstLength; cut < whole.length; cut++) {
    const { records, tornTailBytes } = splitRecords(whole.subarray(0, cut));
    assert.deepEqual(records, [Buffer.from('first')], `cut at ${cut}`);
    assert.equal(tornTailBytes, cut - firstLength);
  }
});

test('a flipped bit is reported, not read as data', () => {
  const data = frameRecord(Buffer.from('payload'));
  data[14] ^= 1;
  assert.throws(() => splitRecords(data, 'f'), /f: data CRC mismatch in the record at byte 0/);
  const length = frameRecord(Buffer.from('payload'));
  length[0] ^= 1;
  assert.throws(() => splitRecords(length, 'f'), /length CRC mismatch/);
});
