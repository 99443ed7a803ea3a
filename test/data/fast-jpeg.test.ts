import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputPipeline, type HostBatch } from '../../src/data/pipeline.js';
import { FileImageSet } from '../../src/data/image-set.js';
import { scanImageFolder } from '../../src/data/image-folder.js';
import { TransformChain, type TransformSection } from '../../src/data/transform-chain.js';
import { DamagedImageError } from '../../src/data/decode-image.js';
import { loadJpegAddon, type FusedStep } from '../../src/data/fast-jpeg.js';
import { rngFor } from '../../src/data/rng.js';
import type { GeometryOp } from '../../src/data/geometry.js';
import { imageFolder } from '../../src/components/dataset/image-folder.js';
import { build, context, resolve } from '../helpers/components.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('fast-jpeg');
const ctx = context(dir);
const addon = loadJpegAddon();
const skip = typeof addon === 'string' ? addon : false;

/** A photograph-like RGB image: colour waves with 8-pixel checks (so a window off by a pixel shows), or `smooth`: waves 8× longer. */
function photo(height: number, width: number, seed: number, smooth = false): Buffer {
  const px = Buffer.alloc(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let k = 0; k < 3; k++) {
        const [u, v] = smooth ? [x / 8, y / 8] : [x, y];
        const wave = 110 + 60 * Math.sin((u * (k + 1 + seed)) / 17 + (v * (3 - k)) / 23 + seed);
        const edge = smooth ? 0 : ((x >> 3) + (y >> 3) + k) % 2 ? 40 : -40;
        px[(y * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(wave + edge)));
      }
  return px;
}

async function jpeg(file: string, height: number, width: number, seed: number, smooth = false): Promise<string> {
  mkdirSync(join(file, '..'), { recursive: true });
  // 4:4:4 at quality 100: libjpeg-turbo and jpeg-js (the general path's pure-JS decoder) then decode within a level or two.
  await sharp(photo(height, width, seed, smooth), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toFile(file);
  return file;
}

async function batchesOf(o: ConstructorParameters<typeof InputPipeline>[0], epochs = 1): Promise<HostBatch[]> {
  const p = new InputPipeline(o);
  const out: HostBatch[] = [];
  // Kept batches are never released; their values compared without the release hook.
  for (let epoch = 0; epoch < epochs; epoch++)
    for await (const { x, y, shape, step } of p.batches(epoch)) out.push({ x, y, shape, step });
  await p.close();
  return out;
}

const IMAGENET_TRAIN = (arithmetic: 'uint8' | 'float'): TransformSection[] => [
  { type: 'random-sized-crop', size: 40, interpolation: 'cubic' },
  {
    type: 'color-jitter',
    brightness: 30,
    contrast: [0.8, 1.2],
    saturation: 0.4,
    lighting: 0.1,
    lighting_eigval_scale: 1,
    arithmetic,
  },
  { type: 'flip', horizontal: 0.5 },
  { type: 'channel-normalize' },
];

test(
  'the fast path and the general path crop the same windows; float pixels agree within 3 levels (normalised: 0.05)',
  { skip },
  async () => {
    const files = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => jpeg(join(dir, 'float', `${i}.jpg`), 48 + 4 * i, 64, i)),
    );
    // Full-scale decoding: the general path sees the file's own pixels too.
    const set = new FileImageSet(
      files,
      Int32Array.from(files, (_, i) => i % 2),
      3,
      'stop',
      false,
      false,
    );
    for (const sections of [
      IMAGENET_TRAIN('float'),
      [{ type: 'resize', shorter_side: 44 }, { type: 'center-crop', size: 40 }, { type: 'channel-normalize' }],
    ]) {
      const o = { set, transforms: resolve(sections), batchSize: 6, shuffle: true, seed: 3, workers: 0 };
      const logs: string[] = [];
      const fast = await batchesOf({ ...o, log: (l) => logs.push(l) }, 3);
      assert.match(logs.join('\n'), /JPEG files take the native fast path \(libjpeg-turbo, float arithmetic\)/);
      const general = await batchesOf({ ...o, native: false }, 3);
      for (const [b, g] of fast.map((f, i) => [f, general[i]] as const)) {
        assert.deepEqual(b.shape, g.shape);
        assert.deepEqual(b.y, g.y);
        // Normalised by std ≈ 0.225·255: 3 levels ≈ 0.05. A window one pixel off moves the 8-pixel checks by far more.
        const diffs = b.x.map((v, i) => Math.abs(v - g.x[i]));
        const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
        assert.ok(mean < 0.02, `mean |Δ| ${mean}`);
        assert.ok(Math.max(...diffs) < 0.2, `max |Δ| ${Math.max(...diffs)}`);
      }
    }
  },
);

