import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeExperiment, writeSessionEnd, writeSessionStart } from '../../src/tensorboard/hparams.js';
import { hparamsOf, readEvents } from '../../src/tensorboard/reader.js';
import { splitRecords } from '../../src/tensorboard/record.js';
import { SummaryWriter } from '../../src/tensorboard/writer.js';
import { decodeRaw, doubleBits, get, protocMissing, type RawMessage } from '../helpers/decode-raw.js';
import { tempDir } from '../helpers/tmp.js';

const started = new Date(1_700_000_000_000);

function writeSweep(): { root: string; trial: string } {
  const root = tempDir('hp');
  writeExperiment(root, {
    hparams: [
      { name: 'model.epsilon', type: 'number', domain: { min: 2, max: 2.5 } },
      { name: 'optimizer.type', type: 'string', domain: ['momentum', 'adam'] },
      { name: 'nesterov', type: 'boolean' },
    ],
    metrics: [{ tag: 'test/error' }, { tag: 'loss', group: '/validation' }],
    timeCreated: started,
  });
  const writer = new SummaryWriter(join(root, 'trial-0'));
  writeSessionStart(writer, {
    hparams: { 'model.epsilon': 2.5, 'optimizer.type': 'momentum', nesterov: true },
    group: 'g0',
    startTime: started,
  });
  writer.scalar('test/error', 0.05, 1);
  writeSessionEnd(writer, { status: 'success', endTime: new Date(started.getTime() + 60_000) });
  writer.close();
  return { root, trial: writer.file };
}

const onlyFile = (dir: string) => join(dir, readdirSync(dir).find((f) => f.includes('tfevents'))!);
const hparamsValue = (file: string, tag: string) =>
  readEvents(file)
    .events.flatMap((e) => e.summary?.value ?? [])
    .find((v) => v.tag === tag)!;
const rawRecords = (file: string) => splitRecords(readFileSync(file)).records.map(decodeRaw);
const rawValue = (file: string, tag: string) =>
  rawRecords(file)
    .map((m) => get(m, 5, 1) as RawMessage)
    .find((v) => v && get(v, 1) === `"${tag}"`)!;

test('session start records every hparam value, non-null, as protoc decodes it', { skip: protocMissing }, () => {
  const value = rawValue(writeSweep().trial, '_hparams_/session_start_info');
  assert.equal(get(value, 9, 1, 1), '"hparams"');
  assert.equal(get(value, 8, 1), '1', 'null tensor is DT_FLOAT');
  const start = get(value, 9, 1, 2, 3) as RawMessage;
  const entries = Object.fromEntries(
    start['1'].map((e) => [get(e as RawMessage, 1), get(e as RawMessage, 2) as RawMessage]),
  );
  assert.deepEqual(entries['"model.epsilon"'], { 2: [doubleBits(2.5)] }, 'number_value');
  assert.deepEqual(entries['"optimizer.type"'], { 3: ['"momentum"'] }, 'string_value');
  assert.deepEqual(entries['"nesterov"'], { 4: ['1'] }, 'bool_value');
  assert.equal(get(start, 4), '"g0"');
  assert.equal(get(start, 5), doubleBits(1_700_000_000));
});

test('session end and experiment decode with protoc', { skip: protocMissing }, () => {
  const { root, trial } = writeSweep();
  const end = get(rawValue(trial, '_hparams_/session_end_info'), 9, 1, 2, 4) as RawMessage;
  assert.equal(get(end, 1), '1', 'STATUS_SUCCESS');
  assert.equal(get(end, 2), doubleBits(1_700_000_060));

  const experiment = get(rawValue(onlyFile(root), '_hparams_/experiment'), 9, 1, 2, 2) as RawMessage;
  const infos = experiment['4'] as RawMessage[];
  assert.deepEqual(
    infos.map((i) => [get(i, 1), get(i, 4)]),
    [
      ['"model.epsilon"', '3'],
      ['"optimizer.type"', '1'],
      ['"nesterov"', '2'],
    ],
  );
  assert.equal(get(infos[0], 6, 2), doubleBits(2.5));
  assert.deepEqual((get(infos[1], 5) as RawMessage)['1'], [{ 3: ['"momentum"'] }, { 3: ['"adam"'] }]);
  const metrics = (experiment['5'] as RawMessage[]).map((m) => get(m, 1) as RawMessage);
  assert.deepEqual(metrics, [{ 2: ['"test/error"'] }, { 1: ['"/validation"'], 2: ['"loss"'] }]);
});

test('hparams records read back through our reader', () => {
  const { root, trial } = writeSweep();
  assert.deepEqual(hparamsOf(hparamsValue(trial, '_hparams_/session_start_info')), {
    session_start_info: {
      hparams: {
        'model.epsilon': { number_value: 2.5 },
        'optimizer.type': { string_value: 'momentum' },
        nesterov: { bool_value: true },
      },
      group_name: 'g0',
      start_time_secs: 1_700_000_000,
    },
  });
  assert.deepEqual(hparamsOf(hparamsValue(trial, '_hparams_/session_end_info')), {
    session_end_info: { status: 1, end_time_secs: 1_700_000_060 },
  });
  const experiment = hparamsOf(hparamsValue(onlyFile(root), '_hparams_/experiment')) as {
    experiment: { hparam_infos: unknown[] };
  };
  assert.equal(experiment.experiment.hparam_infos.length, 3);
});
