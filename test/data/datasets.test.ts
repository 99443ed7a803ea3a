import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pngjs from 'pngjs';
import type { DatasetSplits } from '../../src/data/types.js';
import { encodeIdx } from '../../src/data/idx.js';
import { fashionMnist } from '../../src/components/dataset/fashion-mnist.js';
import { mnist } from '../../src/components/dataset/mnist.js';
import { cifar10 } from '../../src/components/dataset/cifar10.js';
import { cifar100 } from '../../src/components/dataset/cifar100.js';
import { svhn } from '../../src/components/dataset/svhn.js';
import { imageFolder } from '../../src/components/dataset/image-folder.js';
import { synthetic } from '../../src/components/dataset/synthetic.js';
import { build, context } from '../helpers/components.js';
import { cifarRecords, svhnMat } from '../helpers/data-files.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('datasets');
process.env.EPSILAB_DATA = join(root, 'cache');

/** Writes an MNIST-style folder: n train and m test 28×28 images whose first pixel is their index, labels cycling 0..9. */
function writeIdxFolder(dir: string, n: number, m: number, gz: boolean): void {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, dims: number[], data: Uint8Array) =>
    writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(encodeIdx(dims, data)) : encodeIdx(dims, data));
  for (const [prefix, count] of [
    ['train', n],
    ['t10k', m],
  ] as const) {
    const images = new Uint8Array(count * 784);
    for (let i = 0; i < count; i++) images[i * 784] = i;
    write(`${prefix}-images-idx3-ubyte`, [count, 28, 28], images);
    write(
      `${prefix}-labels-idx1-ubyte`,
      [count],
      Uint8Array.from({ length: count }, (_, i) => i % 10),
    );
  }
}

test('fashion-mnist reads gzipped IDX from a path relative to the config folder', async () => {
  writeIdxFolder(join(root, 'configs', 'fm'), 30, 20, true);
  const ds = await build<DatasetSplits>(fashionMnist, { path: 'fm', download: false }, context(join(root, 'configs')));
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.size, 30);
  assert.equal(ds.test.size, 20);
  assert.deepEqual(ds.train.shape, [28, 28, 1]);
  assert.equal(ds.train.image(17).data[0], 17);
  assert.equal(ds.test.labels[13], 3);
});

test('mnist reads plain (not gzipped) IDX files from the cache folder', async () => {
  writeIdxFolder(join(root, 'cache', 'mnist'), 12, 5, false);
  const ds = await build<DatasetSplits>(mnist, { download: false }, context(root));
  assert.equal(ds.source, join(root, 'cache', 'mnist'));
  assert.equal(ds.train.size, 12);
  assert.equal(ds.train.image(11).data[0], 11);
});

test('subsets: first N keeps file order; N per class is class-balanced', async () => {
  writeIdxFolder(join(root, 'fm2'), 40, 20, true);
  const ds = await build<DatasetSplits>(
    fashionMnist,
    { path: join(root, 'fm2'), download: false, subset: { train: { per_class: 2 }, test: { first: 7 } } },
    context(root),
  );
  assert.equal(ds.train.size, 20);
  const counts = new Map<number, number>();
  ds.train.labels.forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
  assert.deepEqual([...counts.values()], Array(10).fill(2));
  assert.deepEqual(
    Array.from({ length: 20 }, (_, i) => ds.train.image(i).data[0]),
    [...Array(20).keys()],
  );
  assert.deepEqual(Array.from(ds.test.labels), [0, 1, 2, 3, 4, 5, 6]);
});

test('a missing dataset names every place looked and how to get it', async () => {
  await assert.rejects(build(cifar100, { download: false }, context(root)), (err: Error) => {
    assert.equal(err.name, 'DatasetNotFoundError');
    assert.match(err.message, /CIFAR-100 \(binary version\) not found/);
    assert.ok(err.message.includes(`${join(root, 'cache', 'cifar100')} (cache): does not exist`), err.message);
    assert.match(err.message, /Downloading is off \(download: false\)/);
    assert.match(err.message, /cifar-100-binary\.tar\.gz/);
    return true;
  });
  await assert.rejects(build(fashionMnist, { path: 'nowhere' }, context(root)), (err: Error) => {
    assert.ok(err.message.includes(`${join(root, 'nowhere')} (configured path): does not exist`), err.message);
    assert.match(err.message, /apt-get install dataset-fashion-mnist/);
    return true;
  });
});

