import { recalibrateBatchNorm, type RecalibrationRecord } from './bn-recalibration.js';
import { checkEvaluation, type EvaluationCheck } from './evaluation-check.js';
import { GateTracking } from './gate-tracking.js';
import type { Callback, FinalContext } from './types.js';

/**
 * ε-ResNet's work around the generic loop, as one callback the loop always adds: the gates are tracked from the step
 * readings once a step reports them (a model without gates reports none, and nothing happens), the batch-norm
 * statistics are recomputed under the final gates when `train.bn_recalibration` asks, and the last evaluation is
 * compared with one on batch statistics.
 */
export class EpsilonGates implements Callback {
  readonly name = 'gate-tracking';
  private tracking: GateTracking | null = null;
  private discovered = false;
  /** A checkpoint's tracking state, applied once the gates are known. */
  private saved: unknown;
  private recalibration?: RecalibrationRecord;
  private evaluationCheck?: EvaluationCheck;

  constructor(private readonly recalibrationBatches: number | undefined) {}

  onStep(values: Record<string, number>): void {
    if (!this.discovered) {
      this.discovered = true;
      this.tracking = GateTracking.fromReadings(Object.keys(values));
      if (this.tracking && this.saved !== undefined) this.tracking.restore(this.saved);
    }
    this.tracking?.onStep(values);
  }

  report(): Record<string, number> {
    return this.tracking?.report() ?? {};
  }

  line(metrics: Record<string, number>): string {
    return this.tracking?.line(metrics) ?? '';
  }

  state(): unknown {
    return this.tracking?.state() ?? this.saved;
  }

  restore(state: unknown): void {
    this.saved = state;
    this.tracking?.restore(state);
  }

  async beforeFinalEvaluation(ctx: FinalContext): Promise<void> {
    if (!this.recalibrationBatches) return;
    // Held gates: off where compress removes the block (its averaged is_discarded prints as 1), on elsewhere.
    const off = new Set(this.tracking?.discarded() ?? []);
    const held = Object.fromEntries((this.tracking?.blocks ?? []).map((b) => [b, off.has(b) ? 0 : 1]));
    this.recalibration = await recalibrateBatchNorm(
      ctx.tf,
      ctx.model,
      ctx.trainBatches(),
      this.recalibrationBatches,
      held,
    );
    ctx.log(
      `batch-norm statistics recomputed over ${this.recalibration.batches} training batches with the final gates held (${off.size} of ${Object.keys(held).length} blocks off)`,
    );
  }

  async afterFinalEvaluation(ctx: FinalContext, metrics: Record<string, number>): Promise<void> {
    if (!this.tracking) return;
    const { name, error } = await ctx.evaluate({ batchStatistics: true });
    metrics[`${name}_error_batch_statistics`] = error;
    this.evaluationCheck = checkEvaluation(metrics[`${name}_error`], error, metrics);
    if (this.evaluationCheck.warning) ctx.log(`warning: ${this.evaluationCheck.warning}`);
  }

  records(): Record<string, unknown> {
    return {
      ...(this.evaluationCheck ? { evaluation_check: this.evaluationCheck } : {}),
      ...(this.recalibration ? { bn_recalibration: this.recalibration } : {}),
    };
  }
}
