import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { Schedule } from '../../train/types.js';
import { EpochValuePairs, increasingEpochs } from './pairs.js';

interface AdaptiveState {
  current: number;
  lastChanged: number;
  schedule: [number, number][];
  history: number[];
  resets: number[];
}

/**
 * ε-ResNet's LearningRateSetter (yuxwind/epsilonResnet scripts/LearningRateSetter.py), evaluated with epoch_num = epochs ended so far: when the
 * end-of-epoch EMA of discarded_cnt has risen by ≥ threshold over the last last_k epochs, the learning rate resets
 * to after_discard[0] at once and the faster schedule restarts, offset by epoch_num; otherwise a pair whose epoch
 * equals epoch_num sets the value (no pair, no change).
 */
export const adaptiveOnDiscard = defineComponent({
  kind: 'schedule',
  type: 'adaptive-on-discard',
  doc: "ε-ResNet's adaptive policy: follow `initial`; whenever the discarded-block count (EMA) rises by ≥ threshold, reset to `after_discard` offset by the current epoch.",
  params: Type.Object(
    {
      initial: EpochValuePairs(
        'Schedule followed until a reset: [[epoch, value], ...]. CIFAR: [[0,0.1],[82,0.01],[123,0.001],[300,0.0002]].',
      ),
      after_discard: EpochValuePairs(
        'Schedule restarted at each reset, offset by that epoch. CIFAR: [[0,0.1],[41,0.01],[61,0.001],[150,0.0002]].',
      ),
      threshold: Type.Number({
        minimum: 0,
        default: 1,
        description: 'Rise of the metric over the last last_k epochs that triggers a reset.',
      }),
      last_k: Type.Integer({
        minimum: 1,
        default: 1,
        description: 'Epochs the rise is measured over; also the minimum spacing of resets.',
      }),
      metric: Type.String({
        default: 'discarded_cnt',
        description: 'Per-epoch metric watched (the EMA of the number of gated-off blocks).',
      }),
      before_first: Type.Optional(
        Type.Number({
          minimum: 0,
          description:
            'Value before the first `initial` pair fires (SVHN starts its pairs at epoch 1); default: the first pair.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  check: (params, at, ctx) => [
    ...increasingEpochs(params.initial, 'initial', ctx.path, at),
    ...increasingEpochs(params.after_discard, 'after_discard', ctx.path, at),
  ],
  build(params): Schedule {
    const initial = params.initial as [number, number][];
    const after = params.after_discard as [number, number][];
    const fire = (pairs: [number, number][], epochNum: number) => pairs.find(([e]) => e === epochNum)?.[1];
    const s: AdaptiveState = {
      current: fire(initial, 0) ?? params.before_first ?? initial[0][1],
      lastChanged: 0,
      schedule: initial,
      history: [],
      resets: [],
    };
    const pending: string[] = [];
    return {
      valueFor: () => s.current,
      observe(epoch, metrics) {
        const epochNum = epoch + 1;
        const value = metrics[params.metric];
        if (value === undefined)
          throw new Error(`adaptive-on-discard needs the metric '${params.metric}', which this model does not report`);
        s.history.push(value);
        const k = params.last_k;
        let reset = false;
        if (s.history.length >= k + 1 && epochNum - s.lastChanged >= k) {
          const recent = s.history.slice(-k - 1);
          reset = Math.max(...recent) >= recent[0] + params.threshold;
        }
        if (reset) {
          s.lastChanged = epochNum;
          s.schedule = after.map(([e, v]) => [e + epochNum, v]);
          s.current = after[0][1];
          s.resets.push(epochNum);
          pending.push(
            `learning rate reset to ${s.current} after epoch ${epochNum} (${params.metric} ${recent(s.history, k)})`,
          );
        } else {
          const v = fire(s.schedule, epochNum);
          if (v !== undefined) s.current = v;
        }
      },
      state: () => structuredClone(s),
      restore(state) {
        Object.assign(s, structuredClone(state as AdaptiveState));
      },
      events: () => pending.splice(0),
    };
  },
});

function recent(history: number[], k: number): string {
  return history
    .slice(-k - 1)
    .map((v) => v.toFixed(3))
    .join(' → ');
}
