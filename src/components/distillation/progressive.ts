import { defineComponent, type CheckContext } from '../../registry/component.js';
import { didYouMean, quoteList } from '../../registry/suggest.js';
import { error, type Diagnostic, type Position } from '../../util/diagnostics.js';
import { DistillationParams } from '../../train/distill-plan.js';
import type { ComponentSection } from '../../registry/experiment.js';

export const progressive = defineComponent({
  kind: 'distillation',
  type: 'progressive',
  doc: 'ResNet with No Res: a residual teacher, a plain student initialised from it, trained stage by stage on teacher outputs, then fine-tuned.',
  params: DistillationParams,
  check: stagesNameStudentParts,
  build: (params) => params,
});

/** Stages may only train parts and read taps the student has; each stage's optimizer and schedule are checked too. */
function stagesNameStudentParts(
  plan: DistillationParams,
  at: (path: string) => Position | undefined,
  ctx: CheckContext,
): Diagnostic[] {
  const { type, ...params } = { ...ctx.config.model, ...plan.student } as ComponentSection;
  const parts = ctx.find('model', type)?.parts?.(params as never);
  if (!parts)
    return [
      error(
        `distillation needs a model that declares its taps and parts; model type '${type}' does not`,
        ctx.atRoot('model.type'),
      ),
    ];
  const out: Diagnostic[] = [];
  plan.stages.forEach((stage, i) => {
    const here = `${ctx.path}.stages[${i}]`;
    stage.train.forEach((part, j) => {
      if (part !== 'all' && !parts.stages.includes(part)) {
        out.push(
          error(
            `${here}.train[${j}] names no part of ${type}: expected 'all' or one of ${quoteList(parts.stages)}${didYouMean(part, parts.stages)} (got '${part}')`,
            at(`stages[${i}].train[${j}]`),
          ),
        );
      }
    });
    stage.loss.forEach((term, j) => {
      if ('at' in term && !parts.taps.includes(term.at)) {
        out.push(
          error(
            `${here}.loss[${j}].at names no tap of ${type}: expected one of ${quoteList(parts.taps)}${didYouMean(term.at, parts.taps)} (got '${term.at}')`,
            at(`stages[${i}].loss[${j}].at`),
          ),
        );
      }
    });
    out.push(
      ...ctx.checkNested('optimizer', stage.optimizer, `stages[${i}].optimizer`),
      ...ctx.checkNested('schedule', stage.schedule, `stages[${i}].schedule`),
    );
  });
  return out;
}
