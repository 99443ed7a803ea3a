import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { InputPipeline, type HostBatch, type PipelineOptions } from '../../src/data/pipeline.js';
import { ArrayImageSet, FileImageSet } from '../../src/data/image-set.js';
import { syntheticImages } from '../../src/data/synthetic.js';
import { pathToFileURL } from 'node:url';
import type { Component } from '../../src/registry/component.js';
import { builtinRegistry } from '../../src/components/index.js';
import { resolveTransforms } from '../../src/data/transform-chain.js';
import { tempDir } from '../helpers/tmp.js';
import { resolve } from '../helpers/components.js';

const train = syntheticImages({ size: 50, numClasses: 5, shape: [8, 8, 3], noise: 20, seed: 1, split: 0 });
const testSet = syntheticImages({ size: 12, numClasses: 5, shape: [8, 8, 3], noise: 20, seed: 1, split: 1 });
const augment = [
  { type: 'pad-crop', pad: 2 },
  { type: 'flip', horizontal: 0.5, vertical: 0.5 },
  { type: 'per-pixel-mean' },
];

function pipeline(o: Partial<PipelineOptions> = {}): InputPipeline {
  return new InputPipeline({
    set: train,
    transforms: resolve(augment),
    batchSize: 8,
    shuffle: true,
    seed: 7,
    workers: 0,
    fit: { train, test: testSet },
    ...o,
  });
}

async function collect(p: InputPipeline, epoch: number, start = 0): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of p.batches(epoch, start)) out.push(b);
  return out;
}

const key = (b: HostBatch) => ({ step: b.step, shape: b.shape, y: Array.from(b.y), x: Array.from(b.x) });

test('batches are NHWC float32 with labels, one epoch covering every image once', async () => {
  const p = pipeline();
  const batches = await collect(p, 0);
  assert.equal(p.stepsPerEpoch(), 7);
  assert.deepEqual(
    batches.map((b) => b.shape),
    [...Array(6).fill([8, 8, 8, 3]), [2, 8, 8, 3]],
  );
  assert.deepEqual(
    batches.map((b) => b.step),
    [0, 1, 2, 3, 4, 5, 6],
  );
  const labels = batches.flatMap((b) => Array.from(b.y)).sort();
  assert.deepEqual(labels, Array.from(train.labels).sort());
  assert.ok(batches[0].x instanceof Float32Array && batches[0].y instanceof Int32Array);
  await p.close();
});

test('the same seed gives the same batches; another epoch or seed gives others', async () => {
  const a = await collect(pipeline(), 2);
  const b = await collect(pipeline(), 2);
  assert.deepEqual(a.map(key), b.map(key));
  assert.notDeepEqual((await collect(pipeline(), 3)).map(key), a.map(key));
  assert.notDeepEqual((await collect(pipeline({ seed: 8 }), 2)).map(key), a.map(key));
});

test('resuming at (epoch 1, step 3) yields exactly the rest of an uninterrupted epoch 1', async () => {
  const full = await collect(pipeline(), 1);
  const resumed = await collect(pipeline(), 1, 3);
  assert.deepEqual(resumed.map(key), full.slice(3).map(key));
});

test('worker threads make the same batches as the calling thread, resumed or not', async () => {
  const sync = await collect(pipeline(), 1);
  for (const workers of [1, 2]) {
    const p = pipeline({ workers, prefetch: 2 });
    assert.deepEqual((await collect(p, 1)).map(key), sync.map(key), `${workers} worker(s)`);
    assert.equal(p.threaded, true);
    assert.deepEqual((await collect(p, 1, 3)).map(key), sync.slice(3).map(key), `${workers} worker(s), resumed`);
    await p.close();
  }
});

test('leaving an epoch early and starting another keeps batches in order', async () => {
  const p = pipeline({ workers: 1 });
  for await (const b of p.batches(0)) if (b.step === 1) break;
  const sync = await collect(pipeline(), 4, 2);
  assert.deepEqual((await collect(p, 4, 2)).map(key), sync.map(key));
  await p.close();
});

test('drop_remainder drops the last partial batch; steps_per_epoch caps the epoch', async () => {
  const dropped = await collect(pipeline({ dropRemainder: true }), 0);
  assert.equal(dropped.length, 6);
  assert.ok(dropped.every((b) => b.shape[0] === 8));
  const capped = pipeline({ stepsPerEpoch: 3 });
  assert.equal(capped.stepsPerEpoch(), 3);
  assert.equal((await collect(capped, 0)).length, 3);
  assert.throws(
    () => pipeline({ batchSize: 64, dropRemainder: true }),
    /no batches: 50 images with drop_remainder and batch size 64/,
  );
});

