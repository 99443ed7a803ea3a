import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { encodeIdx } from '../../src/data/idx.js';
import { epsilab, noStack, tinyConfig, type Limits, type Ran } from '../helpers/binary.js';
import { tempDir } from '../helpers/tmp.js';

// Each case is a mistake an adversarial but realistic user makes: it must end, within bounds of time and memory,
// with exit 2 and a message naming the problem (or, where the input is fine after all, exit 0), and change nothing
// of the user's.
const LIMITS: Limits = { seconds: 150, memoryMb: 1536 };
const root = tempDir('mistaken');
let trained = '';

interface Case {
  name: string;
  /** Writes the case's files into its folder; returns the command's arguments. */
  setup: (dir: string) => string[];
  code: number;
  message: RegExp;
  /** What must hold of the folder afterwards (nothing of the user's overwritten). */
  after?: (dir: string, r: Ran) => void;
  /** Runs as an unprivileged user where the tests run as root, who ignores permissions. */
  unprivileged?: true;
}

/** nobody: the user a permission case runs as when the tests run as root. */
const NOBODY = { uid: 65534, gid: 65534 };

const write = (file: string, data: string | Uint8Array) => {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, data);
};
const png = (h: number, w: number, seed = 1) => {
  const image = new pngjs.PNG({ width: w, height: h });
  for (let i = 0; i < image.data.length; i++) image.data[i] = (i * seed * 37) & 255;
  return pngjs.PNG.sync.write(image);
};
/** A JPEG of 8×8 pixels whose frame header claims `h`×`w`. */
const jpegClaiming = (h: number, w: number) => {
  const bytes = Buffer.from(jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 128), width: 8, height: 8 }, 90).data);
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  bytes.writeUInt16BE(h, sof + 5);
  bytes.writeUInt16BE(w, sof + 7);
  return bytes;
};
/** An image-folder dataset of 8×8 PNGs: `layout` maps split/class to how many images (or file contents). */
const imageFolder = (dir: string, layout: Record<string, number | Record<string, Uint8Array | string>>) => {
  for (const [folder, files] of Object.entries(layout)) {
    mkdirSync(join(dir, 'images', folder), { recursive: true });
    const entries =
      typeof files === 'number'
        ? Object.fromEntries(Array.from({ length: files }, (_, i) => [`${i}.png`, png(8, 8, i + 1)]))
        : files;
    for (const [name, content] of Object.entries(entries)) {
      if (typeof content === 'string') symlinkSync(content, join(dir, 'images', folder, name));
      else write(join(dir, 'images', folder, name), content);
    }
  }
  return tinyConfig(dir, 1, `{ type: image-folder, path: ${JSON.stringify(join(dir, 'images'))} }`);
};
const fine = { 'train/a': 4, 'train/b': 4, 'val/a': 2, 'val/b': 2 };
/** Fashion-MNIST's four IDX files (gzipped) with 16 training and 8 test images of 28×28; `patch` replaces some. */
const idxDataset = (dir: string, patch: Record<string, Uint8Array> = {}) => {
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte.gz': gzipSync(encodeIdx([16, 28, 28], new Uint8Array(16 * 784).fill(7))),
    'train-labels-idx1-ubyte.gz': gzipSync(
      encodeIdx(
        [16],
        Uint8Array.from({ length: 16 }, (_, i) => i % 10),
      ),
    ),
    't10k-images-idx3-ubyte.gz': gzipSync(encodeIdx([8, 28, 28], new Uint8Array(8 * 784).fill(9))),
    't10k-labels-idx1-ubyte.gz': gzipSync(
      encodeIdx(
        [8],
        Uint8Array.from({ length: 8 }, (_, i) => i % 10),
      ),
    ),
    ...patch,
  };
  for (const [name, bytes] of Object.entries(files)) write(join(dir, 'fmnist', name), bytes);
  return tinyConfig(dir, 1, `{ type: fashion-mnist, path: ${JSON.stringify(join(dir, 'fmnist'))} }`);
};
const yaml = (dir: string, text: string) => (write(join(dir, 'c.yaml'), text), join(dir, 'c.yaml'));
const aTrainedRun = (dir: string) => (cpSync(trained, join(dir, 'run'), { recursive: true }), join(dir, 'run'));
const plugin = (dir: string, source: string) => {
  write(join(dir, 'plugin.mjs'), source);
  const config = tinyConfig(dir, 1);
  writeFileSync(config, `plugins: [plugin.mjs]\n${readFileSync(config, 'utf8')}`);
  return config;
};

