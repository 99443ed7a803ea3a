import { constants, inflateSync } from 'node:zlib';
import { InputError } from '../util/errors.js';

const REPLACE = 'replace the file (download it again)';

/** A numeric MATLAB array as stored: column-major values in the element type the file used. */
export interface MatArray {
  name: string;
  /** mxClass id: 6 double, 7 single, 8 int8, 9 uint8, 10 int16, 11 uint16, 12 int32, 13 uint32, 14 int64, 15 uint64. */
  mxClass: number;
  dims: number[];
  data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
}

const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

interface Element {
  type: number;
  body: Uint8Array;
  /** Offset of the next element. */
  next: number;
}

/**
 * Reads the numeric variables of a MATLAB level-5 MAT-file: the 128-byte header (endianness from its last two
 * bytes), then data elements, each miMATRIX possibly wrapped in a zlib-compressed miCOMPRESSED element.
 */
export function parseMat5(file: Uint8Array, source = 'MAT-file'): Map<string, MatArray> {
  if (file.length < 128)
    throw new InputError(
      `${source}: too short for a MAT-file header (${file.length} bytes, a header is 128): ${REPLACE}`,
    );
  const marker = String.fromCharCode(file[126], file[127]);
  if (marker !== 'IM' && marker !== 'MI')
    throw new InputError(
      `${source}: not a MATLAB 5 MAT-file (expected the IM/MI endian indicator at byte 126, found ${JSON.stringify(marker)}): ${REPLACE}`,
    );
  const little = marker === 'IM';
  const out = new Map<string, MatArray>();
  const walk = (bytes: Uint8Array, start: number): void => {
    for (let pos = start; pos + 8 <= bytes.length; ) {
      const el = readElement(bytes, pos, little, source);
      if (el.type === MI_COMPRESSED) walk(inflate(el.body, pos, little, source), 0);
      else if (el.type === MI_MATRIX && el.body.length > 0) {
        const array = readMatrix(el.body, little, source);
        if (array) out.set(array.name, array);
      }
      pos = el.next;
    }
  };
  walk(file, 128);
  return out;
}

/** A compressed element inflates to one element: at most this many bytes, its header's promise checked while inflating. */
const MAX_INFLATED_BYTES = 2 ** 31;

function inflate(body: Uint8Array, pos: number, little: boolean, source: string): Uint8Array {
  const damaged = (err: unknown) =>
    new InputError(
      `${source}: the compressed element at byte ${pos} is damaged (${(err as Error).message}): ${REPLACE}`,
    );
  let head: Uint8Array;
  try {
    // The inner element's 8-byte tag, from the start of the stream alone (a sync flush yields what is decodable)
    head = inflateSync(body.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw damaged(err);
  }
  if (head.length < 8) throw damaged(new Error('no element tag at its start'));
  const declared = 8 + new DataView(head.buffer, head.byteOffset, 8).getUint32(4, little);
  if (declared > MAX_INFLATED_BYTES)
    throw new InputError(
      `${source}: the compressed element at byte ${pos} declares ${declared.toLocaleString('en')} bytes, more than the ${MAX_INFLATED_BYTES.toLocaleString('en')} epsilab inflates: ${REPLACE}`,
    );
  try {
    return inflateSync(body, { maxOutputLength: Math.ceil(declared / 8) * 8 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new InputError(
        `${source}: the compressed element at byte ${pos} inflates past the ${declared.toLocaleString('en')} bytes its header declares: ${REPLACE}`,
      );
    throw damaged(err);
  }
}

function readElement(bytes: Uint8Array, pos: number, little: boolean, source: string): Element {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.getUint32(pos, little);
  // Small data element: byte count in the upper 16 bits, type in the lower, data in the tag's second word.
  if (first >>> 16 !== 0) {
    const n = first >>> 16;
    return { type: first & 0xffff, body: bytes.subarray(pos + 4, pos + 4 + n), next: pos + 8 };
  }
  const n = view.getUint32(pos + 4, little);
  if (pos + 8 + n > bytes.length)
    throw new InputError(
      `${source}: element at byte ${pos} declares ${n} bytes but only ${bytes.length - pos - 8} follow (truncated): ${REPLACE}`,
    );
  const padded = first === MI_COMPRESSED ? n : Math.ceil(n / 8) * 8;
  return { type: first, body: bytes.subarray(pos + 8, pos + 8 + n), next: pos + 8 + padded };
}

function readMatrix(body: Uint8Array, little: boolean, source: string): MatArray | null {
  const flags = readElement(body, 0, little, source);
  const dimsEl = readElement(body, flags.next, little, source);
  const nameEl = readElement(body, dimsEl.next, little, source);
  if (flags.type !== MI_UINT32 || dimsEl.type !== MI_INT32)
    throw new InputError(`${source}: malformed miMATRIX (flags or dimensions missing): ${REPLACE}`);
  const flagWord = new DataView(flags.body.buffer, flags.body.byteOffset, 8).getUint32(0, little);
  const mxClass = flagWord & 0xff;
  const name = new TextDecoder().decode(nameEl.body);
  if (!NUMERIC_CLASSES.has(mxClass)) return null;
  if (flagWord & 0x800) throw new InputError(`${source}: variable ${name} is complex; only real arrays are supported`);
  const dims = Array.from(typed(dimsEl.type, dimsEl.body, little, source));
  const real = readElement(body, nameEl.next, little, source);
  return { name, mxClass, dims, data: typed(real.type, real.body, little, source) };
}

/** The element's values as a typed array (views for bytes, converted copies otherwise; 64-bit ints as doubles). */
function typed(type: number, body: Uint8Array, little: boolean, source: string): MatArray['data'] {
  if (type === MI_UINT8) return body;
  if (type === MI_INT8) return new Int8Array(body.buffer, body.byteOffset, body.length);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const read = (size: number, make: (n: number) => MatArray['data'], get: (o: number) => number) => {
    const out = make(body.length / size);
    for (let i = 0; i < out.length; i++) out[i] = get(i * size);
    return out;
  };
  switch (type) {
    case 3:
      return read(
        2,
        (n) => new Int16Array(n),
        (o) => view.getInt16(o, little),
      );
    case 4:
      return read(
        2,
        (n) => new Uint16Array(n),
        (o) => view.getUint16(o, little),
      );
    case MI_INT32:
      return read(
        4,
        (n) => new Int32Array(n),
        (o) => view.getInt32(o, little),
      );
    case MI_UINT32:
      return read(
        4,
        (n) => new Uint32Array(n),
        (o) => view.getUint32(o, little),
      );
    case 7:
      return read(
        4,
        (n) => new Float32Array(n),
        (o) => view.getFloat32(o, little),
      );
    case 9:
      return read(
        8,
        (n) => new Float64Array(n),
        (o) => view.getFloat64(o, little),
      );
    case 12:
      return read(
        8,
        (n) => new Float64Array(n),
        (o) => Number(view.getBigInt64(o, little)),
      );
    case 13:
      return read(
        8,
        (n) => new Float64Array(n),
        (o) => Number(view.getBigUint64(o, little)),
      );
    default:
      throw new InputError(`${source}: MAT data element type ${type} is not numeric: ${REPLACE}`);
  }
}
