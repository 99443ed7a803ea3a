import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { encodeIdx, readIdx } from '../../src/data/idx.js';
import { readCifarBinary } from '../../src/data/cifar-binary.js';
import { readSvhnMat } from '../../src/data/svhn-mat.js';
import { readTar } from '../../src/data/tar.js';
import { InputError } from '../../src/util/errors.js';
import { cifarRecords, svhnMat } from '../helpers/data-files.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('damaged');

/** An InputError (exit 2, no stack) whose message names the file and matches `what`. */
function damaged(fn: () => unknown, file: string, what: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof InputError, `${err.name}: ${err.message}`);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, what);
    return true;
  });
}

test('IDX: a truncated gzip, a cut file and a wrong magic number are named with what was expected and found', () => {
  const images = encodeIdx(
    [10, 4, 4],
    Uint8Array.from({ length: 160 }, (_, i) => (i * 97 + 13) % 251),
  );
  const gz = join(dir, 'train-images-idx3-ubyte.gz');
  writeFileSync(gz, gzipSync(images).subarray(0, 60));
  damaged(() => readIdx(gz), gz, /damaged gzip data .*the file is 60 bytes/);
  const cut = join(dir, 'cut-idx3-ubyte');
  writeFileSync(cut, images.subarray(0, 16 + 50));
  damaged(() => readIdx(cut), cut, /header says 10×4×4 = 160 bytes but the file holds 50 \(3 of 10 records\)/);
  const magic = join(dir, 'magic-idx3-ubyte');
  writeFileSync(magic, Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0));
  damaged(() => readIdx(magic), magic, /expected 00 00 08 <dims>, found 50 4b 03 04/);
});

test('CIFAR binary: a partial record and an out-of-range label are named with the record count and size', () => {
  const { bytes } = cifarRecords([[3], [9], [1]]);
  const cut = join(dir, 'data_batch_1.bin');
  writeFileSync(cut, bytes.subarray(0, 3073 * 2 + 100));
  damaged(
    () => readCifarBinary([cut], 1, 0, 10),
    cut,
    /6246 bytes is not a whole number of 3073-byte CIFAR records \(2 records and 100 bytes more/,
  );
  const flipped = Uint8Array.from(bytes);
  flipped[3073] = 200;
  const bad = join(dir, 'test_batch.bin');
  writeFileSync(bad, flipped);
  damaged(() => readCifarBinary([bad], 1, 0, 10), bad, /record 1 has label 200, expected below 10/);
});

test('SVHN .mat: a truncated file and damaged compressed data are named', () => {
  const pixel = (n: number, row: number, col: number, ch: number) => (n * 7 + row * 13 + col * 31 + ch * 101) % 256;
  for (const compress of [true, false]) {
    const full = svhnMat([1, 2, 3], pixel, { compress, labelStorage: 'uint8' });
    const file = join(dir, `train_32x32.${compress}.mat`);
    writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
    damaged(() => readSvhnMat(file), file, /element at byte 128 declares \d+ bytes but only \d+ follow \(truncated\)/);
  }
  const flipped = Uint8Array.from(svhnMat([1, 2, 3], pixel, { compress: true, labelStorage: 'uint8' }));
  for (let i = 200; i < 260; i++) flipped[i] ^= 0x5a;
  const file = join(dir, 'test_32x32.mat');
  writeFileSync(file, flipped);
  damaged(() => readSvhnMat(file), file, /compressed element at byte 128 is damaged/);
});

test('SVHN .mat: a compressed element that inflates past its header, and a link to /dev/zero, are refused before memory grows', () => {
  // miCOMPRESSED holding an miMATRIX tag that declares 64 bytes, followed by 64 MB of zeros
  const inner = new Uint8Array(8 + 64 * 2 ** 20);
  new DataView(inner.buffer).setUint32(0, 14, true);
  new DataView(inner.buffer).setUint32(4, 64, true);
  const z = deflateSync(inner);
  const file = new Uint8Array(128 + 8 + z.length);
  file.set(svhnMat([1], () => 0, { compress: true, labelStorage: 'uint8' }).subarray(0, 128));
  new DataView(file.buffer).setUint32(128, 15, true);
  new DataView(file.buffer).setUint32(132, z.length, true);
  file.set(z, 136);
  const bomb = join(dir, 'bomb_32x32.mat');
  writeFileSync(bomb, file);
  damaged(
    () => readSvhnMat(bomb),
    bomb,
    /compressed element at byte 128 inflates past the 72 bytes its header declares/,
  );
  const zero = join(dir, 'zero_32x32.mat');
  symlinkSync('/dev/zero', zero);
  damaged(() => readSvhnMat(zero), zero, /is not a regular file \(a character device\)/);
});

test('tar: a member cut short and a damaged header are named', () => {
  const header = new Uint8Array(512);
  header.set(new TextEncoder().encode('data_batch_1.bin'));
  header.set(new TextEncoder().encode((2048).toString(8).padStart(11, '0')), 124);
  header[156] = 0x30;
  header.fill(0x20, 148, 156);
  header.set(
    new TextEncoder().encode(
      header
        .reduce((a, b) => a + b, 0)
        .toString(8)
        .padStart(6, '0') + '\0 ',
    ),
    148,
  );
  const archive = new Uint8Array(512 + 1024);
  archive.set(header);
  damaged(
    () => readTar(archive, 'cifar-10-binary.tar'),
    'cifar-10-binary.tar',
    /member data_batch_1\.bin declares 2048 bytes but the archive ends 1024 bytes after its header/,
  );
  archive[3] ^= 0xff;
  damaged(() => readTar(archive, 'cifar-10-binary.tar'), 'cifar-10-binary.tar', /tar header at byte 0 is damaged/);
});
