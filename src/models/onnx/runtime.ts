import type { InferenceSession } from 'onnxruntime-node';
import { OnnxGraph, isOnnxExportable, type OnnxValue } from './graph.js';

/** What the export needs of a model (structurally `Model`: this folder imports nothing from the models it serves). */
interface NamedModel {
  name: string;
  inputShape: readonly [number, number, number];
}

/** TF.js's NHWC batch as the NCHW one the exported graphs take. */
export function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
  return out;
}

/** The model's inference graph, ready to encode; a model without an ONNX export (a plugin's) is an error that says so. */
export function onnxGraphOf(model: NamedModel): { graph: OnnxGraph; logits: OnnxValue } {
  if (!isOnnxExportable(model))
    throw new Error(`model ${model.name} has no ONNX export (its component does not describe its graph)`);
  const graph = new OnnxGraph(model.inputShape);
  return { graph, logits: model.exportOnnx(graph) };
}

/** The model's inference graph serialised, without metadata (what timing needs). */
export function encodeModelGraph(model: NamedModel, metadata: Record<string, string> = {}, docString = ''): Uint8Array {
  const { graph, logits } = onnxGraphOf(model);
  return graph.encode(logits, { graphName: model.name, producerVersion: '', docString, metadata });
}

/** An onnxruntime CPU session on a serialised model; `threads` caps its intra-op threads (0: onnxruntime's default). */
export async function openSession(bytes: Uint8Array, threads = 0): Promise<InferenceSession> {
  const ort = await import('onnxruntime-node');
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
}

/** Runs the graph on an NCHW batch and returns its logits. */
export async function runLogits(
  session: InferenceSession,
  input: Float32Array,
  dims: readonly number[],
): Promise<Float32Array> {
  const ort = await import('onnxruntime-node');
  const out = await session.run({ input: new ort.Tensor('float32', input, dims) });
  return out.logits.data as Float32Array;
}
