/**
 * ε-ResNet's monitoring of gated-off blocks (methods-spec §1.2): per block is_discarded = 1 when its gate is 0, and
 * discarded_cnt = their sum, each averaged like tensorpack's add_moving_summary: an EMA updated every step with
 * decay min(0.95, (1+t)/(10+t)), t the number of earlier updates, starting from 0.
 */
export interface DiscardState {
  updates: number;
  count: number;
  blocks: Record<string, { isDiscarded: number; absMax: number; absMean: number }>;
}

export const DISCARDED_PRINT_ONE = 0.999995;

export class DiscardTracker {
  private s: DiscardState;

  constructor(readonly blocks: string[], private readonly decay = 0.95) {
    this.s = { updates: 0, count: 0, blocks: Object.fromEntries(blocks.map((b) => [b, { isDiscarded: 0, absMax: 0, absMean: 0 }])) };
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
  summary(): Record<string, number> {
    const out: Record<string, number> = {
      discarded_cnt: this.s.count,
      discarded_ratio: this.blocks.length ? this.s.count / this.blocks.length : 0,
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

  /** Blocks whose averaged is_discarded prints as 1 with 5 significant digits, as compressModel.py selects them. */
  discarded(): string[] {
    return this.blocks.filter((b) => this.s.blocks[b].isDiscarded >= DISCARDED_PRINT_ONE);
  }

  state(): DiscardState {
    return structuredClone(this.s);
  }

  restore(state: DiscardState): void {
    this.s = structuredClone(state);
  }
}
