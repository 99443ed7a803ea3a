import type { Sharp, SharpOptions } from 'sharp';
import type { RawImage } from './types.js';
import type { NativePlan } from './geometry.js';
import { DamagedImageError } from './decode-image.js';

export type SharpModule = ((input: Buffer, options?: SharpOptions) => Sharp) & {
  concurrency(n: number): number;
  cache(on: boolean): unknown;
};

let loading: Promise<SharpModule | string> | null = null;

/**
 * libvips through sharp, set up for many images decoded at once: one libvips thread per image (parallelism comes from
 * decoding several images together on libuv's pool) and no operation cache (each file is read once per epoch). Resolves
 * to the reason when sharp cannot be loaded, so the caller can say why it falls back to pure JavaScript.
 */
export function loadSharp(): Promise<SharpModule | string> {
  return (loading ??= import('sharp').then(
    (m) => {
      const sharp = m.default as unknown as SharpModule;
      sharp.concurrency(1);
      sharp.cache(false);
      return sharp;
    },
    (e: Error) => `sharp could not be loaded (${String(e.message).split('\n')[0]})`,
  ));
}

/** Height and width from a JPEG's frame header or a PNG's IHDR chunk, without decoding; null when neither is found. */
export function imageSize(bytes: Uint8Array): { height: number; width: number } | null {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes.length >= 24) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let p = 2;
  while (p + 9 < bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p += 1;
      continue;
    }
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (bytes[p + 5] << 8) | bytes[p + 6], width: (bytes[p + 7] << 8) | bytes[p + 8] };
    }
    p += 2 + length;
  }
  return null;
}

/**
 * Decodes a JPEG or PNG held in `bytes` through the plan (crop, resize, crop) in one libvips pass, to 8-bit sRGB
 * (greyscale and CMYK files converted, alpha dropped), then to `channels` (1: ITU-R 601 luminance, as the JS path).
 */
export async function decodeNative(
  sharp: SharpModule,
  bytes: Buffer,
  file: string,
  plan: NativePlan,
  channels: number,
): Promise<RawImage> {
  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    // 'truncated' rejects cut-off files but lets the harmless warnings many real JPEGs raise pass, as PIL does.
    let p = sharp(bytes, { failOn: 'truncated' });
    if (plan.before)
      p = p.extract({ left: plan.before.x, top: plan.before.y, width: plan.before.width, height: plan.before.height });
    if (plan.resize)
      p = p.resize(plan.resize.width, plan.resize.height, {
        fit: 'fill',
        kernel: plan.resize.interpolation,
        fastShrinkOnLoad: true,
      });
    if (plan.after)
      p = p.extract({ left: plan.after.x, top: plan.after.y, width: plan.after.width, height: plan.after.height });
    ({ data, info } = await p.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new DamagedImageError(file, String((e as Error).message).split('\n')[0]);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const { width, height } = info;
  if (info.channels !== 3) throw new DamagedImageError(file, `decoded to ${info.channels} channels, expected RGB`);
  if (channels === 3) return { data: pixels, height, width, channels };
  const grey = new Uint8Array(height * width);
  for (let i = 0; i < grey.length; i++)
    grey[i] = Math.round(0.299 * pixels[3 * i] + 0.587 * pixels[3 * i + 1] + 0.114 * pixels[3 * i + 2]);
  return { data: grey, height, width, channels: 1 };
}
