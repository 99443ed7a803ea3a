import type { ImageShape } from '../registry/component.js';
import type { ComponentSection, ExperimentConfig } from '../registry/experiment.js';
import type { Registry } from '../registry/registry.js';
import { error, type Diagnostic } from '../util/diagnostics.js';
import type { At } from './checks.js';

/**
 * Whether the model can take the images it will be fed, where that is known before any data is read: the dataset
 * fixes its images' shape in its params and every training transform says its output shape. `plan` and a sweep's
 * validation then refuse what the model's build would refuse. The problem is placed at the last section that
 * set the shape (a resize, a crop, the dataset's size), so a sweep that varies it names the trial.
 */
export function modelInputChecks(config: ExperimentConfig, at: At, registry: Registry): Diagnostic[] {
  const params = (s: ComponentSection) => {
    const { type: _type, ...rest } = s;
    return rest as never;
  };
  const model = registry.find('model', config.model.type);
  const known = registry.find('dataset', config.dataset.type)?.imageShape?.(params(config.dataset));
  if (!model?.inputProblem || !known) return [];
  let shape: ImageShape = known.shape;
  let from = known.from === 'type' ? 'dataset.type' : `dataset.${known.from}`;
  for (const [i, section] of (config.transforms.train ?? []).entries()) {
    const outputShape = registry.find('transform', section.type)?.outputShape;
    if (!outputShape) return [];
    const next = outputShape(params(section), shape);
    if (next.some((d, k) => d !== shape[k])) from = `transforms.train[${i}]`;
    shape = next;
  }
  const problem = model.inputProblem(params(config.model), shape);
  return problem ? [error(problem, at(from))] : [];
}
