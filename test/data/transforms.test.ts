import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FloatImage, Transform } from '../../src/data/types.js';
import type { Component } from '../../src/registry/component.js';
import { ArrayImageSet } from '../../src/data/image-set.js';
import { normal, permutation, rngFor, uniform } from '../../src/data/rng.js';
import {
  addBrightness,
  addLighting,
  adjustContrast,
  clip,
  IMAGENET_EIGVAL,
  IMAGENET_EIGVEC,
  saturate,
} from '../../src/data/image-ops.js';
import { TransformChain, type PipelineTransform } from '../../src/data/transform-chain.js';
import { padCrop } from '../../src/components/transform/pad-crop.js';
import { centerPasteTransform } from '../../src/components/transform/center-paste.js';
import { randomCrop } from '../../src/components/transform/random-crop.js';
import { centerCrop } from '../../src/components/transform/center-crop.js';
import { flip } from '../../src/components/transform/flip.js';
import { perPixelMean } from '../../src/components/transform/per-pixel-mean.js';
import { channelNormalize } from '../../src/components/transform/channel-normalize.js';
import { scale } from '../../src/components/transform/scale.js';
import { brightness } from '../../src/components/transform/brightness.js';
import { contrast } from '../../src/components/transform/contrast.js';
import { gaussianDeform } from '../../src/components/transform/gaussian-deform.js';
import { randomSizedCrop } from '../../src/components/transform/random-sized-crop.js';
import { resizeTransform } from '../../src/components/transform/resize.js';
import { colorJitter } from '../../src/components/transform/color-jitter.js';
import { lighting } from '../../src/components/transform/lighting.js';
import { build, context, resolve } from '../helpers/components.js';

const ctx = context('.');
const make = (c: Component<any, any, any>, params: Record<string, unknown> = {}) =>
  build<PipelineTransform>(c, params, ctx);

/** An h×w×c image whose values are 1 + their flat index, so every pixel is identifiable. */
function numbered(h: number, w: number, c = 1): FloatImage {
  return { data: Float32Array.from({ length: h * w * c }, (_, i) => 1 + i), height: h, width: w, channels: c };
}

const at = (img: FloatImage, y: number, x: number, ch = 0) => img.data[(y * img.width + x) * img.channels + ch];
const same = (a: FloatImage, b: FloatImage) =>
  a.height === b.height && a.width === b.width && a.data.every((v, i) => v === b.data[i]);

test('pad-crop keeps the shape, is deterministic per seed and crops a window of the zero-padded image', async () => {
  const t = await make(padCrop, { pad: 2 });
  const img = numbered(6, 6);
  assert.deepEqual(t.outputShape([6, 6, 1]), [6, 6, 1]);
  const padded = (y: number, x: number) => (y >= 2 && y < 8 && x >= 2 && x < 8 ? at(img, y - 2, x - 2) : 0);
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const out = t.apply(img, rngFor(seed));
    assert.ok(same(out, t.apply(img, rngFor(seed))), 'same seed, same crop');
    const offsets: string[] = [];
    for (let oy = 0; oy <= 4; oy++) {
      for (let ox = 0; ox <= 4; ox++) {
        let match = true;
        for (let y = 0; y < 6 && match; y++)
          for (let x = 0; x < 6 && match; x++) match = at(out, y, x) === padded(oy + y, ox + x);
        if (match) offsets.push(`${oy},${ox}`);
      }
    }
    assert.equal(offsets.length, 1, 'the output is exactly one window of the padded image');
    seen.add(offsets[0]);
  }
  // tensorpack RandomCrop draws randint(2·pad): offsets 0..3, never 4; all 16 appear over 200 seeds.
  assert.deepEqual(
    [...seen].sort(),
    Array.from({ length: 16 }, (_, i) => `${Math.floor(i / 4)},${i % 4}`),
  );
});

test('pad-crop equals center-paste then random-crop with the same random draws', async () => {
  const pc = await make(padCrop, { pad: 4 });
  const paste = await make(centerPasteTransform, { size: 40 });
  const crop = await make(randomCrop, { size: 32 });
  const img = numbered(32, 32, 3);
  for (let seed = 0; seed < 5; seed++)
    assert.ok(same(pc.apply(img, rngFor(seed)), crop.apply(paste.apply(img, rngFor(seed)), rngFor(seed))));
});

