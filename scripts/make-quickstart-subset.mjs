#!/usr/bin/env node
// Writes data/fashion-mnist-subset/: the first N images of each class of Fashion-MNIST, in the original gzipped IDX format.
// Usage: node scripts/make-quickstart-subset.mjs [source-folder] [train-per-class] [test-per-class]
// The source folder holds the four official *-ubyte.gz files (Debian: apt-get install dataset-fashion-mnist).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const [source = '/usr/share/datasets/fashion-mnist', trainPerClass = '600', testPerClass = '100'] =
  process.argv.slice(2);
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-subset');

function readIdx(path) {
  const bytes = gunzipSync(readFileSync(path));
  const ndims = bytes[3];
  const dims = Array.from({ length: ndims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * ndims) };
}

function writeIdx(path, dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(path, gzipSync(Buffer.concat([header, data]), { level: 9 }));
}

function subset(prefix, perClass) {
  const images = readIdx(join(source, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(source, `${prefix}-labels-idx1-ubyte.gz`));
  const pixels = images.dims[1] * images.dims[2];
  const taken = new Map();
  const keep = [];
  labels.data.forEach((label, i) => {
    if ((taken.get(label) ?? 0) < perClass) {
      taken.set(label, (taken.get(label) ?? 0) + 1);
      keep.push(i);
    }
  });
  const data = Buffer.concat(keep.map((i) => images.data.subarray(i * pixels, (i + 1) * pixels)));
  writeIdx(join(out, `${prefix}-images-idx3-ubyte.gz`), [keep.length, images.dims[1], images.dims[2]], data);
  writeIdx(join(out, `${prefix}-labels-idx1-ubyte.gz`), [keep.length], Buffer.from(keep.map((i) => labels.data[i])));
  console.log(`${prefix}: ${keep.length} images (${perClass} per class)`);
}

mkdirSync(out, { recursive: true });
subset('train', Number(trainPerClass));
subset('t10k', Number(testPerClass));
