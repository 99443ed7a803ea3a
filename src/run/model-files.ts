import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NamedVariable } from '../models/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { packTensors } from './pack.js';

/**
 * Write the model in the TensorFlow.js weights format: model.json with a `weightsManifest` (loadable by
 * tf.io.loadWeights) plus weights.bin. The topology is epsilab's own model config, since the models are built from
 * tfjs-core ops rather than tf.layers.
 */
export async function exportModel(dir: string, vars: NamedVariable[], topology: Record<string, unknown>): Promise<void> {
  const { entries, bytes } = await packTensors(vars.map((v) => [v.name, v.variable]));
  const weights = entries.map((e) => ({ name: e.name, shape: e.shape, dtype: 'float32' as const }));
  writeFileAtomic(join(dir, 'weights.bin'), bytes);
  writeJsonAtomic(join(dir, 'model.json'), {
    format: 'epsilab-weights',
    generatedBy: 'epsilab',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  });
}

export interface ExportedModel {
  topology: Record<string, unknown>;
  values: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Read a model written by exportModel. */
export function readExportedModel(dir: string): ExportedModel {
  const file = join(dir, 'model.json');
  if (!existsSync(file)) throw new Error(`no exported model at ${file}`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    modelTopology: Record<string, unknown>;
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of json.weightsManifest) {
    const bufs = group.paths.map((p) => readFileSync(join(dir, p)));
    const buf = Buffer.concat(bufs);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    let at = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      values.set(w.name, { shape: w.shape, data: all.subarray(at, at + n) });
      at += n;
    }
  }
  return { topology: json.modelTopology, values };
}
