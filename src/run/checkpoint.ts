import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { packTensors, type PackedEntry } from './pack.js';

interface Manifest<M> {
  format: 'epsilab-checkpoint-1';
  entries: PackedEntry[];
  meta: M;
}

const KEEP = 2;

/**
 * Write a checkpoint as checkpoints/step-<n>/ (weights.bin + manifest.json): it is assembled under a temporary
 * name, renamed into place, and only then does checkpoints/latest.json point at it, so a crash at any moment
 * leaves the previous checkpoint intact.
 */
export async function saveCheckpoint<M>(runDir: string, step: number, tensors: Record<string, tfc.Tensor>, meta: M): Promise<string> {
  const root = join(runDir, 'checkpoints');
  const name = `step-${String(step).padStart(9, '0')}`;
  const tmp = join(root, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { entries, bytes } = await packTensors(Object.entries(tensors));
  writeFileAtomic(join(tmp, 'weights.bin'), bytes);
  const manifest: Manifest<M> = { format: 'epsilab-checkpoint-1', entries, meta };
  writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeJsonAtomic(join(root, 'latest.json'), { checkpoint: name, step });
  for (const old of listCheckpoints(root).slice(0, -KEEP)) if (old !== name) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

function listCheckpoints(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => /^step-\d+$/.test(n)).sort();
}

export interface LoadedCheckpoint<M> {
  path: string;
  meta: M;
  /** Float32 values by name; the caller turns them into tensors on its backend. */
  values: Map<string, { shape: number[]; data: Float32Array }>;
}

/** The checkpoint latest.json names, or null when the run has none. */
export function loadLatestCheckpoint<M>(runDir: string): LoadedCheckpoint<M> | null {
  const root = join(runDir, 'checkpoints');
  const latest = join(root, 'latest.json');
  if (!existsSync(latest)) return null;
  const { checkpoint } = JSON.parse(readFileSync(latest, 'utf8')) as { checkpoint: string };
  return loadCheckpoint<M>(join(root, checkpoint));
}

export function loadCheckpoint<M>(dir: string): LoadedCheckpoint<M> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest<M>;
  const buf = readFileSync(join(dir, 'weights.bin'));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of manifest.entries) values.set(e.name, { shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) });
  return { path: dir, meta: manifest.meta, values };
}
