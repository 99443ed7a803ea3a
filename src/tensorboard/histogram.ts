/**
 * TensorBoard's v2 histogram buckets: `bins` equal-width buckets spanning [min, max] as rows (left, right, count),
 * flattened. One bucket of width 1 when every value is the same; no rows when there are no finite values.
 */
export function histogramBuckets(values: Float32Array, bins: number): Float64Array {
  let min = Infinity;
  let max = -Infinity;
  let finite = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    finite += 1;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (finite === 0) return new Float64Array(0);
  if (min === max) return Float64Array.of(min - 0.5, max + 0.5, finite);
  const width = (max - min) / bins;
  const rows = new Float64Array(bins * 3);
  for (let i = 0; i < bins; i++) {
    rows[i * 3] = min + i * width;
    rows[i * 3 + 1] = i === bins - 1 ? max : min + (i + 1) * width;
  }
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    rows[Math.min(bins - 1, Math.floor((v - min) / width)) * 3 + 2] += 1;
  }
  return rows;
}
