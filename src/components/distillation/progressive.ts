import { defineComponent } from '../../registry/component.js';
import { DistillationParams } from '../../train/distill-plan.js';

export const progressive = defineComponent({
  kind: 'distillation',
  type: 'progressive',
  doc: 'ResNet with No Res: a residual teacher, a plain student initialised from it, trained stage by stage on teacher outputs, then fine-tuned.',
  params: DistillationParams,
  build: (params) => params,
});
