import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputPipeline, type HostBatch } from '../../src/data/pipeline.js';
import { FileImageSet } from '../../src/data/image-set.js';
import { classFolders, scanImageFolder } from '../../src/data/image-folder.js';
import { TransformChain } from '../../src/data/transform-chain.js';
import { decodeImageBytes, DamagedImageError } from '../../src/data/decode-image.js';
import { imageSize, loadSharp, type SharpModule } from '../../src/data/native-image.js';
import { planNative } from '../../src/data/geometry.js';
import { toFloat } from '../../src/data/image-ops.js';
import { rngFor } from '../../src/data/rng.js';
import type { FloatImage } from '../../src/data/types.js';
import { context, resolve } from '../helpers/components.js';
import { tempDir } from '../helpers/tmp.js';
import { projectRoot } from '../../src/util/paths.js';

const dir = tempDir('native');
const ctx = context(dir);

/** A smooth photograph-like RGB image (low-frequency colour waves), so resampling kernels differ little. */
function smooth(height: number, width: number, seed: number): Buffer {
  const px = Buffer.alloc(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) {
        const v =
          128 +
          70 * Math.sin((x * (k + 1 + seed)) / width + (y * (3 - k)) / height + seed) +
          40 * Math.cos((2 * x * y) / (width * height) + k);
        px[(y * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return px;
}

async function jpegFile(name: string, height: number, width: number, seed: number): Promise<string> {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  await sharp(smooth(height, width, seed), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toFile(file);
  return file;
}

const native = (await loadSharp()) as SharpModule;

/** Both paths on one file with one random stream: pure JS decode + transforms, and libvips with the folded crops and resizes. */
async function bothPaths(file: string, sections: { type: string }[], seed: number): Promise<[FloatImage, FloatImage]> {
  const chain = await TransformChain.build(resolve(sections), ctx);
  const bytes = readFileSync(file);
  const js = chain.apply(toFloat(decodeImageBytes(bytes, file, 3)), rngFor(seed));
  return [js, await chain.applyEncoded(native, bytes, file, 3, rngFor(seed))];
}

function meanAbsDiff(a: FloatImage, b: FloatImage): number {
  assert.deepEqual([a.height, a.width, a.channels], [b.height, b.width, b.channels]);
  return a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length;
}

test('image sizes come from JPEG frame headers and PNG headers without decoding', async () => {
  const file = await jpegFile('size/a.jpg', 30, 41, 0);
  assert.deepEqual(imageSize(readFileSync(file)), { height: 30, width: 41 });
  const png = await sharp(smooth(7, 9, 0), { raw: { width: 9, height: 7, channels: 3 } })
    .png()
    .toBuffer();
  assert.deepEqual(imageSize(png), { height: 7, width: 9 });
  assert.equal(imageSize(Buffer.from('not an image')), null);
});

test('crops and resizes fold into one native pass; a large shrink moves the crop after the resize (shrink-on-load)', () => {
  const cropResize = [
    { op: 'crop' as const, x: 10, y: 20, width: 100, height: 80 },
    { op: 'resize' as const, width: 50, height: 40, interpolation: 'cubic' as const },
  ];
  assert.deepEqual(planNative(cropResize, 200, 300), {
    plan: {
      before: { x: 10, y: 20, width: 100, height: 80 },
      resize: { width: 50, height: 40, interpolation: 'cubic' },
    },
    rest: [],
  });
  const shrunk = planNative(
    [
      { ...cropResize[0], width: 400, height: 300 },
      { ...cropResize[1], width: 100, height: 75 },
    ],
    600,
    800,
  );
  assert.deepEqual(shrunk.plan, {
    resize: { width: 200, height: 150, interpolation: 'cubic' },
    after: { x: 3, y: 5, width: 100, height: 75 },
  });
  const valid = planNative(
    [
      { op: 'resize', width: 341, height: 256, interpolation: 'linear' },
      { op: 'crop', x: 58, y: 16, width: 224, height: 224 },
      { op: 'resize', width: 10, height: 10, interpolation: 'linear' },
    ],
    375,
    500,
  );
  assert.deepEqual(valid.plan, {
    resize: { width: 341, height: 256, interpolation: 'linear' },
    after: { x: 58, y: 16, width: 224, height: 224 },
  });
  assert.equal(valid.rest.length, 1, 'a second resize runs on the pixels');
});

test('validation transforms (shorter side, centre crop): native pixels match the pure-JS path within tolerance', async () => {
  const file = await jpegFile('val/a.jpg', 90, 120, 1);
  const [js, nat] = await bothPaths(
    file,
    [{ type: 'resize', shorter_side: 64 } as never, { type: 'center-crop', size: 48 } as never],
    0,
  );
  assert.deepEqual([nat.height, nat.width], [48, 48]);
  assert.ok(meanAbsDiff(js, nat) < 1.5, `mean |Δ| ${meanAbsDiff(js, nat)}`);
});

test('random-sized-crop: the native path crops the same window (same draws) and resizes it within tolerance, shrink-on-load included', async () => {
  const small = await jpegFile('rsc/small.jpg', 60, 80, 2);
  const large = await jpegFile('rsc/large.jpg', 600, 800, 3);
  for (const [file, size] of [
    [small, 40],
    [large, 32],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      const [js, nat] = await bothPaths(
        file,
        [{ type: 'random-sized-crop', size, interpolation: 'cubic' } as never],
        seed,
      );
      assert.ok(meanAbsDiff(js, nat) < 3, `${file} seed ${seed}: mean |Δ| ${meanAbsDiff(js, nat)}`);
    }
  }
});

test('the ImageNet training augmentation has the same statistics natively as in pure JS, and is deterministic per (seed, epoch, index)', async () => {
  const root = join(dir, 'folder');
  for (let i = 0; i < 6; i++) await jpegFile(`folder/train/c${i % 2}/${i}.jpg`, 75 + 5 * i, 100, 10 + i);
  const set = scanImageFolder(join(root, 'train'), classFolders(join(root, 'train')), 3);
  const transforms = resolve([
    { type: 'random-sized-crop', size: 32, interpolation: 'cubic' } as never,
    {
      type: 'color-jitter',
      brightness: 30,
      contrast: [0.8, 1.2],
      saturation: 0.4,
      lighting: 0.1,
      lighting_eigval_scale: 1,
    } as never,
    { type: 'flip', horizontal: 0.5 } as never,
    { type: 'channel-normalize' } as never,
  ]);
  const stats = async (nativeDecode: boolean, workers: number) => {
    const p = new InputPipeline({
      set,
      transforms,
      batchSize: 6,
      shuffle: true,
      seed: 5,
      workers,
      native: nativeDecode,
    });
    const batches: HostBatch[] = [];
    for (let epoch = 0; epoch < 6; epoch++) for await (const b of p.batches(epoch)) batches.push(b);
    await p.close();
    const sum = [0, 0, 0];
    const sq = [0, 0, 0];
    let n = 0;
    for (const b of batches)
      for (let i = 0; i < b.x.length; i++) {
        sum[i % 3] += b.x[i];
        sq[i % 3] += b.x[i] ** 2;
        if (i % 3 === 0) n++;
      }
    return { batches, mean: sum.map((s) => s / n), std: sq.map((s, c) => Math.sqrt(s / n - (sum[c] / n) ** 2)) };
  };
  const js = await stats(false, 0);
  const nat = await stats(true, 0);
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(js.mean[c] - nat.mean[c]) < 0.02, `channel ${c} mean ${js.mean[c]} vs ${nat.mean[c]}`);
    assert.ok(Math.abs(js.std[c] / nat.std[c] - 1) < 0.02, `channel ${c} std ${js.std[c]} vs ${nat.std[c]}`);
  }
  const threaded = await stats(true, 1);
  assert.deepEqual(
    threaded.batches.map((b) => Array.from(b.x)),
    nat.batches.map((b) => Array.from(b.x)),
    'a worker thread makes the same batches',
  );
});

test('a damaged image in an image folder is skipped with a warning and a count, or stops the pipeline naming the file', async () => {
  const good = await jpegFile('damaged/train/a/good.jpg', 20, 20, 4);
  mkdirSync(join(dir, 'damaged', 'train', 'b'), { recursive: true });
  const bad = join(dir, 'damaged', 'train', 'b', 'bad.jpg');
  writeFileSync(bad, readFileSync(good).subarray(0, 300));
  const transforms = resolve([{ type: 'center-crop', size: 16 } as never]);
  for (const workers of [0, 1]) {
    const logs: string[] = [];
    const set = scanImageFolder(join(dir, 'damaged', 'train'), ['a', 'b'], 3, 'skip');
    const p = new InputPipeline({
      set,
      transforms,
      batchSize: 2,
      shuffle: false,
      seed: 0,
      workers,
      log: (l) => logs.push(l),
    });
    const batches: HostBatch[] = [];
    for (let epoch = 0; epoch < 2; epoch++) for await (const b of p.batches(epoch)) batches.push(b);
    await p.close();
    assert.deepEqual(
      batches.map((b) => [b.shape[0], Array.from(b.y)]),
      [
        [1, [0]],
        [1, [0]],
      ],
    );
    assert.equal(p.damaged.size, 1);
    assert.equal(logs.filter((l) => l.includes(`skipping damaged image ${bad}`)).length, 1, logs.join('\n'));
  }
  for (const nativeDecode of [true, false]) {
    const stop = new InputPipeline({
      set: new FileImageSet([good, bad], Int32Array.of(0, 1), 3, 'stop'),
      transforms,
      batchSize: 2,
      shuffle: false,
      seed: 0,
      workers: 1,
      native: nativeDecode,
    });
    await assert.rejects(
      (async () => {
        for await (const _ of stop.batches(0));
      })(),
      (e: Error) =>
        e instanceof DamagedImageError &&
        e.message.startsWith(`${bad}: damaged image`) &&
        /on_damaged: skip/.test(e.message),
    );
    await stop.close();
  }
});

test('a damaged image stops `epsilab bench-data` (as `run`) with exit 2 naming the file, no stack trace', async () => {
  const root = join(dir, 'cli');
  const good = await jpegFile('cli/train/a/good.jpg', 20, 20, 5);
  await jpegFile('cli/val/a/good.jpg', 20, 20, 6);
  const bad = join(root, 'train', 'a', 'zz-bad.jpg');
  writeFileSync(bad, readFileSync(good).subarray(0, 200));
  const config = join(root, 'cli.yaml');
  writeFileSync(
    config,
    `experiment: damaged
dataset: { type: image-folder, path: ${JSON.stringify(root)} }
transforms: { train: [{ type: center-crop, size: 16 }], test: [{ type: center-crop, size: 16 }] }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { batch_size: 2, drop_remainder: false }
`,
  );
  const r = spawnSync(
    process.execPath,
    [join(projectRoot(), 'bin', 'epsilab.js'), 'bench-data', config, '--batches', '1'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: damaged image`));
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
});
