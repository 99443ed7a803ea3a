import { tf } from '../tfjs.js';

/**
 * Broadcasts `v` (the shape of `shape` with the axes `axes` removed) back to `shape`. When the axes are one contiguous
 * run ending before the last axis (batch-norm statistics, global pooling) this is a matMul with a column of ones, one
 * pass on wasm, where Tile or multiplying by ones makes several.
 */
export function broadcastAxes(v: tf.Tensor, shape: number[], axes: number[]): tf.Tensor {
  const sorted = [...axes].sort((a, b) => a - b);
  const first = sorted[0];
  const contiguous = sorted.every((a, i) => a === first + i) && sorted[sorted.length - 1] === shape.length - 2;
  const keep = shape.map((d, i) => (sorted.includes(i) ? 1 : d));
  if (!contiguous) return tf.mul(tf.reshape(v, keep), tf.ones(shape));
  const outer = shape.slice(0, first).reduce((a, b) => a * b, 1);
  const inner = sorted.reduce((n, a) => n * shape[a], 1);
  const channels = shape[shape.length - 1];
  const column = tf.ones(outer === 1 ? [inner, 1] : [1, inner, 1]);
  const rows = tf.reshape(v, outer === 1 ? [1, channels] : [outer, 1, channels]);
  return tf.reshape(tf.matMul(column, rows), shape);
}
