import { createHash } from 'node:crypto';
import type * as tfc from '@tensorflow/tfjs-core';

export interface PackedEntry {
  name: string;
  shape: number[];
  /** Position and length in float32 elements within the packed buffer. */
  offset: number;
  length: number;
}

/** Named float32 tensors laid end to end in one buffer (checkpoints and exported models share this layout). */
export async function packTensors(
  named: [string, tfc.Tensor][],
): Promise<{ entries: PackedEntry[]; bytes: Uint8Array }> {
  const entries: PackedEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of named) {
    const data = (await t.data()) as Float32Array;
    entries.push({ name, shape: t.shape, offset, length: data.length });
    chunks.push(data);
    offset += data.length;
  }
  const all = new Float32Array(offset);
  for (const [i, c] of chunks.entries()) all.set(c, entries[i].offset);
  return { entries, bytes: new Uint8Array(all.buffer) };
}

/** Hex SHA-256 of a file's bytes, recorded beside checkpoints and exported models so damage is found before use. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