test('a folder with some files missing lists the missing ones', async () => {
  mkdirSync(join(root, 'partial'), { recursive: true });
  writeFileSync(join(root, 'partial', 'train-images-idx3-ubyte.gz'), '');
  await assert.rejects(
    build(mnist, { path: join(root, 'partial') }, context(root)),
    /missing train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz/,
  );
});

test('cifar10 finds the batches in the folder the official archive extracts to', async () => {
  const dir = join(root, 'cache', 'cifar10', 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const { bytes, pixel } = cifarRecords([[1], [2]]);
  for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `data_batch_${i}.bin`), bytes);
  writeFileSync(join(dir, 'test_batch.bin'), bytes.subarray(0, 3073));
  const ds = await build<DatasetSplits>(cifar10, {}, context(root));
  assert.equal(ds.train.size, 10);
  assert.equal(ds.test.size, 1);
  assert.deepEqual(Array.from(ds.train.labels), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
  assert.equal(ds.train.image(3).data[(4 * 32 + 5) * 3 + 1], pixel(1, 4, 5, 1));
});

test('cifar100 uses the fine label by default and coarse on request', async () => {
  const dir = join(root, 'c100');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'train.bin'),
    cifarRecords([
      [3, 55],
      [7, 12],
    ]).bytes,
  );
  writeFileSync(join(dir, 'test.bin'), cifarRecords([[1, 99]]).bytes);
  const fine = await build<DatasetSplits>(cifar100, { path: dir }, context(root));
  assert.equal(fine.numClasses, 100);
  assert.deepEqual(Array.from(fine.train.labels), [55, 12]);
  const coarse = await build<DatasetSplits>(cifar100, { path: dir, label: 'coarse' }, context(root));
  assert.equal(coarse.numClasses, 20);
  assert.deepEqual(Array.from(coarse.test.labels), [1]);
});

test('svhn trains on train+extra unless use_extra is false', async () => {
  const dir = join(root, 'svhn');
  mkdirSync(dir, { recursive: true });
  const pixel = (n: number) => n;
  writeFileSync(join(dir, 'train_32x32.mat'), svhnMat([1, 2], pixel, { compress: true, labelStorage: 'uint8' }));
  writeFileSync(join(dir, 'extra_32x32.mat'), svhnMat([0, 0, 5], pixel, { compress: true, labelStorage: 'uint8' }));
  writeFileSync(join(dir, 'test_32x32.mat'), svhnMat([0], pixel, { compress: true, labelStorage: 'double' }));
  const all = await build<DatasetSplits>(svhn, { path: dir }, context(root));
  assert.deepEqual(Array.from(all.train.labels), [1, 2, 0, 0, 5]);
  assert.deepEqual(Array.from(all.test.labels), [0]);
  const plain = await build<DatasetSplits>(svhn, { path: dir, use_extra: false }, context(root));
  assert.equal(plain.train.size, 2);
});

test('image-folder builds train and val splits sharing the training classes', async () => {
  const base = join(root, 'imgs');
  for (const [split, cls] of [
    ['train', 'ant'],
    ['train', 'bee'],
    ['val', 'bee'],
  ]) {
    mkdirSync(join(base, split, cls), { recursive: true });
    const png = new pngjs.PNG({ width: 4, height: 4 });
    png.data.fill(128);
    writeFileSync(join(base, split, cls, `${cls}.png`), pngjs.PNG.sync.write(png));
  }
  const logs: string[] = [];
  const ds = await build<DatasetSplits>(imageFolder, { path: base }, context(root, logs));
  assert.equal(ds.numClasses, 2);
  assert.deepEqual(Array.from(ds.test.labels), [1]);
  assert.match(logs[0], /2 classes, 2 training and 1 test images/);
  await assert.rejects(
    build(imageFolder, { path: join(root, 'no-images') }, context(root)),
    /Image folder dataset not found/,
  );
});