test('random-crop offsets: tensorpack never takes the last one, torchvision does', async () => {
  const img = numbered(4, 4);
  const tp = await make(randomCrop, { size: 2 });
  const tv = await make(randomCrop, { size: 2, include_last_offset: true });
  const corners = (t: Transform) => new Set(Array.from({ length: 300 }, (_, s) => at(t.apply(img, rngFor(s)), 0, 0)));
  assert.deepEqual(
    [...corners(tp)].sort((a, b) => a - b),
    [1, 2, 5, 6],
  );
  assert.deepEqual(
    [...corners(tv)].sort((a, b) => a - b),
    [1, 2, 3, 5, 6, 7, 9, 10, 11],
  );
});

test('center-crop takes the window at floor((H−h)/2)', async () => {
  const t = await make(centerCrop, { size: [2, 3] });
  const out = t.apply(numbered(5, 6), rngFor(0));
  assert.deepEqual([out.height, out.width], [2, 3]);
  assert.equal(at(out, 0, 0), 1 + 1 * 6 + 1);
  assert.deepEqual(t.outputShape([5, 6, 3]), [2, 3, 3]);
});

test('flip mirrors with the given probabilities', async () => {
  const img = numbered(2, 3);
  const h = (await make(flip, { horizontal: 1 })).apply(img, rngFor(0));
  assert.deepEqual(Array.from(h.data), [3, 2, 1, 6, 5, 4]);
  const v = (await make(flip, { horizontal: 0, vertical: 1 })).apply(img, rngFor(0));
  assert.deepEqual(Array.from(v.data), [4, 5, 6, 1, 2, 3]);
  assert.ok(same((await make(flip, { horizontal: 0 })).apply(img, rngFor(0)), img));
  const half = await make(flip, {});
  const flipped = Array.from({ length: 400 }, (_, s) => at(half.apply(img, rngFor(s)), 0, 0) === 3).filter(
    Boolean,
  ).length;
  assert.ok(flipped > 150 && flipped < 250, `about half flipped: ${flipped}/400`);
});

test('per-pixel-mean subtracts the mean image over train+test (or train) and divides by 128', async () => {
  const train = new ArrayImageSet(Uint8Array.of(0, 10, 20, 30), Int32Array.of(0, 1), [1, 2, 1]);
  const test = new ArrayImageSet(Uint8Array.of(40, 50), Int32Array.of(0), [1, 2, 1]);
  const sections = [{ type: 'per-pixel-mean' }];
  const both = await TransformChain.build(resolve(sections), ctx);
  both.fit({ train, test });
  const out = both.apply({ data: Float32Array.of(148, 158), height: 1, width: 2, channels: 1 }, rngFor(0));
  assert.deepEqual(Array.from(out.data), [(148 - 20) / 128, (158 - 30) / 128]);
  const trainOnly = await TransformChain.build(resolve([{ type: 'per-pixel-mean', over: 'train', scale: 1 }]), ctx);
  trainOnly.fit({ train, test });
  assert.deepEqual(
    Array.from(trainOnly.apply({ data: Float32Array.of(10, 20), height: 1, width: 2, channels: 1 }, rngFor(0)).data),
    [0, 0],
  );
  const unfitted = await make(perPixelMean);
  assert.throws(() => unfitted.apply(numbered(1, 2), rngFor(0)), /before it was fitted/);
});

test('channel-normalize: ImageNet statistics by default, or measured on the training split', async () => {
  const t = await make(channelNormalize);
  const out = t.apply(
    { data: Float32Array.of(255 * 0.485, 255 * 0.456 + 255 * 0.224, 0), height: 1, width: 1, channels: 3 },
    rngFor(0),
  );
  assert.ok(
    Math.abs(out.data[0]) < 1e-6 && Math.abs(out.data[1] - 1) < 1e-6 && Math.abs(out.data[2] + 0.406 / 0.225) < 1e-6,
  );
  const set = new ArrayImageSet(Uint8Array.of(10, 200, 30, 100, 50, 100), Int32Array.of(0, 1), [1, 1, 3]);
  const chain = await TransformChain.build(resolve([{ type: 'channel-normalize', compute: true }]), ctx);
  chain.fit({ train: set });
  const a = chain.apply({ data: Float32Array.of(10, 200, 30), height: 1, width: 1, channels: 3 }, rngFor(0));
  const b = chain.apply({ data: Float32Array.of(100, 50, 100), height: 1, width: 1, channels: 3 }, rngFor(0));
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(a.data[c] + b.data[c]) < 1e-5, 'zero mean per channel');
    assert.ok(Math.abs(a.data[c] ** 2 + b.data[c] ** 2 - 2) < 1e-4, 'unit variance per channel');
  }
  assert.throws(() => t.apply(numbered(1, 1, 2), rngFor(0)), /3 means and 3 stds for 2-channel images/);
});

