import { backend_util, slice_util, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { LibtorchBackend } from '../backend.js';
import { dtypeCode } from '../backend.js';
import type { TorchAddon } from '../addon.js';
import { runOnCpu } from './fallback.js';
import { inputList, kernel } from './kernel.js';

/** Kernels that rearrange data: views where the strides allow, copies where they must. */
export function shapeKernels(addon: TorchAddon): KernelConfig[] {
  const reshape = (b: LibtorchBackend, x: TensorInfo, shape: number[]) =>
    b.output(addon.reshape(b.handle(x), util.inferFromImplicitShape(shape, util.sizeFromShape(x.shape))));
  const nonEmpty = (inputs: TensorInfo[]) => inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  return [
    kernel('Reshape', (b, { x }, { shape }) => reshape(b, x, shape)),
    kernel('ExpandDims', (b, { input }, { dim }) => {
      const shape = input.shape.slice();
      shape.splice(dim < 0 ? shape.length + dim + 1 : dim, 0, 1);
      return reshape(b, input, shape);
    }),
    kernel('Transpose', (b, { x }, { perm }) => b.output(addon.transpose(b.handle(x), perm))),
    kernel('Slice', (b, { x }, attrs) => {
      const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
      slice_util.assertParamsValid(x, begin, size);
      return b.output(addon.slice(b.handle(x), begin, size));
    }),
    kernel('StridedSlice', (b, { x }, a) => {
      const info = slice_util.sliceInfo(
        x.shape,
        a.begin,
        a.end,
        a.strides,
        a.beginMask,
        a.endMask,
        a.ellipsisMask,
        a.newAxisMask,
        a.shrinkAxisMask,
      );
      if (info.isIdentity) return reshape(b, x, info.finalShape);
      const sizes = slice_util.computeOutShape(info.begin, info.end, info.strides);
      const sliced = addon.stridedSlice(b.handle(x), info.begin, info.strides, sizes);
      const out = addon.reshape(sliced, info.finalShape);
      addon.dispose(sliced);
      return b.output(out);
    }),
    kernel('PadV2', (b, { x }, { paddings, constantValue }) =>
      b.output(addon.pad(b.handle(x), paddings.flat(), constantValue)),
    ),
    kernel('MirrorPad', (b, { x }, { paddings, mode }) =>
      b.output(addon.mirrorPad(b.handle(x), paddings.flat(), mode === 'symmetric')),
    ),
    kernel('Concat', (b, inputs, { axis }) => {
      const all = inputList(inputs);
      const $axis = util.parseAxisParam(axis, all[0].shape)[0];
      const parts = nonEmpty(all);
      if (parts.length === 0) {
        const shape = backend_util.computeOutShape(
          all.map((t) => t.shape),
          $axis,
        );
        return b.output(addon.fill(shape, 0, dtypeCode(all[0].dtype)));
      }
      return b.output(
        addon.concat(
          parts.map((t) => b.handle(t)),
          $axis,
        ),
      );
    }),
    kernel('Pack', (b, inputs, { axis }) =>
      b.output(
        addon.stack(
          inputList(inputs).map((t) => b.handle(t)),
          axis,
        ),
      ),
    ),
    kernel('Unpack', (b, { value }, { axis }) =>
      b.outputs(addon.unstack(b.handle(value), util.parseAxisParam(axis, value.shape)[0])),
    ),
    kernel('SplitV', (b, { x }, { numOrSizeSplits, axis }) => {
      const $axis = util.parseAxisParam(axis, x.shape)[0];
      const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, $axis);
      return b.outputs(addon.split(b.handle(x), sizes, $axis));
    }),
    kernel('Tile', (b, { x }, { reps }) => b.output(addon.tile(b.handle(x), reps))),
    kernel('GatherV2', (b, inputs, attrs) => {
      const { x, indices } = inputs;
      const { axis, batchDims } = attrs;
      if (batchDims) return runOnCpu(b, 'GatherV2', inputs, attrs);
      return b.output(addon.gather(b.handle(x), b.handle(indices), util.parseAxisParam(axis, x.shape)[0]));
    }),
    kernel('OneHot', (b, { indices }, { depth, onValue, offValue, dtype }) =>
      b.output(addon.oneHot(b.handle(indices), depth, onValue, offValue, dtypeCode(dtype ?? 'int32'))),
    ),
    kernel('Reverse', (b, { x }, { dims }) => b.output(addon.reverse(b.handle(x), util.parseAxisParam(dims, x.shape)))),
  ];
}
