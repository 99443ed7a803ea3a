import { upcastType, type DataType, type KernelConfig } from '@tensorflow/tfjs-core';
import { dtypeCode } from '../backend.js';
import type { TorchAddon } from '../addon.js';
import { RELU_GRAD } from '../../fused/relu-gradient.js';
import { inputList, kernel, type Attrs } from './kernel.js';

const COMPARISONS = new Set([
  'Equal',
  'NotEqual',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalOr',
]);
/** Input names of the binary kernels that do not call theirs `a` and `b`. */
const INPUT_NAMES: Record<string, [string, string]> = { Prelu: ['x', 'alpha'], EluGrad: ['dy', 'y'] };

/** The numeric attributes a unary kernel takes, as the addon's (a, b) pair. */
function unaryAttrs(name: string, attrs: Attrs): [number, number] {
  if (name === 'ClipByValue') return [attrs.clipValueMin, attrs.clipValueMax];
  if (name === 'Step' || name === 'LeakyRelu') return [attrs.alpha ?? 0, 0];
  return [0, 0];
}

/** Element-wise kernels: the addon's unary and binary op tables, casts, selection and constants. */
export function elementwiseKernels(addon: TorchAddon): KernelConfig[] {
  const unary = addon.unaryOps.map((name, code) =>
    kernel(name, (b, { x }, attrs) => {
      const [a, c] = unaryAttrs(name, attrs);
      return b.output(addon.unary(code, b.handle(x), a, c));
    }),
  );
  const binary = addon.binaryOps.map((name, code) =>
    kernel(name, (b, inputs) => {
      const [first, second] = INPUT_NAMES[name] ?? ['a', 'b'];
      const [x, y] = [inputs[first], inputs[second]];
      const dtype: DataType = COMPARISONS.has(name)
        ? 'bool'
        : name === 'FloorDiv'
          ? 'int32'
          : upcastType(x.dtype, y.dtype);
      return b.output(addon.binary(code, b.handle(x), b.handle(y), dtypeCode(dtype)));
    }),
  );
  const fill = (shape: number[], value: number, dtype: DataType) => addon.fill(shape, value, dtypeCode(dtype));
  return [
    ...unary,
    ...binary,
    kernel('Cast', (b, { x }, { dtype }) =>
      dtype === x.dtype ? b.share(x) : b.output(addon.cast(b.handle(x), dtypeCode(dtype))),
    ),
    kernel('Identity', (b, { x }) => b.share(x)),
    // An addon built before the fused ReLU gradient existed leaves it out: tfjs's own gradient runs instead.
    ...(typeof addon.reluGrad === 'function'
      ? [kernel(RELU_GRAD, (b, { dy, x }) => b.output(addon.reluGrad(b.handle(dy), b.handle(x))))]
      : []),
    kernel('Select', (b, { condition, t, e }) =>
      b.output(addon.select(b.handle(condition), b.handle(t), b.handle(e), dtypeCode(upcastType(t.dtype, e.dtype)))),
    ),
    kernel('AddN', (b, inputs) => b.output(addon.addN(inputList(inputs).map((t) => b.handle(t))))),
    kernel('Fill', (b, _inputs, { shape, value, dtype }) => b.output(fill(shape, value, dtype))),
    kernel('ZerosLike', (b, { x }) => b.output(fill(x.shape, 0, x.dtype))),
    kernel('OnesLike', (b, { x }) => b.output(fill(x.shape, 1, x.dtype))),
    kernel('Range', (b, _inputs, { start, stop, step, dtype }) => {
      const count =
        start === stop || step === 0 || (stop - start) / step < 0 ? 0 : Math.abs(Math.ceil((stop - start) / step));
      return b.output(addon.range(count, start, step, dtypeCode(dtype)));
    }),
  ];
}
