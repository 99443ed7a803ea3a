/**
 * Whether the network evaluation measures is the one training ran. An ε-ResNet is evaluated with batch-norm moving
 * statistics and a gate recomputed on each test batch; training ran on batch statistics under the gates of the
 * moment. The same test images through both paths should give about the same error; when inference is far worse,
 * evaluation is not the trained network.
 */

/** Inference error this far (absolute) above the batch-statistics error on the same test images is reported. */
export const EVALUATION_GAP = 0.05;

/** A block whose averaged is_discarded (decay 0.95 a step) lies strictly between these changed gate within about the last 135 steps. */
const SETTLED_ON = 0.001;
const SETTLED_OFF = 0.999;

export interface EvaluationCheck {
  /** Test error in inference mode (moving statistics): the reported test_error. */
  inference_error: number;
  /** Test error of the same images in training mode (each batch's own statistics, gates recomputed), no update. */
  batch_statistics_error: number;
  /** Blocks whose averaged is_discarded at the last step is neither about 0 nor about 1 (a recent gate change), with that value. */
  gates_switching: Record<string, number>;
  /** The warning, when inference is more than EVALUATION_GAP worse; absent otherwise. */
  warning?: string;
}

/** Compares the two errors and names the likely cause from the last epoch's per-block is_discarded averages. */
export function checkEvaluation(
  inferenceError: number,
  batchStatisticsError: number,
  lastMetrics: Record<string, number>,
): EvaluationCheck {
  const gatesSwitching = Object.fromEntries(
    Object.entries(lastMetrics)
      .filter(([k, v]) => k.endsWith('/is_discarded') && v > SETTLED_ON && v < SETTLED_OFF)
      .map(([k, v]) => [k.slice(0, -'/is_discarded'.length), v]),
  );
  const check: EvaluationCheck = {
    inference_error: inferenceError,
    batch_statistics_error: batchStatisticsError,
    gates_switching: gatesSwitching,
  };
  if (inferenceError - batchStatisticsError <= EVALUATION_GAP) return check;
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const blocks = Object.entries(gatesSwitching).map(
    ([b, v]) => `${b} (gated off on ${(100 * v).toFixed(0)}% of recent batches)`,
  );
  const cause = blocks.length
    ? `gates that changed near the end of training: ${blocks.join(', ')}; the batch-norm moving statistics were gathered under other gates than the ones evaluation computes`
    : 'batch-norm moving statistics gathered under other gates (or other weights) than the evaluated network';
  check.warning =
    `evaluation is not the trained network: test error ${pct(inferenceError)} in inference mode, ${pct(batchStatisticsError)} on the same images with batch statistics. ` +
    `Likely cause: ${cause}. Train until the gates settle, evaluate with batches of the training size, or set train.bn_recalibration to recompute the statistics under the final gates.`;
  return check;
}
