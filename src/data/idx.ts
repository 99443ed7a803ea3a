import { constants as zlib, gunzipSync } from 'node:zlib';
import { readRegularFile } from '../util/regular-file.js';
import { gunzipFile } from './gzip.js';
import { InputError } from '../util/errors.js';

/** An IDX array (the MNIST file format): big-endian dims, unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Whether the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const REPLACE = 'replace the file (download it again, or delete it so that epsilab downloads it)';

interface IdxHeader {
  dims: number[];
  /** Where the data begin, and how many bytes the header promises. */
  start: number;
  count: number;
}

/** The header of IDX bytes (all of them, or the first inflated ones); a malformed one is an InputError naming the file. */
function readHeader(bytes: Uint8Array, name: string): IdxHeader {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0)
    throw new InputError(
      `${name}: not an IDX file (bad magic number: expected 00 00 08 <dims>, found ${hex(bytes.subarray(0, 4)) || 'nothing'}): ${REPLACE}`,
    );
  const type = bytes[2];
  if (type !== 0x08)
    throw new InputError(
      `${name}: IDX element type 0x${type.toString(16)} is not supported (epsilab reads unsigned-byte IDX files)`,
    );
  const ndims = bytes[3];
  if (bytes.length < 4 + 4 * ndims)
    throw new InputError(
      `${name}: truncated IDX header (${ndims} dimensions need ${4 + 4 * ndims} bytes, the file holds ${bytes.length}): ${REPLACE}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_IDX_BYTES)
    throw new InputError(
      `${name}: header says ${dims.join('×')} = ${count.toLocaleString('en')} bytes, more than the ${MAX_IDX_BYTES / 2 ** 30} GiB an IDX file epsilab reads may hold: ${REPLACE}`,
    );
  return { dims, start: 4 + 4 * ndims, count };
}

/** The largest IDX array read (MNIST's training images are 47 MB). */
const MAX_IDX_BYTES = 2 ** 31;
/** Compressed bytes inflated first for the header: deflate expands at most 1032-fold, a header is at most 1 KiB. */
const HEAD_BYTES = 4096;

/**
 * Inflates a gzipped IDX file no further than its header promises: the header is read from the first inflated bytes,
 * so a gzip bomb (or any other file) is refused by its magic number before it is inflated, and inflating stops one
 * byte past the promise.
 */
function gunzipIdx(input: Uint8Array, name: string): Uint8Array {
  let head: Uint8Array;
  try {
    head = gunzipSync(input.subarray(0, HEAD_BYTES), { finishFlush: zlib.Z_SYNC_FLUSH });
  } catch {
    // A stream damaged at its start: inflating it whole (bounded) words the damage.
    head = gunzipFile(input, name, MAX_IDX_BYTES);
  }
  const { dims, start, count } = readHeader(head, name);
  try {
    return gunzipFile(input, name, start + count + 1);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    throw new InputError(
      `${name}: header says ${dims.join('×')} = ${count} bytes but the file holds more (inflating stopped there): ${REPLACE}`,
    );
  }
}

/** Parses IDX bytes, gunzipping first when they are gzipped; a truncated or malformed file is an InputError naming it. */
export function parseIdx(input: Uint8Array, name = 'IDX data'): IdxArray {
  const bytes = isGzip(input) ? gunzipIdx(input, name) : input;
  const { dims, start, count } = readHeader(bytes, name);
  if (bytes.length - start !== count) {
    const records = dims.length
      ? `${Math.floor((bytes.length - start) / (count / dims[0] || 1))} of ${dims[0]} records`
      : 'a partial record';
    throw new InputError(
      `${name}: header says ${dims.join('×')} = ${count} bytes but the file holds ${bytes.length - start} (${records}): ${REPLACE}`,
    );
  }
  return { dims, data: bytes.subarray(start) };
}

export function readIdx(path: string): IdxArray {
  return parseIdx(readRegularFile(path, MAX_IDX_BYTES, 'an IDX file this large is not a dataset epsilab reads'), path);
}

/** Writes an IDX unsigned-byte array (tests and the quickstart-subset script write real files with it). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
