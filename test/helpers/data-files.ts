import { deflateSync } from 'node:zlib';

/** CIFAR binary records: label byte(s), then R, G and B planes; pixel values derive from (image, channel, position). */
export function cifarRecords(labels: number[][]): {
  bytes: Uint8Array;
  pixel: (n: number, row: number, col: number, ch: number) => number;
} {
  const pixel = (n: number, row: number, col: number, ch: number) => (n * 31 + ch * 7 + row * 3 + col) % 256;
  const per = labels[0].length + 3072;
  const bytes = new Uint8Array(labels.length * per);
  labels.forEach((ls, n) => {
    bytes.set(ls, n * per);
    for (let ch = 0; ch < 3; ch++)
      for (let row = 0; row < 32; row++)
        for (let col = 0; col < 32; col++)
          bytes[n * per + ls.length + ch * 1024 + row * 32 + col] = pixel(n, row, col, ch);
  });
  return { bytes, pixel };
}

// MATLAB level-5 MAT-file writing, as MATLAB's `save` does it (little-endian, each variable zlib-compressed).
const MI = { INT8: 1, UINT8: 2, INT32: 5, UINT32: 6, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 };

function element(type: number, body: Uint8Array, allowSmall = true): Uint8Array {
  if (allowSmall && body.length <= 4) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setUint32(0, (body.length << 16) | type, true);
    out.set(body, 4);
    return out;
  }
  const out = new Uint8Array(8 + Math.ceil(body.length / 8) * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface MatVar {
  name: string;
  /** mxClass: 6 double, 9 uint8. */
  mxClass: number;
  dims: number[];
  values: ArrayLike<number>;
  /** Storage type: MATLAB stores integer-valued doubles as uint8 when it can. */
  storage: 'uint8' | 'double';
}

export function matFile(vars: MatVar[], compress: boolean): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(new TextEncoder().encode('MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024'));
  header.fill(0, 116, 124);
  new DataView(header.buffer).setUint16(124, 0x0100, true);
  header.set([0x49, 0x4d], 126);
  const elements = vars.map((v) => {
    const flags = new Uint8Array(8);
    flags[0] = v.mxClass;
    const dims = new Uint8Array(new Int32Array(v.dims).buffer);
    const data = v.storage === 'uint8' ? Uint8Array.from(v.values) : new Uint8Array(Float64Array.from(v.values).buffer);
    const matrix = element(
      MI.MATRIX,
      concat([
        element(MI.UINT32, flags),
        element(MI.INT32, dims),
        element(MI.INT8, new TextEncoder().encode(v.name)),
        element(v.storage === 'uint8' ? MI.UINT8 : MI.DOUBLE, data),
      ]),
      false,
    );
    if (!compress) return matrix;
    const z = deflateSync(matrix);
    const tag = new Uint8Array(8);
    new DataView(tag.buffer).setUint32(0, MI.COMPRESSED, true);
    new DataView(tag.buffer).setUint32(4, z.length, true);
    return concat([tag, z]);
  });
  return concat([header, ...elements]);
}

/** An SVHN-style file: X 32×32×3×N column-major uint8 from `pixel`, y N×1 (digit 0 stored as 10). */
export function svhnMat(
  digits: number[],
  pixel: (n: number, row: number, col: number, ch: number) => number,
  opts: { compress: boolean; labelStorage: 'uint8' | 'double' },
): Uint8Array {
  const n = digits.length;
  const X = new Uint8Array(32 * 32 * 3 * n);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < 3; ch++)
      for (let col = 0; col < 32; col++)
        for (let row = 0; row < 32; row++) X[row + 32 * col + 1024 * ch + 3072 * i] = pixel(i, row, col, ch);
  return matFile(
    [
      { name: 'X', mxClass: 9, dims: [32, 32, 3, n], values: X, storage: 'uint8' },
      {
        name: 'y',
        mxClass: 6,
        dims: [n, 1],
        values: digits.map((d) => (d === 0 ? 10 : d)),
        storage: opts.labelStorage,
      },
    ],
    opts.compress,
  );
}
