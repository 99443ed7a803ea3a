import type * as tfc from '@tensorflow/tfjs-core';
import type { BuildContext } from '../registry/component.js';
import type { ForwardOptions, ModelOutput, NamedVariable } from './types.js';

type TF = typeof tfc;

/** Input shape and class count a model is sized by; the runner sets them from the dataset and its transforms. */
export function modelFacts(ctx: BuildContext): { inputShape: [number, number, number]; numClasses: number } {
  const shape = ctx.facts.inputShape;
  const classes = ctx.facts.numClasses;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`a model needs facts.inputShape as [height, width, channels] (got ${JSON.stringify(shape)})`);
  }
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 1) {
    throw new Error(`a model needs facts.numClasses as a positive integer (got ${JSON.stringify(classes)})`);
  }
  return { inputShape: [shape[0], shape[1], shape[2]], numClasses: classes };
}

/** How batch norm runs in one forward pass. */
export interface BnMode {
  training: boolean;
  updateStats: boolean;
  /** Overrides each layer's running-statistics momentum for this pass. */
  statsMomentum?: number;
  /** Gates held fixed for this pass, by block name. */
  fixedGates?: Record<string, number>;
}

/** Training passes update the running statistics unless told otherwise. */
export function bnMode(opts: ForwardOptions): BnMode {
  return {
    training: opts.training,
    updateStats: opts.training && (opts.updateStats ?? true),
    statsMomentum: opts.statsMomentum,
    fixedGates: opts.fixedGates,
  };
}

/** A non-trainable scalar variable (ε of the gates), created without leaving its initial tensor behind. */
export function scalarVariable(tf: TF, value: number): tfc.Variable {
  const init = tf.scalar(value);
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

/** Runs a forward pass in a tidy scope so only the tensors of its output outlive it. */
export function tidyOutput(tf: TF, forward: () => ModelOutput): ModelOutput {
  return tf.tidy(() => forward() as unknown as tfc.TensorContainer) as unknown as ModelOutput;
}

/** Runs one block of a forward pass; in evaluation its intermediate tensors are freed when it ends (training keeps them for the gradient). */
export function blockScope<T>(tf: TF, training: boolean, block: () => T): T {
  return training ? block() : (tf.tidy(() => block() as unknown as tfc.TensorContainer) as unknown as T);
}

/** Variable names grouped by the part of the network they belong to; a name goes to the first part whose test accepts it. */
export function groupVariables(
  vars: NamedVariable[],
  parts: [string, (name: string) => boolean][],
): Record<string, string[]> {
  const groups: Record<string, string[]> = Object.fromEntries(parts.map(([p]) => [p, [] as string[]]));
  for (const { name } of vars) {
    const part = parts.find(([, test]) => test(name));
    if (!part) throw new Error(`variable ${name} belongs to no part of the model`);
    groups[part[0]].push(name);
  }
  for (const p of Object.keys(groups)) if (groups[p].length === 0) delete groups[p];
  return groups;
}