/** cv2.resize's 8-bit bicubic as OpenCV computes it: float positions and weights, weights ×2048 rounded, sums >> 22. */
function opencvCubicUint8(src: Uint8Array, h: number, w: number, oh: number, ow: number): Uint8Array {
  const f = Math.fround;
  const axis = (n: number, m: number) =>
    Array.from({ length: m }, (_, d) => {
      const pos = f((d + 0.5) * (n / m) - 0.5);
      const s = Math.floor(pos);
      const x = f(pos - s);
      const A = -0.75;
      const w0 = f(f(f(f(f(A * f(x + 1)) - 5 * A) * f(x + 1)) + 8 * A) * f(x + 1)) - 4 * A;
      const w1 = f(f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x)) + 1);
      const x1 = f(1 - x);
      const w2 = f(f(f(f(f(f((A + 2) * x1) - (A + 3)) * x1) * x1)) + 1);
      const w3 = f(f(f(1 - f(w0)) - w1) - w2);
      return [f(w0), w1, w2, w3].map((wt, k) => [Math.min(n - 1, Math.max(0, s - 1 + k)), Math.round(wt * 2048)]);
    });
  const [ys, xs] = [axis(h, oh), axis(w, ow)];
  const out = new Uint8Array(oh * ow * 3);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (const [sy, wy] of ys[y]) {
          let row = 0;
          for (const [sx, wx] of xs[x]) row += src[(sy * w + sx) * 3 + c] * wx;
          acc += row * wy;
        }
        out[(y * ow + x) * 3 + c] = Math.max(0, Math.min(255, Math.floor((acc + 2 ** 21) / 2 ** 22)));
      }
  return out;
}

/** tensorpack 0.2.0's RandomOrderAug of Brightness, Contrast, Saturation, Lighting on a uint8 BGR image, numpy's dtypes spelled out. */
function tensorpackJitter(img: Uint8Array, d: Extract<FusedStep, { kind: 'jitter' }>, wrap = true): Uint8Array {
  const out = Uint8Array.from(img);
  const f = Math.fround;
  const clipCast = (v: number) => Math.trunc(Math.min(255, Math.max(0, v)));
  for (const k of Array.from(d.order)) {
    if (k === 0) out.forEach((v, i) => (out[i] = clipCast(f(v + f(d.brightness!)))));
    if (k === 1) {
      const n = out.length / 3;
      const mean = [0, 1, 2].map((c) => f(out.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / n));
      out.forEach((v, i) => (out[i] = clipCast(f(f(f(v - mean[i % 3]) * f(d.contrast)) + mean[i % 3]))));
    }
    if (k === 2) {
      for (let i = 0; i < out.length; i += 3) {
        // cv2.COLOR_BGR2GRAY on uint8: (1868 B + 9617 G + 4899 R + 2^13) >> 14; astype(uint8) wraps.
        const grey = Math.floor((1868 * out[i] + 9617 * out[i + 1] + 4899 * out[i + 2] + 8192) / 16384);
        for (let c = 0; c < 3; c++) {
          const v = Math.trunc(out[i + c] * d.saturation! + grey * (1 - d.saturation!));
          out[i + c] = wrap ? ((v % 256) + 256) % 256 : clipCast(v);
        }
      }
    }
    if (k === 3) out.forEach((v, i) => (out[i] = clipCast(v + d.lighting![i % 3])));
  }
  return out;
}

