import { ArrayImageSet, sharedBytes } from './image-set.js';
import { rngFor, normal } from './rng.js';

export interface SyntheticOptions {
  size: number;
  numClasses: number;
  shape: [number, number, number];
  /** Standard deviation of per-pixel noise, in pixel units (0..255). */
  noise: number;
  seed: number;
  /** Which split (keys the random stream, so train and test differ but share the class prototypes). */
  split: number;
}

/**
 * Seeded images a small network can learn: each class has a smooth random prototype (a sum of a few sinusoids),
 * every image is its class's prototype shifted by a few pixels plus noise. Labels cycle through the classes.
 */
export function syntheticImages(o: SyntheticOptions): ArrayImageSet {
  const [h, w, c] = o.shape;
  const prototypes = Array.from({ length: o.numClasses }, (_, k) => prototype(h, w, c, rngFor(o.seed, 0x5eed, k)));
  const pixels = sharedBytes(o.size * h * w * c);
  const labels = new Int32Array(o.size);
  for (let i = 0; i < o.size; i++) {
    const rng = rngFor(o.seed, o.split, i);
    const label = i % o.numClasses;
    labels[i] = label;
    const dy = Math.floor(rng() * 5) - 2;
    const dx = Math.floor(rng() * 5) - 2;
    const proto = prototypes[label];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sy = Math.min(h - 1, Math.max(0, y + dy));
        const sx = Math.min(w - 1, Math.max(0, x + dx));
        for (let ch = 0; ch < c; ch++) {
          const v = proto[(sy * w + sx) * c + ch] + o.noise * normal(rng);
          pixels[((i * h + y) * w + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return new ArrayImageSet(pixels, labels, o.shape);
}

function prototype(h: number, w: number, c: number, rng: () => number): Float32Array {
  const waves = Array.from({ length: 3 }, () => ({
    fy: 1 + rng() * 3,
    fx: 1 + rng() * 3,
    phase: rng() * 2 * Math.PI,
    amp: 30 + rng() * 40,
    ch: rng(),
  }));
  const out = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let v = 128;
        for (const wave of waves) {
          const tint = 1 + 0.5 * Math.cos(2 * Math.PI * (wave.ch + ch / c));
          v +=
            wave.amp *
            tint *
            Math.sin((2 * Math.PI * (wave.fy * y)) / h + (2 * Math.PI * (wave.fx * x)) / w + wave.phase);
        }
        out[(y * w + x) * c + ch] = v;
      }
    }
  }
  return out;
}
