import { discardedRatio } from '../models/gate.js';
import type { Callback } from './types.js';

/** The step readings of one residual gate are named `<block>/gate`, `<block>/abs_max`, `<block>/abs_mean`. */
const GATE_SUFFIX = '/gate';

export interface DiscardState {
  updates: number;
  count: number;
  blocks: Record<string, { isDiscarded: number; absMax: number; absMean: number }>;
}

export const DISCARDED_PRINT_ONE = 0.999995;

/**
 * ε-ResNet's monitoring of gated-off blocks, a training callback over the gate readings: per block is_discarded = 1
 * when its gate is 0, and discarded_cnt = their sum, each averaged like tensorpack's add_moving_summary (an EMA updated
 * every step with decay min(0.95, (1+t)/(10+t)), t the number of earlier updates, starting from 0; yuxwind/epsilonResnet
 * cifar10-e-resnet.py, the add_moving_summary of discarded_cnt).
 */
export class GateTracking implements Callback {
  readonly name = 'gate-tracking';
  private s: DiscardState;

  /** The tracking for the gates a step reports, or null when the step has none (a model without ε gates). */
  static fromReadings(names: string[]): GateTracking | null {
    const blocks = names.filter((n) => n.endsWith(GATE_SUFFIX)).map((n) => n.slice(0, -GATE_SUFFIX.length));
    return blocks.length ? new GateTracking(blocks) : null;
  }

  constructor(
    readonly blocks: string[],
    private readonly decay = 0.95,
  ) {
    this.s = {
      updates: 0,
      count: 0,
      blocks: Object.fromEntries(blocks.map((b) => [b, { isDiscarded: 0, absMax: 0, absMean: 0 }])),
    };
  }

  onStep(values: Record<string, number>): void {
    const at = (suffix: string) => this.blocks.map((b) => values[`${b}/${suffix}`]);
    this.update(at('gate'), at('abs_max'), at('abs_mean'));
  }

  /** One training step's readings, in `blocks` order. */
  update(gates: ArrayLike<number>, absMax: ArrayLike<number>, absMean: ArrayLike<number>): void {
    const t = this.s.updates;
    const d = Math.min(this.decay, (1 + t) / (10 + t));
    const mix = (old: number, x: number) => d * old + (1 - d) * x;
    let discarded = 0;
    this.blocks.forEach((b, i) => {
      const x = gates[i] === 0 ? 1 : 0;
      discarded += x;
      const e = this.s.blocks[b];
      e.isDiscarded = mix(e.isDiscarded, x);
      e.absMax = mix(e.absMax, absMax[i]);
      e.absMean = mix(e.absMean, absMean[i]);
    });
    this.s.count = mix(this.s.count, discarded);
    this.s.updates = t + 1;
  }

  /** Metrics for the epoch that just ended: the averaged values at its last step. */
  report(): Record<string, number> {
    const out: Record<string, number> = {
      discarded_cnt: this.s.count,
      discarded_ratio: discardedRatio(this.s.count, this.blocks.length),
    };
    for (const b of this.blocks) {
      const e = this.s.blocks[b];
      out[`${b}/is_discarded`] = e.isDiscarded;
      out[`${b}/response_abs_max`] = e.absMax;
      out[`${b}/response_abs_mean`] = e.absMean;
    }
    out.discarded_blocks = this.discarded().length;
    return out;
  }

  line(metrics: Record<string, number>): string {
    return `discarded ${metrics.discarded_cnt.toFixed(2)}`;
  }

  /** Blocks whose averaged is_discarded prints as 1 with 5 significant digits, as compressModel.py selects them. */
  discarded(): string[] {
    return this.blocks.filter((b) => this.s.blocks[b].isDiscarded >= DISCARDED_PRINT_ONE);
  }

  state(): DiscardState {
    return structuredClone(this.s);
  }

  restore(state: unknown): void {
    this.s = structuredClone(state as DiscardState);
  }
}