test('without shuffling, evaluation batches follow file order and use the train+test per-pixel mean', async () => {
  const p = new InputPipeline({
    set: testSet,
    transforms: resolve([{ type: 'per-pixel-mean', scale: 1 }]),
    batchSize: 5,
    shuffle: false,
    seed: 0,
    workers: 0,
    fit: { train, test: testSet },
  });
  const batches = await collect(p, 0);
  assert.deepEqual(
    batches.flatMap((b) => Array.from(b.y)),
    Array.from(testSet.labels),
  );
  const mean = new Float64Array(192);
  for (const set of [train, testSet])
    for (let i = 0; i < set.size; i++) set.image(i).data.forEach((v, k) => (mean[k] += v / 62));
  const x0 = batches[0].x.subarray(0, 192);
  x0.forEach((v, k) => assert.ok(Math.abs(v - (testSet.image(0).data[k] - mean[k])) < 1e-3));
});

test('images of different sizes need a resize or crop before batching', async () => {
  const dir = tempDir('pipeline');
  const files = [3, 4].map((w) => {
    mkdirSync(join(dir, 'c'), { recursive: true });
    const png = new pngjs.PNG({ width: w, height: 3 });
    png.data.fill(90);
    writeFileSync(join(dir, 'c', `${w}.png`), pngjs.PNG.sync.write(png));
    return join(dir, 'c', `${w}.png`);
  });
  const set = new FileImageSet(files, Int32Array.of(0, 0), 3);
  await assert.rejects(
    collect(new InputPipeline({ set, transforms: resolve([]), batchSize: 2, shuffle: false, seed: 0, workers: 0 }), 0),
    /c\/4\.png: 3×4×3 after the transforms, the others in its batch are 3×3×3/,
  );
  const cropped = new InputPipeline({
    set,
    transforms: resolve([{ type: 'center-crop', size: 2 }]),
    batchSize: 2,
    shuffle: false,
    seed: 0,
    workers: 1,
  });
  const [b] = await collect(cropped, 0);
  assert.deepEqual(b.shape, [2, 2, 2, 3]);
  assert.ok(b.x.every((v) => v === 90));
  await cropped.close();
});

test('a failing transform in a worker surfaces as an error of the iteration', async () => {
  const tiny = new ArrayImageSet(new Uint8Array(4 * 2 * 2), Int32Array.of(0, 1, 0, 1), [2, 2, 1]);
  const p = new InputPipeline({
    set: tiny,
    transforms: resolve([{ type: 'random-crop', size: 3 }]),
    batchSize: 2,
    shuffle: false,
    seed: 0,
    workers: 1,
  });
  await assert.rejects(collect(p, 0), /input pipeline worker: random crop 1 pixels larger than the image/);
  await p.close();
});

test('a transform that learns from data needs the dataset splits to fit on', async () => {
  const p = new InputPipeline({
    set: testSet,
    transforms: resolve([{ type: 'flip' }, { type: 'per-pixel-mean' }]),
    batchSize: 4,
    shuffle: false,
    seed: 0,
    workers: 0,
  });
  await assert.rejects(
    collect(p, 0),
    /transform per-pixel-mean learns from data: give the input pipeline `fit: \{train, test\}`/,
  );
});

test('a plugin transform resolves through the registry that holds it, on the calling thread and in workers', async () => {
  mkdirSync('.cache', { recursive: true });
  const dir = mkdtempSync(join(process.cwd(), '.cache', 'plugin-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plus.mjs');
  writeFileSync(
    file,
    `import { Type } from '@sinclair/typebox';
export const plus = { kind: 'transform', type: 'plus', doc: 'Adds a constant.',
  params: Type.Object({ add: Type.Number({ default: 1, description: 'Added to every pixel.' }) }, { additionalProperties: false }),
  build: (p) => ({ apply: (img) => ({ ...img, data: img.data.map((v) => v + p.add) }), outputShape: (s) => s }) };
`,
  );
  const url = pathToFileURL(file).href;
  const { plus } = (await import(url)) as { plus: Component };
  const registry = builtinRegistry.with([plus], new Map([[plus, url]]));
  const tiny = new ArrayImageSet(Uint8Array.of(1, 2, 3, 4), Int32Array.of(0, 1, 0, 1), [1, 1, 1]);
  for (const workers of [0, 1]) {
    const p = new InputPipeline({
      set: tiny,
      transforms: resolveTransforms(registry, [
        { type: 'plus', add: 10 },
        { type: 'scale', divisor: 0.5 },
      ]),
      batchSize: 4,
      shuffle: false,
      seed: 0,
      workers,
    });
    const [b] = await collect(p, 0);
    assert.deepEqual(Array.from(b.x), [22, 24, 26, 28]);
    assert.equal(p.threaded, workers === 1);
    await p.close();
  }
  const unplaced = new InputPipeline({
    set: tiny,
    transforms: resolveTransforms(builtinRegistry.with([plus]), [{ type: 'plus' }]),
    batchSize: 4,
    shuffle: false,
    seed: 0,
    workers: 1,
  });
  assert.deepEqual(Array.from((await collect(unplaced, 0))[0].x), [2, 3, 4, 5]);
  assert.match(unplaced.fallbackReason ?? '', /transform plus was registered without its module/);
});
