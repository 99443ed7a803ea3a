import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { InputError } from '../util/errors.js';
import { packTensors, sha256, type PackedEntry } from './pack.js';

/** Format 2 adds each file's size and SHA-256, so a damaged checkpoint is recognised before it is loaded. */
interface Manifest<M> {
  format: 'epsilab-checkpoint-1' | 'epsilab-checkpoint-2';
  entries: PackedEntry[];
  files?: Record<string, { bytes: number; sha256: string }>;
  meta: M;
}

const KEEP = 2;
const WEIGHTS = 'weights.bin';

/**
 * Write a checkpoint as checkpoints/step-<n>/ (weights.bin + manifest.json with weights.bin's size and SHA-256): it
 * is assembled under a temporary name, renamed into place, and only then does checkpoints/latest.json point at it,
 * so a crash at any moment leaves the previous checkpoint intact. The caller holds the run folder's lock, so any
 * other temporary checkpoint folder was left by a process that died mid-write and is removed.
 */
export async function saveCheckpoint<M>(
  runDir: string,
  step: number,
  tensors: Record<string, tfc.Tensor>,
  meta: M,
): Promise<string> {
  const root = join(runDir, 'checkpoints');
  const name = `step-${String(step).padStart(9, '0')}`;
  mkdirSync(root, { recursive: true });
  for (const leftover of readdirSync(root).filter((n) => /^\.step-\d+\.\d+\.tmp$/.test(n)))
    rmSync(join(root, leftover), { recursive: true, force: true });
  const tmp = join(root, `.${name}.${process.pid}.tmp`);
  mkdirSync(tmp, { recursive: true });
  const { entries, bytes } = await packTensors(Object.entries(tensors));
  writeFileAtomic(join(tmp, WEIGHTS), bytes);
  const manifest: Manifest<M> = {
    format: 'epsilab-checkpoint-2',
    entries,
    files: { [WEIGHTS]: { bytes: bytes.byteLength, sha256: sha256(bytes) } },
    meta,
  };
  writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeJsonAtomic(join(root, 'latest.json'), { checkpoint: name, step });
  for (const old of listCheckpoints(root).slice(0, -KEEP))
    if (old !== name) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/** Checkpoint folders, oldest first (names carry the zero-padded global step). */
function listCheckpoints(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n))
    .sort();
}

export interface LoadedCheckpoint<M> {
  path: string;
  meta: M;
  /** Float32 values by name; the caller turns them into tensors on its backend. */
  values: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Why a checkpoint folder cannot be trusted, or its manifest and weights when it can. */
function verify<M>(dir: string): { manifest: Manifest<M>; weights: Buffer } | { damage: string } {
  let manifest: Manifest<M>;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest<M>;
  } catch (err) {
    return { damage: `manifest.json is unreadable (${(err as Error).message.split('\n')[0]})` };
  }
  if (!Array.isArray(manifest.entries) || !manifest.format?.startsWith('epsilab-checkpoint-'))
    return { damage: 'manifest.json is not an epsilab checkpoint manifest' };
  let weights: Buffer;
  try {
    weights = readFileSync(join(dir, WEIGHTS));
  } catch {
    return { damage: `${WEIGHTS} is missing` };
  }
  const floats = manifest.entries.reduce((n, e) => Math.max(n, e.offset + e.length), 0);
  const expected = manifest.files?.[WEIGHTS];
  const bytes = expected?.bytes ?? floats * 4;
  if (weights.byteLength !== bytes)
    return { damage: `${WEIGHTS} is ${weights.byteLength} bytes, the manifest says ${bytes}` };
  if (floats * 4 > bytes)
    return { damage: `the manifest's tensors need ${floats * 4} bytes, ${WEIGHTS} holds ${bytes}` };
  if (expected && sha256(weights) !== expected.sha256)
    return { damage: `${WEIGHTS}'s SHA-256 differs from the manifest's (its bytes changed after it was written)` };
  return { manifest, weights };
}

/**
 * The newest intact checkpoint under `runDir`/checkpoints, or null when the run has none. Each is verified against
 * its manifest (size and SHA-256); a damaged one is moved aside to `<name>.damaged` with a warning naming it and
 * the next older one is tried. When checkpoints exist but none is intact, an InputError says so and how to start over.
 */
export function loadLatestCheckpoint<M>(
  runDir: string,
  log: (line: string) => void = (line) => console.error(line),
  startOver = 'start over with the same command and --force',
): LoadedCheckpoint<M> | null {
  const root = join(runDir, 'checkpoints');
  const names = listCheckpoints(root).reverse();
  const damaged: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const checked = verify<M>(dir);
    if ('damage' in checked) {
      damaged.push(`${dir}: ${checked.damage}`);
      continue;
    }
    for (const line of damaged) log(`warning: checkpoint ${line}; moved aside to ${line.split(': ')[0]}.damaged`);
    for (const d of names.slice(0, names.indexOf(name))) moveAside(join(root, d));
    if (damaged.length) log(`resuming from the older intact checkpoint ${dir}`);
    return { path: dir, meta: checked.manifest.meta, values: unpack(checked.manifest.entries, checked.weights) };
  }
  if (damaged.length) {
    throw new InputError(
      `no intact checkpoint to resume from:\n  ${damaged.join('\n  ')}\nThe run cannot continue; ${startOver} (this discards the run's checkpoints and metrics).`,
    );
  }
  return null;
}

function moveAside(dir: string): void {
  const target = `${dir}.damaged`;
  rmSync(target, { recursive: true, force: true });
  renameSync(dir, target);
}

function unpack(entries: PackedEntry[], buf: Buffer): LoadedCheckpoint<unknown>['values'] {
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of entries) values.set(e.name, { shape: e.shape, data: all.subarray(e.offset, e.offset + e.length) });
  return values;
}
