import { spawnSync } from 'node:child_process';

/** A message as `protoc --decode_raw` prints it: field number -> values (strings as printed, or nested messages). */
export interface RawMessage {
  [field: string]: (string | RawMessage)[];
}

/** Why protoc-based checks are skipped, or false when protoc is on the PATH. */
export const protocMissing: string | false =
  spawnSync('protoc', ['--version']).status === 0
    ? false
    : 'protoc not found: install Debian package protobuf-compiler to decode records independently';

/** Decodes protobuf bytes with protoc, which needs no schema and shares no code with ours. */
export function decodeRaw(bytes: Uint8Array): RawMessage {
  const out = spawnSync('protoc', ['--decode_raw'], { input: bytes, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`protoc --decode_raw failed: ${out.stderr}`);
  const stack: RawMessage[] = [{}];
  for (const line of out.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const top = stack[stack.length - 1];
    if (line === '}') {
      stack.pop();
      continue;
    }
    const open = /^(\d+) \{$/.exec(line);
    if (open) {
      const child: RawMessage = {};
      (top[open[1]] ??= []).push(child);
      stack.push(child);
      continue;
    }
    const [, field, value] = /^(\d+): (.*)$/.exec(line) ?? [];
    (top[field] ??= []).push(value);
  }
  return stack[0];
}

/** Follows a path of field numbers through first values: get(m, 5, 1, 8) is m.summary.value[0].tensor. */
export function get(message: RawMessage, ...path: number[]): string | RawMessage | undefined {
  let at: string | RawMessage | undefined = message;
  for (const field of path) at = typeof at === 'object' ? at[String(field)]?.[0] : undefined;
  return at;
}

/** The bytes of a string protoc printed in C escapes ("\316\265" is UTF-8 for ε). */
export function unescape(printed: string): Buffer {
  const body = printed.slice(1, -1);
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      bytes.push(...Buffer.from(body[i], 'latin1'));
    } else if (/[0-7]/.test(body[i + 1])) {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(simple[body[i + 1]]);
      i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** The 32-bit pattern protoc prints for a fixed32 float field. */
export function floatBits(value: number): string {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return `0x${b.readUInt32LE().toString(16).padStart(8, '0')}`;
}

/** The 64-bit pattern protoc prints for a fixed64 double field. */
export function doubleBits(value: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return `0x${b.readBigUInt64LE().toString(16).padStart(16, '0')}`;
}
