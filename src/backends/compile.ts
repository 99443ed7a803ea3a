import type * as tfc from '@tensorflow/tfjs-core';
import { CompiledStep, type StepFunction } from './libtorch/compile.js';

export type { StepFunction };

/** A function of tensors as the current backend runs it best; the caller owns the returned tensors. */
export interface CompiledFunction {
  run(inputs: tfc.Tensor[]): Record<string, tfc.Tensor>;
  /** Which path ran last, and why: for the run log and env.json. */
  describe(): string;
  /** State the function reads from JavaScript changed (an epoch's callbacks, a new stage): capture it anew. */
  invalidate(): void;
  dispose(): void;
}

export type CompileMode = 'auto' | 'off';

/**
 * The one place that decides whether a function is compiled (`train.compile`): with `auto` it is captured once per
 * input signature and replayed natively where the backend can capture (libtorch), and runs eagerly with the reason
 * logged where it cannot; with `off` it always runs eagerly. Callers ask for this ability, never for a backend by name.
 */
export function compile(
  tf: typeof tfc,
  fn: StepFunction,
  o: { mode: CompileMode; log: (line: string) => void },
): CompiledFunction {
  if (o.mode === 'off')
    return {
      run: (inputs) => tf.tidy(() => fn(inputs)),
      describe: () => 'eager (train.compile is off)',
      invalidate: () => {},
      dispose: () => {},
    };
  const step = new CompiledStep(tf, fn, o.log);
  return {
    run: (inputs) => step.run(inputs),
    describe: () => {
      const { path, why } = step.status;
      return path === 'replay' ? 'compiled (one native call replays the captured step)' : `eager (${why})`;
    },
    invalidate: () => step.invalidate(),
    dispose: () => step.dispose(),
  };
}