test('scale divides by 255', async () => {
  assert.deepEqual(
    Array.from(
      (await make(scale)).apply({ data: Float32Array.of(255, 51), height: 1, width: 2, channels: 1 }, rngFor(0)).data,
    ),
    [1, Math.fround(0.2)],
  );
});

test('brightness and contrast stay within their ranges and clip to [0, 255]', async () => {
  const img: FloatImage = { data: Float32Array.of(0, 100, 250, 50), height: 2, width: 2, channels: 1 };
  const b = await make(brightness, { delta: 10 });
  for (let s = 0; s < 50; s++) {
    const out = b.apply(img, rngFor(s));
    const shift = out.data[1] - 100;
    assert.ok(Math.abs(shift) <= 10);
    assert.ok(Math.abs(out.data[0] - Math.max(0, shift)) < 1e-4);
    assert.ok(Math.abs(out.data[2] - Math.min(255, 250 + shift)) < 1e-4);
  }
  const c = await make(contrast, { range: [0.5, 0.5] });
  assert.deepEqual(Array.from(c.apply(img, rngFor(0)).data), [50, 100, 175, 75]);
});

test('gaussian-deform: zero offsets leave the image, others warp it smoothly and reproducibly', async () => {
  const img = numbered(10, 10, 2);
  assert.ok(same((await make(gaussianDeform, { max_offset: 0 })).apply(img, rngFor(0)), img));
  const t = await make(gaussianDeform, {});
  const a = t.apply(img, rngFor(4));
  assert.ok(same(a, t.apply(img, rngFor(4))));
  assert.ok(!same(a, img));
  assert.deepEqual(t.outputShape([40, 40, 3]), [40, 40, 3]);
  assert.ok(
    a.data.every((v) => v >= 1 && v <= 200),
    'samples stay inside the source range',
  );
});

test('random-sized-crop gives size×size, reproducibly', async () => {
  const t = await make(randomSizedCrop, { size: 8 });
  const img = numbered(20, 30, 3);
  const a = t.apply(img, rngFor(1));
  assert.deepEqual([a.height, a.width, a.channels], [8, 8, 3]);
  assert.ok(same(a, t.apply(img, rngFor(1))));
  assert.ok(!same(a, t.apply(img, rngFor(2))));
});

test('resize scales the shorter side and interpolates like OpenCV', async () => {
  const t = await make(resizeTransform, { shorter_side: 4 });
  assert.deepEqual(t.outputShape([2, 3, 1]), [4, 6, 1]);
  assert.deepEqual(t.outputShape([375, 500, 3]).slice(0, 2), [4, 5]);
  const up = t.apply({ data: Float32Array.of(0, 10, 0, 10), height: 2, width: 2, channels: 1 }, rngFor(0));
  assert.deepEqual(Array.from(up.data.subarray(0, 4)), [0, 2.5, 7.5, 10]);
  const cubic = await make(resizeTransform, { shorter_side: 7, interpolation: 'cubic' });
  const flat = cubic.apply({ data: new Float32Array(12).fill(9), height: 3, width: 4, channels: 1 }, rngFor(0));
  assert.ok(
    flat.data.every((v) => Math.abs(v - 9) < 1e-5),
    'a constant image stays constant',
  );
});

test('color-jitter is reproducible, changes the colours and clips', async () => {
  const t = await make(colorJitter);
  const img: FloatImage = {
    data: Float32Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) % 256),
    height: 4,
    width: 4,
    channels: 3,
  };
  const a = t.apply(img, rngFor(3));
  assert.ok(same(a, t.apply(img, rngFor(3))));
  assert.ok(!same(a, img));
  assert.ok(a.data.every((v) => v >= 0 && v <= 255));
});

