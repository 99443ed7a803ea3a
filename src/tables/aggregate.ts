import type { Cell } from './spec.js';

export interface Aggregate {
  value: number;
  /** Sample standard deviation (n - 1), for the mean of two or more runs. */
  std?: number;
  n: number;
}

/** Combines one cell's values (one per run, typically one per seed). */
export function aggregate(values: number[], how: Cell['aggregate']): Aggregate {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  if (how === 'min') return { value: sorted[0], n };
  if (how === 'max') return { value: sorted[n - 1], n };
  if (how === 'median') return { value: n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { value: mean, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { value: mean, std: Math.sqrt(variance), n };
}