test(
  'uint8 arithmetic is pixel-exact against tensorpack 0.2.0 and OpenCV computed here, on the fast and the general path',
  { skip },
  async () => {
    const [h, w] = [50, 60];
    const file = await jpeg(join(dir, 'uint8', 'a.jpg'), h, w, 7);
    const set = new FileImageSet([file], Int32Array.of(0), 3, 'stop', true, false);
    // The decoded BGR pixels, as the fast path decodes them (no transforms: a whole-image identity plan).
    const [decoded] = await batchesOf({ set, transforms: [], batchSize: 1, shuffle: false, seed: 0, workers: 0 });
    const pixels = Uint8Array.from(decoded.x);
    assert.deepEqual(
      Array.from(decoded.x.slice(0, 30)),
      Array.from(pixels.slice(0, 30)),
      'decoded pixels are whole levels',
    );
    const sections: TransformSection[] = [
      { type: 'random-sized-crop', size: 40, interpolation: 'cubic' },
      {
        type: 'color-jitter',
        brightness: 30,
        contrast: [0.8, 1.2],
        saturation: 0.4,
        lighting: 0.1,
        lighting_eigval_scale: 1,
        channel_order: 'bgr',
        arithmetic: 'uint8',
      },
      { type: 'flip', horizontal: 0.5 },
      { type: 'channel-normalize' },
    ];
    const chain = await TransformChain.build(resolve(sections), ctx);
    let wrapped = 0;
    for (let seed = 0; seed < 12; seed++) {
      const [fast] = await batchesOf({
        set,
        transforms: resolve(sections),
        batchSize: 1,
        shuffle: false,
        seed,
        workers: 0,
      });
      // The same draws the pipeline makes for image 0 of epoch 0.
      const rng = rngFor(seed, 0, 0);
      const ops = chain.transforms[0].geometry!(h, w, rng);
      const crop = ops.find((o): o is Extract<GeometryOp, { op: 'crop' }> => o.op === 'crop') ?? {
        x: 0,
        y: 0,
        width: w,
        height: h,
      };
      const draws = chain.transforms[1].fused!.draw(rng, 3) as Extract<FusedStep, { kind: 'jitter' }>;
      const flip = chain.transforms[2].fused!.draw(rng, 3) as Extract<FusedStep, { kind: 'flip' }>;
      const window = new Uint8Array(crop.width * crop.height * 3);
      for (let y = 0; y < crop.height; y++)
        window.set(
          pixels.subarray(((crop.y + y) * w + crop.x) * 3, ((crop.y + y) * w + crop.x + crop.width) * 3),
          y * crop.width * 3,
        );
      const resized = opencvCubicUint8(window, crop.height, crop.width, 40, 40);
      const jittered = tensorpackJitter(resized, draws);
      const mean = [0.485, 0.456, 0.406];
      const std = [0.229, 0.224, 0.225];
      const expected = new Float32Array(40 * 40 * 3);
      for (let y = 0; y < 40; y++)
        for (let x = 0; x < 40; x++)
          for (let c = 0; c < 3; c++) {
            const from = (y * 40 + (flip.horizontal ? 39 - x : x)) * 3 + c;
            expected[(y * 40 + x) * 3 + c] = jittered[from] * (1 / (255 * std[c])) + -mean[c] / std[c];
          }
      assert.deepEqual(fast.x, expected, `seed ${seed}: fast path`);
      // The general path's uint8 colour-jitter on the same resized pixels.
      const general = chain.transforms[1].apply(
        { data: Float32Array.from(resized), height: 40, width: 40, channels: 3 },
        rngAfterGeometry(seed, chain, h, w),
      );
      assert.deepEqual(Uint8Array.from(general.data), jittered, `seed ${seed}: general path`);
      if (tensorpackJitter(resized, draws, false).some((v, i) => v !== jittered[i])) wrapped++;
    }
    assert.ok(wrapped > 0, 'some draws saturate pixels out of range, which wrap');
  },
);

/** The random stream of image 0 of epoch 0 positioned after the geometry's draws, as color-jitter sees it. */
function rngAfterGeometry(seed: number, chain: TransformChain, h: number, w: number): () => number {
  const rng = rngFor(seed, 0, 0);
  chain.transforms[0].geometry!(h, w, rng);
  return rng;
}

test(
  'DCT scaling decodes a large crop at a reduced scale and stays close to the full-scale decode',
  { skip },
  async () => {
    // Smooth: a 1/8-scale decode averages 8×8 blocks, which a bilinear shrink of fine detail would alias instead.
    const file = await jpeg(join(dir, 'scaled', 'big.jpg'), 480, 640, 3, true);
    const transforms = resolve([
      { type: 'resize', shorter_side: 60, interpolation: 'linear' },
      { type: 'center-crop', size: 56 },
    ]);
    const o = { transforms, batchSize: 1, shuffle: false, seed: 0, workers: 0 };
    const [scaled] = await batchesOf({ ...o, set: new FileImageSet([file], Int32Array.of(0), 3) });
    const [full] = await batchesOf({ ...o, set: new FileImageSet([file], Int32Array.of(0), 3, 'stop', false, false) });
    const mean = scaled.x.reduce((s, v, i) => s + Math.abs(v - full.x[i]), 0) / scaled.x.length;
    assert.ok(mean > 0 && mean < 2, `mean |Δ| ${mean} levels between 1/8-scale and full decoding`);
  },
);

