import type { Cell } from './spec.js';

const SI = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'K'],
] as const;

/** A number as a cell shows it; `signed` puts + before positive values (differences). */
export function formatNumber(v: number, format: Cell['format'], decimals: number, signed = false): string {
  let text: string;
  if (format === 'percent') text = (v * 100).toFixed(decimals);
  else if (format === 'ms') text = (v * 1000).toFixed(decimals);
  else if (format === 'integer') text = Math.round(v).toLocaleString('en-US');
  else if (format === 'si') {
    const [scale, suffix] = SI.find(([s]) => Math.abs(v) >= s) ?? [1, ''];
    text = (v / scale).toFixed(decimals) + suffix;
  } else text = v.toFixed(decimals);
  return signed && v > 0 ? `+${text}` : text;
}
