import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { encodeIdx, parseIdx, readIdx } from '../../src/data/idx.js';
import { readCifarBinary } from '../../src/data/cifar-binary.js';
import { parseMat5 } from '../../src/data/mat5.js';
import { readSvhnMat, svhnImageSet } from '../../src/data/svhn-mat.js';
import { classFolders, scanImageFolder } from '../../src/data/image-folder.js';
import { readTar } from '../../src/data/tar.js';
import { cifarRecords, matFile, svhnMat } from '../helpers/data-files.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('formats');

test('IDX files read the same gzipped and plain, with dims and bytes from the file', () => {
  const data = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);
  const raw = encodeIdx([3, 4, 5], data);
  writeFileSync(join(dir, 'a-idx3-ubyte'), raw);
  writeFileSync(join(dir, 'a-idx3-ubyte.gz'), gzipSync(raw));
  for (const name of ['a-idx3-ubyte', 'a-idx3-ubyte.gz']) {
    const idx = readIdx(join(dir, name));
    assert.deepEqual(idx.dims, [3, 4, 5]);
    assert.deepEqual(Array.from(idx.data), Array.from(data));
  }
});

test('IDX: a truncated file or a wrong magic number is an error naming the file', () => {
  const raw = encodeIdx([2, 2], Uint8Array.of(1, 2, 3, 4));
  assert.throws(
    () => parseIdx(raw.subarray(0, raw.length - 1), 'x.idx'),
    /x\.idx: header says 2×2 = 4 bytes but the file holds 3/,
  );
  assert.throws(() => parseIdx(Uint8Array.of(1, 2, 8, 1, 0, 0, 0, 0), 'y.idx'), /y\.idx: not an IDX file/);
});

test('CIFAR-10 binary: label byte then R, G, B planes become HWC images', () => {
  const { bytes, pixel } = cifarRecords([[3], [9], [0]]);
  writeFileSync(join(dir, 'data_batch_1.bin'), bytes.subarray(0, 2 * 3073));
  writeFileSync(join(dir, 'data_batch_2.bin'), bytes.subarray(2 * 3073));
  const set = readCifarBinary([join(dir, 'data_batch_1.bin'), join(dir, 'data_batch_2.bin')], 1, 0);
  assert.equal(set.size, 3);
  assert.deepEqual(Array.from(set.labels), [3, 9, 0]);
  assert.deepEqual(set.shape, [32, 32, 3]);
  const img = set.image(2);
  for (const [row, col, ch] of [
    [0, 0, 0],
    [5, 17, 1],
    [31, 31, 2],
  ])
    assert.equal(img.data[(row * 32 + col) * 3 + ch], pixel(2, row, col, ch));
});

test('CIFAR-100 binary: coarse and fine label bytes, either can be the label', () => {
  const { bytes, pixel } = cifarRecords([
    [4, 72],
    [19, 99],
  ]);
  writeFileSync(join(dir, 'train.bin'), bytes);
  assert.deepEqual(Array.from(readCifarBinary([join(dir, 'train.bin')], 2, 1).labels), [72, 99]);
  const coarse = readCifarBinary([join(dir, 'train.bin')], 2, 0);
  assert.deepEqual(Array.from(coarse.labels), [4, 19]);
  assert.equal(coarse.image(1).data[(10 * 32 + 20) * 3 + 2], pixel(1, 10, 20, 2));
});

test('CIFAR binary: a file that is not whole records is rejected', () => {
  writeFileSync(join(dir, 'broken.bin'), new Uint8Array(3073 + 5));
  assert.throws(
    () => readCifarBinary([join(dir, 'broken.bin')], 1, 0),
    /not a whole number of 3073-byte CIFAR records/,
  );
});

test('MAT v5: compressed and plain variables, small data elements, double and uint8 storage', () => {
  const vars = [
    { name: 'X', mxClass: 9, dims: [2, 3], values: [1, 2, 3, 4, 5, 250], storage: 'uint8' as const },
    { name: 'y', mxClass: 6, dims: [3, 1], values: [0.5, -2, 1e10], storage: 'double' as const },
  ];
  for (const compress of [true, false]) {
    const mat = parseMat5(matFile(vars, compress));
    assert.deepEqual([...mat.keys()].sort(), ['X', 'y']);
    assert.deepEqual(mat.get('X')!.dims, [2, 3]);
    assert.equal(mat.get('X')!.mxClass, 9);
    assert.deepEqual(Array.from(mat.get('X')!.data), [1, 2, 3, 4, 5, 250]);
    assert.deepEqual(Array.from(mat.get('y')!.data), [0.5, -2, 1e10]);
  }
  assert.throws(() => parseMat5(new Uint8Array(200)), /not a MATLAB 5 MAT-file/);
});