test('channel_order bgr delivers B, G, R as cv2.imread does: image files decode reversed, in-memory sets are reversed once', async () => {
  const base = join(root, 'bgr-imgs');
  for (const split of ['train', 'val']) {
    mkdirSync(join(base, split, 'cls'), { recursive: true });
    const png = new pngjs.PNG({ width: 2, height: 1 });
    png.data.set([10, 20, 30, 255, 40, 50, 60, 255]);
    writeFileSync(join(base, split, 'cls', 'a.png'), pngjs.PNG.sync.write(png));
  }
  const rgb = await build<DatasetSplits>(imageFolder, { path: base }, context(root));
  const bgr = await build<DatasetSplits>(imageFolder, { path: base, channel_order: 'bgr' }, context(root));
  assert.deepEqual(Array.from(rgb.train.image(0).data), [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(Array.from(bgr.train.image(0).data), [30, 20, 10, 60, 50, 40]);
  assert.deepEqual(Array.from(bgr.test.image(0).data), [30, 20, 10, 60, 50, 40]);
  const { describeImageSet, restoreImageSet } = await import('../../src/data/image-set.js');
  const inWorker = restoreImageSet(describeImageSet(bgr.train) as Exclude<ReturnType<typeof describeImageSet>, string>);
  assert.deepEqual(
    Array.from(inWorker.image(0).data),
    [30, 20, 10, 60, 50, 40],
    'a pipeline worker reads the same order',
  );
  const cifarRgb = await build<DatasetSplits>(cifar10, {}, context(root));
  const cifarBgr = await build<DatasetSplits>(
    cifar10,
    { channel_order: 'bgr', subset: { train: { first: 3 } } },
    context(root),
  );
  const [a, b] = [cifarRgb.train.image(2).data, cifarBgr.train.image(2).data];
  for (const p of [0, 7, 1023])
    assert.deepEqual([b[3 * p], b[3 * p + 1], b[3 * p + 2]], [a[3 * p + 2], a[3 * p + 1], a[3 * p]]);
});

test('synthetic data is reproducible per seed and balanced across classes', async () => {
  const a = await build<DatasetSplits>(
    synthetic,
    { train_size: 40, test_size: 10, num_classes: 4, height: 8, width: 8, seed: 5 },
    context(root),
  );
  const b = await build<DatasetSplits>(
    synthetic,
    { train_size: 40, test_size: 10, num_classes: 4, height: 8, width: 8, seed: 5 },
    context(root),
  );
  const c = await build<DatasetSplits>(
    synthetic,
    { train_size: 40, test_size: 10, num_classes: 4, height: 8, width: 8, seed: 6 },
    context(root),
  );
  assert.deepEqual(a.train.pixels, b.train.pixels);
  assert.notDeepEqual(a.train.pixels, c.train.pixels);
  assert.deepEqual(a.train.shape, [8, 8, 3]);
  assert.deepEqual(Array.from(a.train.labels.subarray(0, 8)), [0, 1, 2, 3, 0, 1, 2, 3]);
  // Class structure: images of one class are nearer each other than images of different classes.
  const dist = (i: number, j: number) =>
    a.train.image(i).data.reduce((s, v, k) => s + (v - a.train.image(j).data[k]) ** 2, 0);
  assert.ok(dist(0, 4) < dist(0, 1) && dist(1, 5) < dist(1, 2), 'same-class images are closer');
});

test('the committed quickstart subset reads as 6,000 + 1,000 balanced Fashion-MNIST images', async () => {
  const ds = await build<DatasetSplits>(
    fashionMnist,
    { path: 'data/fashion-mnist-subset', download: false },
    context(root),
  );
  assert.equal(ds.train.size, 6000);
  assert.equal(ds.test.size, 1000);
  const counts = new Array(10).fill(0);
  ds.train.labels.forEach((l) => counts[l]++);
  assert.deepEqual(counts, Array(10).fill(600));
  assert.deepEqual(ds.train.shape, [28, 28, 1]);
});