test('color-jitter in one pass equals its four steps applied one by one in the drawn order', async () => {
  const params = {
    brightness: 30,
    contrast: [0.8, 1.2],
    saturation: 0.4,
    lighting: 0.1,
    lighting_eigval_scale: 255,
    clip: true,
  };
  const t = await make(colorJitter, params);
  const img: FloatImage = {
    data: Float32Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 53) % 256),
    height: 5,
    width: 4,
    channels: 3,
  };
  for (const seed of [0, 1, 2, 3, 4, 5]) {
    // The draws in tensorpack's order: the step order, then each step's parameter.
    const rng = rngFor(seed);
    const order = permutation(4, rng);
    const shift = uniform(rng, -30, 30);
    const factor = uniform(rng, 0.8, 1.2);
    const sat = 1 + uniform(rng, -0.4, 0.4);
    const alpha = [0, 1, 2].map(() => normal(rng) * 0.1);
    const steps = [
      (x: FloatImage) => addBrightness(x, shift),
      (x: FloatImage) => adjustContrast(x, factor),
      (x: FloatImage) => saturate(x, sat),
      (x: FloatImage) =>
        addLighting(
          x,
          alpha,
          IMAGENET_EIGVAL.map((v) => v * 255),
          IMAGENET_EIGVEC,
        ),
    ];
    const expected = clip(Array.from(order).reduce((x, k) => steps[k](x), img));
    const got = t.apply(img, rngFor(seed));
    got.data.forEach((v, i) =>
      assert.ok(Math.abs(v - expected.data[i]) < 1e-3, `seed ${seed} value ${i}: ${v} vs ${expected.data[i]}`),
    );
  }
});

test('channel_order bgr: saturation and lighting on the reversed image are the RGB ones reversed (BGR grey, eigen-decomposition reversed as the ImageNet code)', async () => {
  const img: FloatImage = {
    data: Float32Array.from({ length: 3 * 3 * 3 }, (_, i) => (i * 53) % 256),
    height: 3,
    width: 3,
    channels: 3,
  };
  const reversed = (x: FloatImage): FloatImage => ({
    ...x,
    data: x.data.map((_, i) => x.data[i - (i % 3) + 2 - (i % 3)]),
  });
  const saturationOnly = { brightness: 0, contrast: [1, 1], saturation: 0.4, lighting: 0, clip: false };
  const rgb = (await make(colorJitter, saturationOnly)).apply(img, rngFor(4));
  const bgr = (await make(colorJitter, { ...saturationOnly, channel_order: 'bgr' })).apply(reversed(img), rngFor(4));
  assert.ok(!same(rgb, img));
  for (let i = 0; i < img.data.length; i++)
    assert.ok(Math.abs(bgr.data[i] - reversed(rgb).data[i]) < 1e-3, `pixel value ${i}`);
  const { lightingEigen } = await import('../../src/data/image-ops.js');
  const bgrEigen = lightingEigen(IMAGENET_EIGVAL, IMAGENET_EIGVEC, 'bgr');
  assert.deepEqual(bgrEigen.eigval, [0.0045, 0.0188, 0.2175]);
  assert.deepEqual(bgrEigen.eigvec[0], [0.4203, -0.6948, -0.5836]);
  const alpha = [0.3, -1.2, 0.7];
  const litBgr = addLighting(reversed(img), alpha, bgrEigen.eigval, bgrEigen.eigvec);
  const litRgb = addLighting(img, [...alpha].reverse(), IMAGENET_EIGVAL, IMAGENET_EIGVEC);
  for (let i = 0; i < img.data.length; i++)
    assert.ok(Math.abs(litBgr.data[i] - reversed(litRgb).data[i]) < 1e-4, `lit value ${i}`);
});

test('lighting adds one RGB offset to every pixel along the ImageNet principal components', async () => {
  const t = await make(lighting, { std: 1 });
  const img: FloatImage = {
    data: Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => 100 + i),
    height: 2,
    width: 2,
    channels: 3,
  };
  const out = t.apply(img, rngFor(9));
  const delta = [0, 1, 2].map((c) => out.data[c] - img.data[c]);
  for (let p = 0; p < 4; p++)
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.data[p * 3 + c] - img.data[p * 3 + c] - delta[c]) < 1e-3);
  assert.ok(
    delta.some((d) => Math.abs(d) > 0.5),
    `visible change: ${delta}`,
  );
  assert.ok(same((await make(lighting, { std: 0 })).apply(img, rngFor(9)), img));
});

test('transform chains reject unknown types and invalid parameters', async () => {
  assert.throws(() => resolve([{ type: 'no-such-transform' }]), /no transform component 'no-such-transform'/);
  await assert.rejects(
    TransformChain.build(resolve([{ type: 'flip', horizontal: 2 }]), ctx),
    /transform flip: \/horizontal/,
  );
});
