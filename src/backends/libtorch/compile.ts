import type * as tfc from '@tensorflow/tfjs-core';
import type { DataType } from '@tensorflow/tfjs-core';
import { LibtorchBackend } from './backend.js';

/**
 * A step over tensors returning named tensors: the same function of its inputs every time it runs, apart from the
 * variables it reads and assigns.
 */
export type StepFunction = (inputs: tfc.Tensor[]) => Record<string, tfc.Tensor>;
type Outputs = Record<string, tfc.Tensor>;

interface Program {
  id: number;
  /** Every variable in libtorch memory when the step was captured, with the handle it must still have to replay. */
  variables: { variable: tfc.Variable; handle: number }[];
  outputs: { name: string; shape: number[]; dtype: DataType }[];
}

type Entry = Program | { declined: string };

/** A capture that created or shared variables is tried again on later steps, this many times in all. */
const ATTEMPTS = 3;

/**
 * A step compiled on the libtorch backend. The first run for each input signature (shapes and dtypes) runs eagerly while
 * the addon records the native ops it dispatches; later runs replay that list in C++ on the new inputs, with no tfjs
 * engine work per kernel: the variables the step assigned get their new values in their own slots (their tfjs tensors
 * stay valid), the outputs come back as new tensors. A step whose kernels have no native form, or that reads values
 * on the host, is declined with one logged reason and keeps running eagerly.
 *
 * A replay reuses every value the capture saw except the inputs and the variables: whatever else the step function
 * reads from JavaScript (a schedule's value, a callback's setting) must arrive as an input or a variable, or
 * `invalidate()` must be called when it changes. A variable reassigned outside the step is noticed and re-captured.
 */
export class CompiledStep {
  private readonly entries = new Map<string, Entry>();
  private readonly attempts = new Map<string, number>();
  private lastReason = '';

  constructor(
    private readonly tf: typeof tfc,
    private readonly fn: StepFunction,
    private readonly log: (line: string) => void,
  ) {}

  /** How the last run went: replayed natively, or eager and why. */
  get status(): { path: 'replay' | 'eager'; why: string } {
    return { path: this.lastReason ? 'eager' : 'replay', why: this.lastReason };
  }

  run(inputs: tfc.Tensor[]): Outputs {
    const backend = this.tf.backend();
    if (!(backend instanceof LibtorchBackend))
      return this.eager(inputs, `backend ${this.tf.getBackend()} has no step capture`);
    if (typeof backend.addon.captureBegin !== 'function')
      return this.eager(
        inputs,
        'the libtorch addon was built before step capture existed: rebuild it (node native/install.mjs)',
      );
    const key = inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' ');
    const entry = this.entries.get(key);
    if (entry && 'declined' in entry) return this.eager(inputs, entry.declined);
    if (entry && this.current(backend, entry)) {
      this.lastReason = '';
      return this.replay(backend, entry, inputs);
    }
    if (entry) this.drop(key);
    return this.capture(backend, key, inputs);
  }

  /** Forgets every captured program: state the step reads from JavaScript changed (an epoch's callbacks, a new stage). */
  invalidate(): void {
    for (const key of [...this.entries.keys()]) this.drop(key);
    this.attempts.clear();
  }

  dispose(): void {
    this.invalidate();
  }

  private eager(inputs: tfc.Tensor[], why: string): Outputs {
    this.lastReason = why;
    return this.tf.tidy(() => this.fn(inputs));
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    const backend = this.tf.backend();
    if (entry && 'id' in entry && backend instanceof LibtorchBackend) backend.addon.dropProgram(entry.id);
    this.entries.delete(key);
  }

  /** Whether every variable still holds the tensor the program writes: an assign outside the step replaces it. */
  private current(backend: LibtorchBackend, p: Program): boolean {
    for (const { variable, handle } of p.variables) {
      if (variable.isDisposed || backend.dataHandle(variable.dataId) !== handle) return false;
    }
    return true;
  }

  private replay(backend: LibtorchBackend, p: Program, inputs: tfc.Tensor[]): Outputs {
    const handles = backend.addon.replay(
      p.id,
      inputs.map((t) => backend.handle(t)),
    );
    const out: Outputs = {};
    p.outputs.forEach(({ name, shape, dtype }, i) => {
      out[name] = this.tf.engine().makeTensorFromTensorInfo(backend.adopt(handles[i], shape, dtype), backend);
    });
    return out;
  }

  private capture(backend: LibtorchBackend, key: string, inputs: tfc.Tensor[]): Outputs {
    const inBackend = (v: tfc.Variable) => backend.dataHandle(v.dataId) !== undefined;
    const variables = Object.values(this.tf.engine().state.registeredVariables).filter(inBackend);
    backend.beginCapture(
      inputs.map((t) => backend.handle(t)),
      variables.map((v) => backend.dataHandle(v.dataId)!),
    );
    let outputs: Outputs;
    try {
      outputs = this.tf.tidy(() => this.fn(inputs));
    } catch (e) {
      backend.endCapture([], null);
      throw e;
    }
    const created =
      Object.values(this.tf.engine().state.registeredVariables).filter(inBackend).length !== variables.length;
    if (created || variables.some((v) => v.isDisposed)) {
      backend.endCapture([], null);
      return this.retry(key, 'the step creates variables (optimizer state on its first step)', outputs);
    }
    const result = backend.endCapture(
      variables.map((v) => backend.dataHandle(v.dataId)!),
      Object.values(outputs).map((t) => backend.handle(t)),
    );
    if (result.retry) return this.retry(key, result.retry, outputs);
    if (result.declined !== undefined || result.program === undefined) {
      const why = result.declined ?? 'no program';
      this.entries.set(key, { declined: why });
      this.lastReason = why;
      this.log(`compiled step declined (${key}): ${why}; training eagerly`);
      return outputs;
    }
    const program: Program = {
      id: result.program,
      variables: variables.map((v) => ({ variable: v, handle: backend.dataHandle(v.dataId)! })),
      outputs: Object.entries(outputs).map(([name, t]) => ({ name, shape: t.shape.slice(), dtype: t.dtype })),
    };
    this.entries.set(key, program);
    this.lastReason = '';
    const info = backend.addon.programInfo(program.id);
    const merged = info.mergedConvGrads ? ` (${info.mergedConvGrads} convolution gradients in one op each)` : '';
    this.log(`compiled step captured (${key}): ${info.ops} native ops${merged}, ${info.updates} variables updated`);
    return outputs;
  }

  private retry(key: string, why: string, outputs: Outputs): Outputs {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    this.lastReason = why;
    if (n >= ATTEMPTS) {
      this.entries.set(key, { declined: why });
      this.log(`compiled step declined (${key}): ${why}; training eagerly`);
    }
    return outputs;
  }
}
