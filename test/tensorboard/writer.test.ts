import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { histogramBuckets } from '../../src/tensorboard/histogram.js';
import { readEvents, readScalars } from '../../src/tensorboard/reader.js';
import { splitRecords } from '../../src/tensorboard/record.js';
import { SummaryWriter } from '../../src/tensorboard/writer.js';
import { decodeRaw, floatBits, get, protocMissing, unescape, type RawMessage } from '../helpers/decode-raw.js';
import { tempDir } from '../helpers/tmp.js';

function writeSample(): SummaryWriter {
  const writer = new SummaryWriter(join(tempDir('tb'), 'run'));
  writer.scalar('train/loss', 2.5, 0);
  writer.scalar('train/loss', 0.1, 100);
  writer.text('config', '# ε-ResNet\n`depth: 110`', 0);
  writer.histogram(
    'weights/conv0',
    Float32Array.from({ length: 100 }, (_, i) => i),
    7,
    10,
  );
  writer.close();
  return writer;
}

test('event files are named as TensorBoard finds them, one per writer', () => {
  const dir = tempDir('tb');
  const a = new SummaryWriter(dir);
  const b = new SummaryWriter(dir);
  a.close();
  b.close();
  assert.match(basename(a.file), new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\..+\\.${process.pid}\\.\\d+$`));
  assert.notEqual(a.file, b.file);
  assert.equal(readdirSync(dir).length, 2);
});

test('the first record is the 24-byte brain.Event:2 record', () => {
  const bytes = readFileSync(writeSample().file);
  assert.equal(splitRecords(bytes).records[0].length, 24);
  assert.equal(bytes.readUInt32LE(8), 0x224b7fa3);
});

test('every record decodes with protoc into the fields TensorBoard reads', { skip: protocMissing }, () => {
  const raw = splitRecords(readFileSync(writeSample().file)).records.map(decodeRaw);
  assert.equal(raw.length, 5);
  assert.equal(get(raw[0], 3), '"brain.Event:2"');

  const value = (m: RawMessage) => get(m, 5, 1) as RawMessage;
  const [first, second, text, histogram] = raw.slice(1).map(value);
  assert.equal(get(raw[2], 2), '100');
  assert.equal(get(first, 1), '"train/loss"');
  assert.equal(get(first, 8, 1), '1', 'DT_FLOAT');
  assert.equal(get(first, 8, 5), floatBits(2.5));
  assert.equal(get(second, 8, 5), floatBits(0.1));
  assert.equal(get(first, 9, 1, 1), '"scalars"');
  assert.equal(get(first, 9, 4), '1', 'DATA_CLASS_SCALAR');
  assert.equal(get(second, 9), undefined, 'metadata only on the first value of a tag');

  assert.equal(get(text, 8, 1), '7', 'DT_STRING');
  assert.equal(unescape(get(text, 8, 8) as string).toString('utf8'), '# ε-ResNet\n`depth: 110`');
  assert.equal(get(text, 9, 1, 1), '"text"');

  assert.equal(get(histogram, 8, 1), '2', 'DT_DOUBLE');
  const dims = (get(histogram, 8, 2) as RawMessage)['2'].map((d) => get(d as RawMessage, 1));
  assert.deepEqual(dims, ['10', '3']);
  assert.equal(get(histogram, 9, 1, 1), '"histograms"');
  assert.equal(get(histogram, 9, 4), '2', 'DATA_CLASS_TENSOR');
});

test('our reader returns the scalars, text and histogram written', () => {
  const file = writeSample().file;
  assert.deepEqual(
    readScalars(file)
      .get('train/loss')
      ?.map(({ step, value }) => ({ step, value })),
    [
      { step: 0, value: 2.5 },
      { step: 100, value: Math.fround(0.1) },
    ],
  );
  const values = readEvents(file).events.flatMap((e) => e.summary?.value ?? []);
  assert.equal(Buffer.from(values[2].tensor!.string_val![0]).toString('utf8'), '# ε-ResNet\n`depth: 110`');
  const rows = values[3].tensor!.double_val!;
  assert.deepEqual(rows.slice(0, 3), [0, 9.9, 10]);
  assert.equal(
    rows.filter((_, i) => i % 3 === 2).reduce((a, b) => a + b),
    100,
  );
});

test('a file cut mid-record keeps every earlier event', () => {
  const file = writeSample().file;
  truncateSync(file, statSync(file).size - 3);
  const { events, tornTailBytes } = readEvents(file);
  assert.equal(events.length, 4);
  assert.ok(tornTailBytes > 0);
  assert.equal(readScalars(file).get('train/loss')?.length, 2);
});

test('histogram buckets: equal widths over [min, max], a single bucket for constants, none when empty', () => {
  const rows = histogramBuckets(Float32Array.of(0, 1, 2, 3, NaN), 3);
  assert.deepEqual(Array.from(rows), [0, 1, 1, 1, 2, 1, 2, 3, 2]);
  assert.deepEqual(Array.from(histogramBuckets(Float32Array.of(4, 4), 30)), [3.5, 4.5, 2]);
  assert.equal(histogramBuckets(new Float32Array(0), 30).length, 0);
});

test('writing after close is an error', () => {
  const writer = new SummaryWriter(tempDir('tb'));
  writer.close();
  assert.throws(() => writer.scalar('x', 1, 0), /is closed/);
});
