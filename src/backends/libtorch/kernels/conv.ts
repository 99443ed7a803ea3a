import { backend_util, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import type { LibtorchBackend } from '../backend.js';
import type { Handle, TorchAddon } from '../addon.js';
import { kernel, type Attrs } from './kernel.js';

type ConvInfo = backend_util.Conv2DInfo;

/** The addon's conv parameters: strides, TF padding (top, bottom, left, right), dilations, depthwise, NCHW. */
function convParams(c: ConvInfo, depthwise: boolean): number[] {
  const p = c.padInfo;
  return [
    c.strideHeight,
    c.strideWidth,
    p.top,
    p.bottom,
    p.left,
    p.right,
    c.dilationHeight,
    c.dilationWidth,
    depthwise ? 1 : 0,
    c.dataFormat === 'channelsFirst' ? 1 : 0,
  ];
}

function poolParams(c: ConvInfo): number[] {
  const p = c.padInfo;
  return [c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, p.top, p.bottom, p.left, p.right];
}

function convInfo(xShape: number[], filterShape: number[], a: Attrs, depthwise: boolean): ConvInfo {
  const format = backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC');
  return backend_util.computeConv2DInfo(
    xShape as any,
    filterShape as any,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
    format,
  );
}

/** Adds the bias and applies the activation of tfjs's fused conv and matmul kernels, freeing the intermediates. */
export function biasAndActivation(
  b: LibtorchBackend,
  addon: TorchAddon,
  y: Handle,
  inputs: Record<string, TensorInfo | undefined>,
  a: Attrs,
): Handle {
  const step = (next: Handle) => {
    addon.dispose(y);
    y = next;
  };
  const code = (name: string, table: string[]) => table.indexOf(name);
  if (inputs.bias) step(addon.binary(code('Add', addon.binaryOps), y, b.handle(inputs.bias), 0));
  const activation: string = a.activation ?? 'linear';
  if (activation === 'prelu')
    step(addon.binary(code('Prelu', addon.binaryOps), y, b.handle(inputs.preluActivationWeights!), 0));
  else if (activation !== 'linear') {
    const names: Record<string, string> = {
      relu: 'Relu',
      relu6: 'Relu6',
      elu: 'Elu',
      leakyrelu: 'LeakyRelu',
      sigmoid: 'Sigmoid',
    };
    if (!names[activation]) throw new Error(`libtorch backend: unknown fused activation ${activation}`);
    step(addon.unary(code(names[activation], addon.unaryOps), y, a.leakyreluAlpha ?? 0.2, 0));
  }
  return y;
}

/** Convolutions (plain, depthwise, fused) and 2-D pooling with their gradients. */
export function convKernels(addon: TorchAddon): KernelConfig[] {
  const conv = (b: LibtorchBackend, x: TensorInfo, filter: TensorInfo, a: Attrs, depthwise: boolean) =>
    addon.conv2d(b.handle(x), b.handle(filter), convParams(convInfo(x.shape, filter.shape, a, depthwise), depthwise));
  const backpropInput = (name: string, depthwise: boolean) =>
    kernel(name, (b, { dy, filter }, a) => {
      const info = convInfo(a.inputShape, filter.shape, a, depthwise);
      return b.output(
        addon.conv2dBackpropInput(b.handle(dy), b.handle(filter), a.inputShape, convParams(info, depthwise)),
      );
    });
  const backpropFilter = (name: string, depthwise: boolean) =>
    kernel(name, (b, { x, dy }, a) => {
      const info = convInfo(x.shape, a.filterShape, a, depthwise);
      return b.output(
        addon.conv2dBackpropFilter(b.handle(x), b.handle(dy), a.filterShape, convParams(info, depthwise)),
      );
    });
  const pool = (x: TensorInfo, a: Attrs) =>
    backend_util.computePool2DInfo(x.shape as any, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const isIdentityPool = (c: ConvInfo) =>
    c.filterHeight === 1 && c.filterWidth === 1 && util.arraysEqual(c.inShape, c.outShape);
  return [
    kernel('Conv2D', (b, { x, filter }, a) => b.output(conv(b, x, filter, a, false))),
    kernel('DepthwiseConv2dNative', (b, { x, filter }, a) => b.output(conv(b, x, filter, a, true))),
    kernel('FusedConv2D', (b, inputs, a) =>
      b.output(biasAndActivation(b, addon, conv(b, inputs.x, inputs.filter, a, false), inputs, a)),
    ),
    kernel('FusedDepthwiseConv2D', (b, inputs, a) =>
      b.output(biasAndActivation(b, addon, conv(b, inputs.x, inputs.filter, a, true), inputs, a)),
    ),
    backpropInput('Conv2DBackpropInput', false),
    backpropInput('DepthwiseConv2dNativeBackpropInput', true),
    backpropFilter('Conv2DBackpropFilter', false),
    backpropFilter('DepthwiseConv2dNativeBackpropFilter', true),
    kernel('MaxPool', (b, { x }, a) => {
      const info = pool(x, a);
      return isIdentityPool(info) ? b.share(x) : b.output(addon.maxPool(b.handle(x), poolParams(info)));
    }),
    kernel('AvgPool', (b, { x }, a) => {
      const info = pool(x, a);
      return isIdentityPool(info) ? b.share(x) : b.output(addon.avgPool(b.handle(x), poolParams(info)));
    }),
    kernel('MaxPoolGrad', (b, { dy, input }, a) =>
      b.output(addon.maxPoolGrad(b.handle(dy), b.handle(input), poolParams(pool(input, a)))),
    ),
    kernel('AvgPoolGrad', (b, { dy, input }, a) =>
      b.output(addon.avgPoolGrad(b.handle(dy), b.handle(input), poolParams(pool(input, a)))),
    ),
  ];
}
