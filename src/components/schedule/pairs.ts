import { Type } from '@sinclair/typebox';
import { error, type Diagnostic, type Position } from '../../util/diagnostics.js';

/** `[[epoch, value], ...]`: the value applies from that (0-based) epoch on, i.e. after that many epochs have ended. */
export function EpochValuePairs(description: string) {
  return Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Number({ minimum: 0 })]), {
    minItems: 1,
    description,
  });
}

/** The value in force at `epoch`, or `before` when no pair has started yet. */
export function valueAt(pairs: [number, number][], epoch: number, before: number): number {
  let v = before;
  for (const [e, value] of pairs) if (e <= epoch) v = value;
  return v;
}

export const WarmupParams = {
  warmup_epochs: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Linear warm-up over this many epochs, from warmup_start_factor × the scheduled value.',
  }),
  warmup_start_factor: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.1,
    description: 'Fraction of the scheduled value at epoch 0 of the warm-up.',
  }),
};

/** Linear warm-up applied on top of any schedule: epoch e < W gets factor f + (1 − f)·e/W. */
export function withWarmup(
  value: number,
  epoch: number,
  p: { warmup_epochs: number; warmup_start_factor: number },
): number {
  if (epoch >= p.warmup_epochs) return value;
  const f = p.warmup_start_factor;
  return value * (f + ((1 - f) * epoch) / p.warmup_epochs);
}

/** `[[epoch, value], ...]` lists must have strictly increasing epochs; each problem is reported at its epoch. */
export function increasingEpochs(
  pairs: unknown,
  key: string,
  path: string,
  at: (rel: string) => Position | undefined,
): Diagnostic[] {
  if (!Array.isArray(pairs)) return [];
  const out: Diagnostic[] = [];
  for (let i = 1; i < pairs.length; i++) {
    if (pairs[i][0] <= pairs[i - 1][0]) {
      out.push(
        error(
          `${path}.${key}[${i}][0] must be greater than the epoch before it (${pairs[i - 1][0]}): epochs in [[epoch, value], ...] must strictly increase (got ${pairs[i][0]})`,
          at(`${key}[${i}][0]`),
        ),
      );
    }
  }
  return out;
}