test(
  'worker threads make the same batches as the calling thread, also when the memory of each batch is released and refilled',
  { skip },
  async () => {
    const files = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => jpeg(join(dir, 'threads', `${i}.jpg`), 40 + 3 * i, 52, i)),
    );
    const set = new FileImageSet(
      files,
      Int32Array.from(files, (_, i) => i % 2),
      3,
    );
    const o = { set, transforms: resolve(IMAGENET_TRAIN('uint8')), batchSize: 4, shuffle: true, seed: 2 };
    const kept = await batchesOf({ ...o, workers: 0 }, 3);
    assert.deepEqual(await batchesOf({ ...o, workers: 2 }, 3), kept);
    // As the trainer does: each batch's memory goes back to the pipeline once it has been read.
    for (const workers of [0, 2]) {
      const p = new InputPipeline({ ...o, workers });
      const read: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++)
        for await (const b of p.batches(epoch)) {
          read.push(Array.from(b.x));
          b.release!();
        }
      await p.close();
      assert.deepEqual(
        read,
        kept.map((b) => Array.from(b.x)),
        `${workers} workers, buffers refilled`,
      );
    }
  },
);

test(
  'damaged JPEGs on the fast path: skipped with a count or stopping with the file named; huge headers refused before decoding',
  { skip },
  async () => {
    const good = await jpeg(join(dir, 'damaged', 'good.jpg'), 32, 32, 1);
    const cut = join(dir, 'damaged', 'cut.jpg');
    writeFileSync(cut, readFileSync(good).subarray(0, 400));
    // The same file with a frame header claiming 60,000 × 60,000 pixels.
    const huge = join(dir, 'damaged', 'huge.jpg');
    const bytes = Buffer.from(readFileSync(good));
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    bytes.writeUInt16BE(60000, sof + 5);
    bytes.writeUInt16BE(60000, sof + 7);
    writeFileSync(huge, bytes);
    const png = join(dir, 'damaged', 'ok.png');
    await sharp(photo(32, 32, 2), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(png);
    const transforms = resolve([{ type: 'center-crop', size: 24 }, { type: 'channel-normalize' }]);
    const files = [good, cut, huge, png];
    const logs: string[] = [];
    const set = new FileImageSet(files, Int32Array.of(0, 1, 2, 3), 3, 'skip');
    const [b] = await batchesOf({
      set,
      transforms,
      batchSize: 4,
      shuffle: false,
      seed: 0,
      workers: 0,
      log: (l) => logs.push(l),
    });
    assert.deepEqual(Array.from(b.y), [0, 3], 'the PNG takes the general path into its slot');
    assert.equal(b.shape[0], 2);
    assert.match(
      logs.join('\n'),
      new RegExp(
        `skipping damaged image ${huge} \\(its header says 60000×60000, 3600 megapixels: more than the 64-megapixel limit`,
      ),
    );
    assert.match(logs.join('\n'), new RegExp(`skipping damaged image ${cut}`));
    for (const bad of [cut, huge]) {
      const stop = new FileImageSet([good, bad], Int32Array.of(0, 1), 3, 'stop');
      await assert.rejects(
        batchesOf({ set: stop, transforms, batchSize: 2, shuffle: false, seed: 0, workers: 0 }),
        (e: Error) => e instanceof DamagedImageError && e.file === bad && /on_damaged: skip/.test(e.message),
      );
    }
  },
);

test('validation images are evaluated in file-name order across class folders (ImageNet val.txt order), training class by class', async () => {
  const root = join(dir, 'order');
  const classOf = ['n02', 'n01', 'n02', 'n03', 'n01', 'n03'];
  for (const [i, c] of classOf.entries()) {
    const name = `ILSVRC2012_val_0000000${i + 1}.JPEG`;
    for (const split of ['train', 'val']) {
      mkdirSync(join(root, split, c), { recursive: true });
      writeFileSync(
        join(root, split, c, name),
        await sharp(photo(8, 8, i), { raw: { width: 8, height: 8, channels: 3 } })
          .jpeg()
          .toBuffer(),
      );
    }
  }
  const splits = await build<{ train: FileImageSet; test: FileImageSet }>(imageFolder, { path: root }, ctx);
  assert.deepEqual([splits.train.dctScaling, splits.test.dctScaling], [true, true]);
  const full = await build<{ train: FileImageSet; test: FileImageSet }>(
    imageFolder,
    { path: root, jpeg_dct_scaling: false },
    ctx,
  );
  assert.deepEqual(
    [full.train.dctScaling, full.test.dctScaling],
    [false, false],
    'jpeg_dct_scaling: false reaches both splits',
  );
  assert.deepEqual(
    splits.test.files.map((f) => f.slice(root.length + 1)),
    classOf.map((c, i) => join('val', c, `ILSVRC2012_val_0000000${i + 1}.JPEG`)),
  );
  assert.deepEqual(Array.from(splits.test.labels), [1, 0, 1, 2, 0, 2]);
  assert.deepEqual(Array.from(splits.train.labels), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(
    scanImageFolder(join(root, 'val'), ['n01', 'n02', 'n03'], 3).labels,
    Int32Array.of(0, 0, 1, 1, 2, 2),
  );
});