test('SVHN .mat: column-major 32×32×3×N becomes HWC, label 10 becomes digit 0, files join in order', () => {
  const pixel = (n: number, row: number, col: number, ch: number) => (n * 13 + row * 5 + col * 2 + ch * 101) % 256;
  writeFileSync(join(dir, 'train_32x32.mat'), svhnMat([1, 0, 7], pixel, { compress: true, labelStorage: 'uint8' }));
  writeFileSync(
    join(dir, 'extra_32x32.mat'),
    svhnMat([0, 9], (n, r, c, ch) => pixel(n + 3, r, c, ch), { compress: true, labelStorage: 'double' }),
  );
  const train = readSvhnMat(join(dir, 'train_32x32.mat'));
  const extra = readSvhnMat(join(dir, 'extra_32x32.mat'));
  const set = svhnImageSet([train, extra]);
  assert.deepEqual(Array.from(set.labels), [1, 0, 7, 0, 9]);
  for (let n = 0; n < 5; n++) {
    const img = set.image(n);
    for (const [row, col, ch] of [
      [0, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [7, 30, 2],
      [31, 3, 1],
    ]) {
      assert.equal(img.data[(row * 32 + col) * 3 + ch], pixel(n, row, col, ch), `image ${n} (${row},${col},${ch})`);
    }
  }
});

test('SVHN .mat without X and y says what it found', () => {
  writeFileSync(
    join(dir, 'other.mat'),
    matFile([{ name: 'Z', mxClass: 9, dims: [1, 1], values: [1], storage: 'uint8' }], true),
  );
  assert.throws(() => readSvhnMat(join(dir, 'other.mat')), /expected variables X and y, found Z/);
});

test('image folder: sorted class folders, a PNG and a JPEG decoded lazily to RGB', () => {
  const root = join(dir, 'folder');
  mkdirSync(join(root, 'b-dog'), { recursive: true });
  mkdirSync(join(root, 'a-cat'), { recursive: true });
  const png = new pngjs.PNG({ width: 3, height: 2 });
  for (let p = 0; p < 6; p++) png.data.set([p * 40, 10, 200, 255], p * 4);
  writeFileSync(join(root, 'b-dog', 'x.png'), pngjs.PNG.sync.write(png));
  const rgba = new Uint8Array(8 * 8 * 4);
  for (let p = 0; p < 64; p++) rgba.set([200, 100, 50, 255], p * 4);
  writeFileSync(join(root, 'a-cat', 'y.JPG'), jpeg.encode({ data: rgba, width: 8, height: 8 }, 95).data);
  writeFileSync(join(root, 'a-cat', 'notes.txt'), 'not an image');
  const classes = classFolders(root);
  assert.deepEqual(classes, ['a-cat', 'b-dog']);
  const set = scanImageFolder(root, classes, 3);
  assert.equal(set.size, 2);
  assert.deepEqual(Array.from(set.labels), [0, 1]);
  assert.equal(set.shape, null);
  const cat = set.image(0);
  assert.deepEqual([cat.height, cat.width, cat.channels], [8, 8, 3]);
  for (const [k, v] of [200, 100, 50].entries())
    assert.ok(Math.abs(cat.data[k] - v) <= 3, `JPEG channel ${k}: ${cat.data[k]}`);
  const dog = set.image(1);
  assert.deepEqual([dog.height, dog.width], [2, 3]);
  assert.deepEqual(Array.from(dog.data.subarray(3 * 5, 3 * 6)), [200, 10, 200]);
  assert.equal(scanImageFolder(root, classes, 1).image(1).data[0], Math.round(0.587 * 10 + 0.114 * 200));
});

test('tar reader finds regular files by full name, including ustar prefixes', () => {
  const header = (name: string, size: number, prefix = '') => {
    const h = new Uint8Array(512);
    h.set(new TextEncoder().encode(name));
    h.set(new TextEncoder().encode(size.toString(8).padStart(11, '0')), 124);
    h[156] = 0x30;
    h.set(new TextEncoder().encode('ustar'), 257);
    h.set(new TextEncoder().encode(prefix), 345);
    h.fill(0x20, 148, 156);
    h.set(
      new TextEncoder().encode(
        h
          .reduce((a, b) => a + b, 0)
          .toString(8)
          .padStart(6, '0') + '\0 ',
      ),
      148,
    );
    return h;
  };
  const body = new Uint8Array(512);
  body.set([1, 2, 3]);
  const tar = new Uint8Array(512 * 5);
  tar.set(header('data.bin', 3, 'cifar-10-batches-bin'), 0);
  tar.set(body, 512);
  tar.set(header('readme.txt', 0), 1024);
  const entries = readTar(tar);
  assert.deepEqual(
    entries.map((e) => e.name),
    ['cifar-10-batches-bin/data.bin', 'readme.txt'],
  );
  assert.deepEqual(Array.from(entries[0].data), [1, 2, 3]);
});