const cases: Case[] = [
  {
    name: 'a YAML alias bomb (ten levels of ten aliases)',
    setup: (dir) => [
      'validate',
      yaml(
        dir,
        `a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n` +
          Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]\n`).join(
            '',
          ),
      ),
    ],
    code: 2,
    message: /aliases expand to more than [\d,]+ values/,
  },
  {
    name: 'a config that is a FIFO',
    setup: (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
      return ['validate', join(dir, 'fifo.yaml')];
    },
    code: 2,
    message: /cannot read .*fifo\.yaml: is not a regular file \(a FIFO\)/,
  },
  {
    name: 'a config of 100,000 keys',
    setup: (dir) => ['validate', yaml(dir, Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}\n`).join(''))],
    code: 2,
    message: /unknown key 'k0'[^]*and \d+ more problems/,
  },
  {
    name: 'a sweep grid of 10^8 trials',
    setup: (dir) => {
      const base = tinyConfig(dir, 1);
      const grid = Array.from({ length: 8 }, (_, i) => `  k${i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n`).join('');
      return ['plan', yaml(dir, `sweep: huge\nbase: ${base}\ngrid:\n${grid}`)];
    },
    code: 2,
    message: /grid: 100,000,000 trials, more than the [\d,]+ a sweep may hold/,
  },
  {
    name: 'dataset.num_classes: 100000000',
    setup: (dir) => ['validate', tinyConfig(dir, 1, '{ type: synthetic, num_classes: 100000000 }')],
    code: 2,
    message: /dataset\.num_classes must be <= 100000 \(got 100000000\)/,
  },
  {
    name: 'output.root: /proc',
    setup: (dir) => {
      const config = tinyConfig(dir, 1);
      writeFileSync(config, readFileSync(config, 'utf8').replace(/output: .*/, 'output: { root: /proc }'));
      return ['run', config];
    },
    code: 2,
    message: /\/proc.*is not a folder epsilab can write run folders in/,
  },
  {
    name: 'a run.lock that is a folder',
    setup: (dir) => {
      const run = aTrainedRun(dir);
      mkdirSync(join(run, 'run.lock'));
      return ['resume', run];
    },
    code: 2,
    message: /run\.lock is not a lock file \(a folder\): remove it/,
  },
  {
    name: 'an image that is a symlink to /dev/zero',
    setup: (dir) => ['run', imageFolder(dir, { ...fine, 'train/c': { 'z.png': '/dev/zero' } })],
    code: 2,
    message: /z\.png.*is not a regular file \(a character device\)/,
  },
  {
    name: 'a JPEG whose header claims 16000×16000',
    setup: (dir) => ['run', imageFolder(dir, { ...fine, 'train/c': { 'big.jpg': jpegClaiming(16000, 16000) } })],
    code: 2,
    message: /big\.jpg: .*16000×16000.*more than the [\d,]+-megapixel limit/,
  },
  {
    name: 'a gzip bomb in place of an IDX file',
    setup: (dir) => ['run', idxDataset(dir, { 'train-images-idx3-ubyte.gz': gzipSync(Buffer.alloc(256 * 2 ** 20)) })],
    code: 2,
    message: /train-images-idx3-ubyte\.gz: IDX element type 0x0 is not supported/,
  },
  {
    name: 'an IDX file that inflates past what its header promises',
    setup: (dir) => {
      const header = encodeIdx([16, 28, 28], new Uint8Array(0));
      const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(256 * 2 ** 20)]));
      return ['run', idxDataset(dir, { 'train-images-idx3-ubyte.gz': bomb })];
    },
    code: 2,
    message: /train-images-idx3-ubyte\.gz: header says 16×28×28 = 12544 bytes but the file holds more/,
  },
  {
    name: 'CIFAR batches that are symlinks to /dev/zero',
    setup: (dir) => {
      mkdirSync(join(dir, 'cifar'));
      for (const name of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'])
        symlinkSync('/dev/zero', join(dir, 'cifar', `${name}.bin`));
      return ['run', tinyConfig(dir, 1, `{ type: cifar10, path: ${JSON.stringify(join(dir, 'cifar'))} }`)];
    },
    code: 2,
    message: /data_batch_1\.bin: is not a regular file \(a character device\)/,
  },
  {
    name: 'an IDX label of 200 in a 10-class set',
    setup: (dir) => [
      'run',
      idxDataset(dir, { 'train-labels-idx1-ubyte.gz': gzipSync(encodeIdx([16], new Uint8Array(16).fill(200))) }),
    ],
    code: 2,
    message: /train-labels-idx1-ubyte\.gz: label 200 at record 1 is outside the dataset's 10 classes \(0–9\)/,
  },
  {
    name: 'a __proto__ key in a config',
    setup: (dir) => {
      const config = tinyConfig(dir, 1);
      writeFileSync(config, readFileSync(config, 'utf8').replace('train: {', 'train: { __proto__: { epochs: 0 },'));
      return ['validate', config];
    },
    code: 2,
    message: /tiny\.yaml:8:\d+ error: the key __proto__ is not allowed/,
  },
  {
    name: '--set __proto__.x=1',
    setup: (dir) => ['validate', tinyConfig(dir, 1), '--set', '__proto__.x=1'],
    code: 2,
    message: /error: --set __proto__\.x=1: the key __proto__ is not allowed[^]*\| --set __proto__\.x=1/,
  },
  {
    name: '--run-dir pointing at a folder of the user’s own files',
    setup: (dir) => {
      write(join(dir, 'mine', 'metrics.jsonl'), 'my own\n');
      write(join(dir, 'mine', 'model', 'weights.bin'), 'my weights');
      return ['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'mine')];
    },
    code: 2,
    message: /mine is not an epsilab run folder \(it holds other files and no config\.json\).*--run-dir/,
    after: (dir) => {
      assert.equal(readFileSync(join(dir, 'mine', 'metrics.jsonl'), 'utf8'), 'my own\n');
      assert.equal(readFileSync(join(dir, 'mine', 'model', 'weights.bin'), 'utf8'), 'my weights');
      assert.deepEqual(readdirSync(join(dir, 'mine')).sort(), ['metrics.jsonl', 'model']);
    },
  },
  {
    name: 'export -o an existing file',
    setup: (dir) => {
      write(join(dir, 'out', 'mine.onnx'), 'my file');
      return ['export', aTrainedRun(dir), '--format', 'onnx', '-o', join(dir, 'out', 'mine.onnx')];
    },
    code: 2,
    message: /mine\.onnx exists: pass --force to replace it, or choose another -o/,
    after: (dir) => {
      assert.equal(readFileSync(join(dir, 'out', 'mine.onnx'), 'utf8'), 'my file');
      assert.equal(existsSync(join(dir, 'out', 'test_data_set_0')), false);
    },
  },
  {
    name: 'export -o a folder',
    setup: (dir) => {
      mkdirSync(join(dir, 'out'));
      return ['export', aTrainedRun(dir), '--format', 'onnx', '-o', join(dir, 'out')];
    },
    code: 2,
    message: /out is a folder: -o names the \.onnx file to write/,
  },
  {
    name: 'a run folder that is a file',
    setup: (dir) => (write(join(dir, 'file'), 'x'), ['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'file')]),
    code: 2,
    message: /file: not a folder: choose another --run-dir/,
  },
  {
    name: 'a run folder under a file',
    setup: (dir) => (write(join(dir, 'file'), 'x'), ['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'file', 'run')]),
    code: 2,
    message: /file\/run.*: a part of this path is a file, not a folder/,
  },
  {
    name: 'a read-only run folder',
    setup: (dir) => {
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o555);
      return ['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'ro', 'run')];
    },
    code: 2,
    message: /ro\/run.*: permission denied/,
    unprivileged: true,
  },
  {
    name: 'a run folder that is a symlink loop',
    setup: (dir) => {
      symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
      return ['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'loop')];
    },
    code: 2,
    message: /loop: too many levels of symbolic links/,
  },
  {
    name: 'synthetic images too small for the network (height 2)',
    setup: (dir) => [
      'run',
      tinyConfig(dir, 1, '{ type: synthetic, num_classes: 3, train_size: 16, test_size: 8, height: 2, width: 8 }'),
    ],
    code: 2,
    message:
      /preact-resnet-8: the option-A shortcut halves the image twice: height and width must be multiples of 4 \(got 2×8\)/,
  },
  {
    name: '`plan` of a sweep whose trial makes images the network cannot take',
    setup: (dir) => {
      const base = tinyConfig(dir, 1);
      return ['plan', yaml(dir, `sweep: sizes\nbase: ${base}\ngrid: { dataset.height: [8, 2] }\n`)];
    },
    code: 2,
    message:
      /c\.yaml:3:29 error: preact-resnet-8: the option-A shortcut halves the image twice: .*\(got 2×8\).*\(trial dataset\.height=2\)/,
  },
  {
    name: 'synthetic train_size 1e9',
    setup: (dir) => [
      'run',
      tinyConfig(dir, 1, '{ type: synthetic, num_classes: 3, train_size: 1000000000, height: 8, width: 8 }'),
    ],
    code: 2,
    message: /train_size \+ test_size: 1,000,000,\d+ images of 8×8×3 take [\d,]+ MB, more than the 2048 MB/,
  },
  {
    name: 'an image folder with no classes',
    setup: (dir) => ['run', imageFolder(dir, { train: {}, val: {} })],
    code: 2,
    message: /images\/train: no class folders/,
  },
  {
    name: 'an image folder with an empty class',
    setup: (dir) => ['run', imageFolder(dir, { ...fine, 'train/c': {} })],
    code: 2,
    message: /train\/c: class folder without JPEG or PNG images/,
  },
  {
    name: 'a validation class unknown to training',
    setup: (dir) => ['run', imageFolder(dir, { ...fine, 'val/z': 1 })],
    code: 2,
    message: /val\/z: class folder not among the training classes \(a, b\)/,
  },
  {
    name: 'an image folder of mixed image sizes',
    setup: (dir) => [
      'run',
      imageFolder(dir, {
        ...fine,
        'train/a': {
          'big.png': png(8, 12),
          '0.png': png(8, 8, 2),
          '1.png': png(8, 8, 3),
          '2.png': png(8, 8, 4),
        },
      }),
    ],
    code: 2,
    message:
      /\.png: \d+×\d+×3 after the transforms, the others in its batch are \d+×\d+×3; add resize or crop transforms/,
  },
  {
    name: 'a dangling symlink in an image folder',
    setup: (dir) => ['run', imageFolder(dir, { ...fine, 'train/a': { 'gone.png': join(dir, 'nowhere.png') } })],
    code: 2,
    message: /gone\.png: no such file or folder \(a dangling symbolic link/,
  },
  {
    name: 'a damaged first image with on_damaged: skip',
    setup: (dir) => {
      const config = imageFolder(dir, {
        ...fine,
        'train/a': {
          '0.png': Buffer.from('not an image'),
          '1.png': png(8, 8, 2),
          '2.png': png(8, 8, 3),
          '3.png': png(8, 8, 4),
          '4.png': png(8, 8, 5),
        },
      });
      writeFileSync(config, readFileSync(config, 'utf8').replace('path:', 'on_damaged: skip, path:'));
      return ['run', config];
    },
    code: 0,
    message: /warning: skipping damaged image .*train\/a\/0\.png[^]*done/,
  },
  {
    name: 'config.json swapped for another depth before resume',
    setup: (dir) => {
      const run = aTrainedRun(dir);
      const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
      config.model.depth = 14;
      writeFileSync(join(run, 'config.json'), JSON.stringify(config));
      rmSync(join(run, 'result.json'));
      return ['resume', run];
    },
    code: 2,
    message: /step-\d+ holds .* for .*, the config's network needs .*: the checkpoint belongs to another network/,
  },
  {
    name: 'a plugin that throws null',
    setup: (dir) => ['validate', plugin(dir, 'throw null;\n')],
    code: 2,
    message: /plugin plugin\.mjs failed to load: null/,
  },
  {
    name: 'a plugin whose build throws',
    setup: (dir) => {
      const config = plugin(
        dir,
        `export const broken = { kind: 'callback', type: 'broken', doc: 'Throws.', params: { type: 'object', properties: {}, additionalProperties: false }, build() { throw new Error('boom'); } };\n`,
      );
      writeFileSync(config, `${readFileSync(config, 'utf8')}callbacks: [{ type: broken }]\n`);
      return ['run', config];
    },
    code: 2,
    message: /callback 'broken' \(plugin .*plugin\.mjs\) failed to build: boom/,
  },
  {
    name: 'a plugin whose top-level await never settles',
    setup: (dir) => ['validate', plugin(dir, 'await new Promise(() => {});\n')],
    code: 2,
    message: /plugin plugin\.mjs failed to load: its top-level await never settles/,
  },
  {
    name: 'a lock file with missing fields',
    setup: (dir) => {
      const run = aTrainedRun(dir);
      write(join(run, 'run.lock'), JSON.stringify({ pid: process.pid }));
      rmSync(join(run, 'result.json'));
      return ['resume', run];
    },
    code: 2,
    message: /in use by `epsilab \?` \(pid \d+ on \?, since \?\)/,
  },
];

before(async () => {
  const dir = join(root, 'trained');
  mkdirSync(dir);
  const r = await epsilab(['run', tinyConfig(dir, 1), '--run-dir', join(dir, 'run')]);
  assert.equal(r.code, 0, r.out);
  trained = join(dir, 'run');
});

test(
  'mistaken and hostile input: each case ends within bounds, exit code and message as expected',
  { concurrency: 2 },
  async (t) => {
    const runs = cases.map((c) =>
      t.test(c.name, async (st) => {
        const dir = join(root, c.name.replace(/\W+/g, '-'));
        mkdirSync(dir, { recursive: true });
        const t0 = performance.now();
        const asNobody = c.unprivileged && process.getuid?.() === 0;
        if (asNobody) for (const d of [root, dir]) chmodSync(d, 0o777);
        const r = await epsilab(c.setup(dir), {}, {}, asNobody ? { ...LIMITS, user: NOBODY } : LIMITS);
        const firstLines = r.out.trim().split('\n').slice(0, 3).join(' | ').slice(0, 400);
        st.diagnostic(`exit ${r.code ?? r.signal} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${firstLines}`);
        assert.equal(r.code, c.code, `${c.name}: exit ${r.code ?? r.signal}: ${r.out.slice(0, 2000)}`);
        assert.match(r.out, c.message);
        noStack(r);
        c.after?.(dir, r);
      }),
    );
    await Promise.all(runs);
  },
);
