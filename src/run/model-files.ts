import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import type { NamedVariable } from '../models/types.js';
import { assignByName } from '../models/weights.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { InputError } from '../util/errors.js';
import { packTensors, sha256 } from './pack.js';

const WEIGHTS = 'weights.bin';

/**
 * Write the model in the TensorFlow.js weights format: model.json with a `weightsManifest` (loadable by
 * tf.io.loadWeights) plus weights.bin, whose SHA-256 model.json records. The topology is epsilab's own model config,
 * since the models are built from tfjs-core ops rather than tf.layers.
 */
export async function exportModel(
  dir: string,
  vars: NamedVariable[],
  topology: Record<string, unknown>,
): Promise<void> {
  const { entries, bytes } = await packTensors(vars.map((v) => [v.name, v.variable]));
  const weights = entries.map((e) => ({ name: e.name, shape: e.shape, dtype: 'float32' as const }));
  writeFileAtomic(join(dir, WEIGHTS), bytes);
  writeJsonAtomic(join(dir, 'model.json'), {
    format: 'epsilab-weights',
    generatedBy: 'epsilab',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: [WEIGHTS], weights }],
    weightsSha256: { [WEIGHTS]: sha256(bytes) },
  });
}

export interface ExportedModel {
  dir: string;
  topology: Record<string, unknown>;
  values: Map<string, { shape: number[]; data: Float32Array }>;
}

interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  weightsSha256?: Record<string, string>;
}

/** Read a model written by exportModel, verified: a damaged or missing file is an InputError naming it. */
export function readExportedModel(dir: string): ExportedModel {
  const file = join(dir, 'model.json');
  if (!existsSync(file))
    throw new InputError(`no exported model at ${file}: the run has not finished (a finished run writes model/)`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
  } catch (err) {
    throw new InputError(`${file} is damaged: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new InputError(`${file} is damaged: it has no weightsManifest`);
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of json.weightsManifest) {
    const bufs = group.paths.map((p) => {
      const path = join(dir, p);
      if (!existsSync(path)) throw new InputError(`${path} is missing (model.json lists it)`);
      const bytes = readFileSync(path);
      const expected = json.weightsSha256?.[p];
      if (expected && sha256(bytes) !== expected)
        throw new InputError(`${path} is damaged: its SHA-256 differs from the one model.json records`);
      return bytes;
    });
    const buf = Buffer.concat(bufs);
    const floats = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    if (buf.byteLength !== floats * 4)
      throw new InputError(
        `${join(dir, group.paths.join(', '))} is damaged: ${buf.byteLength} bytes, model.json's weights need ${floats * 4}`,
      );
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    let at = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      values.set(w.name, { shape: w.shape, data: all.subarray(at, at + n) });
      at += n;
    }
  }
  return { dir, topology: json.modelTopology, values };
}

/** Give every variable its saved value; a variable the saved model lacks, or of another shape, is an InputError naming `source`. */
export function assignSavedWeights(
  tf: typeof tfc,
  vars: readonly NamedVariable[],
  saved: ExportedModel,
  source: string,
): void {
  const tensors = new Map([...saved.values].map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
  try {
    assignByName(vars, tensors);
  } catch (err) {
    throw new InputError(
      `${source} does not fit this model (${(err as Error).message}): was it trained with the same model section?`,
    );
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
