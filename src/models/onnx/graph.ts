import type * as tfc from '@tensorflow/tfjs-core';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX opset the graphs use (Pad takes its pads as an input, Reduce* their axes as an attribute). */
export const ONNX_OPSET = 13;
/** IR version 7 is the first that opset 13 requires. */
const IR_VERSION = 7;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
/** The symbolic batch dimension of the graph's input and output. */
export const BATCH_DIM = 'batch';

/** A value of the graph: its name and its shape without the batch dimension ([C, H, W] for images, [] for scalars). */
export interface OnnxValue {
  name: string;
  shape: number[];
}

/** The layers the graph reads, by their fields (this folder imports none of the model files that call it). */
export interface ConvLayer {
  /** Kernel in TF.js layout [k, k, in, out]. */
  W: tfc.Tensor;
  stride: number;
  padding: 'same' | 'valid' | number[][];
  kernel: number;
  inCh: number;
  outCh: number;
}

export interface BatchNormLayer {
  gamma: tfc.Tensor;
  beta: tfc.Tensor;
  mean: tfc.Tensor;
  variance: tfc.Tensor;
  epsilon: number;
}

export interface DenseLayer {
  /** [in, out] */
  W: tfc.Tensor;
  b: tfc.Tensor;
}

/** Integers, integer lists, strings, or `{ float }` for a float attribute. */
type Attribute = number | number[] | string | { float: number };

/** Begin and end padding of one spatial dimension and the size it gives, as TF.js pads it ('same' puts the odd pixel at the end). */
function spatial(
  size: number,
  k: number,
  stride: number,
  padding: ConvLayer['padding'],
  axis: 1 | 2,
): { begin: number; end: number; out: number } {
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + k - size, 0);
    return { begin: Math.floor(total / 2), end: total - Math.floor(total / 2), out };
  }
  const [begin, end] = padding === 'valid' ? [0, 0] : padding[axis];
  return { begin, end, out: Math.floor((size + begin + end - k) / stride) + 1 };
}

function floats(t: tfc.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function rawFloats(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** A tensor as the ONNX format stores it (initializers and the model zoo's test_data_set_*.pb files). */
export function tensorProto(name: string, dims: number[], data: Float32Array): InstanceType<typeof onnx.TensorProto> {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: rawFloats(data) });
}

export function encodeTensor(name: string, dims: number[], data: Float32Array): Uint8Array {
  return onnx.TensorProto.encode(tensorProto(name, dims, data)).finish();
}

/** Reads a float tensor written by encodeTensor (or any float TensorProto with raw or float_data). */
export function decodeTensor(bytes: Uint8Array): { name: string; dims: number[]; data: Float32Array } {
  const t = onnx.TensorProto.decode(bytes);
  if (t.dataType !== FLOAT) throw new Error(`tensor ${t.name} is not float32 (data type ${t.dataType})`);
  const dims = t.dims.map(Number);
  const raw = t.rawData;
  const data =
    raw && raw.length > 0
      ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
      : Float32Array.from(t.floatData);
  return { name: t.name, dims, data };
}

/**
 * An inference graph in ONNX, built layer by layer from a model's own weights: NCHW input `input` with a symbolic batch
 * dimension, weights as initializers, one node per operation. Convolutions followed by batch norm take it folded in
 * (W·γ/√(σ²+ε), β − μ·γ/√(σ²+ε)), which is exact; a batch norm that follows anything else stays BatchNormalization.
 */
export class OnnxGraph {
  readonly input: OnnxValue;
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly used = new Set<string>(['input', 'logits']);

  /** `inputShape` is the model's [height, width, channels]. */
  constructor(inputShape: readonly [number, number, number]) {
    const [h, w, c] = inputShape;
    this.input = { name: 'input', shape: [c, h, w] };
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** A float initializer. */
  constant(base: string, dims: number[], data: Float32Array | number[]): string {
    const name = this.fresh(base);
    this.initializers.push(tensorProto(name, dims, data instanceof Float32Array ? data : Float32Array.from(data)));
    return name;
  }

  private int64Constant(base: string, values: number[]): string {
    const name = this.fresh(base);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: INT64,
        rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
      }),
    );
    return name;
  }

  /** One node: `op` on `inputs`, its output named after `base`, with the shape the caller knows it has. */
  op(
    opType: string,
    inputs: string[],
    shape: number[],
    base: string,
    attributes: Record<string, Attribute> = {},
  ): OnnxValue {
    const name = this.fresh(base);
    const attribute = Object.entries(attributes).map(([key, v]) =>
      typeof v === 'string'
        ? { name: key, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }
        : Array.isArray(v)
          ? { name: key, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : typeof v === 'number'
            ? { name: key, type: onnx.AttributeProto.AttributeType.INT, i: v }
            : { name: key, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.float },
    );
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [name], name, attribute }));
    return { name, shape };
  }

  /** A k×k convolution as TF.js computes it (its padding made explicit), with `bn` folded in when a batch norm follows it. */
  conv(x: OnnxValue, c: ConvLayer, scope: string, bn?: BatchNormLayer): OnnxValue {
    const [, h, w] = x.shape;
    const sh = spatial(h, c.kernel, c.stride, c.padding, 1);
    const sw = spatial(w, c.kernel, c.stride, c.padding, 2);
    const hwio = floats(c.W);
    const k = c.kernel;
    const scale = new Float64Array(c.outCh).fill(1);
    const bias = new Float64Array(c.outCh);
    if (bn) {
      const [gamma, beta, mean, variance] = [bn.gamma, bn.beta, bn.mean, bn.variance].map(floats);
      for (let o = 0; o < c.outCh; o++) {
        scale[o] = gamma[o] / Math.sqrt(variance[o] + bn.epsilon);
        bias[o] = beta[o] - mean[o] * scale[o];
      }
    }
    const oihw = new Float32Array(hwio.length);
    for (let ky = 0; ky < k; ky++)
      for (let kx = 0; kx < k; kx++)
        for (let i = 0; i < c.inCh; i++)
          for (let o = 0; o < c.outCh; o++)
            oihw[((o * c.inCh + i) * k + ky) * k + kx] = hwio[((ky * k + kx) * c.inCh + i) * c.outCh + o] * scale[o];
    const inputs = [x.name, this.constant(`${scope}/W`, [c.outCh, c.inCh, k, k], oihw)];
    if (bn) inputs.push(this.constant(`${scope}/b`, [c.outCh], Float32Array.from(bias)));
    return this.op('Conv', inputs, [c.outCh, sh.out, sw.out], bn ? `${scope}+bn` : scope, {
      kernel_shape: [k, k],
      strides: [c.stride, c.stride],
      pads: [sh.begin, sw.begin, sh.end, sw.end],
      dilations: [1, 1],
      group: 1,
    });
  }

  /** Inference-mode batch norm with the running statistics, where no convolution precedes it to fold it into. */
  batchNorm(x: OnnxValue, bn: BatchNormLayer, scope: string): OnnxValue {
    const ch = x.shape[0];
    const [gamma, beta, mean, variance] = (['gamma', 'beta', 'mean', 'variance'] as const).map((p) =>
      this.constant(`${scope}/${p}`, [ch], floats(bn[p])),
    );
    return this.op('BatchNormalization', [x.name, gamma, beta, mean, variance], x.shape, scope, {
      epsilon: { float: bn.epsilon },
    });
  }

  relu(x: OnnxValue, base = `${x.name}/relu`): OnnxValue {
    return this.op('Relu', [x.name], x.shape, base);
  }

  add(a: OnnxValue, b: OnnxValue, base: string): OnnxValue {
    return this.op('Add', [a.name, b.name], a.shape.length >= b.shape.length ? a.shape : b.shape, base);
  }

  mul(a: OnnxValue, b: OnnxValue, base: string): OnnxValue {
    return this.op('Mul', [a.name, b.name], a.shape.length >= b.shape.length ? a.shape : b.shape, base);
  }

  /** A float scalar initializer as a value. */
  scalar(base: string, value: number): OnnxValue {
    return { name: this.constant(base, [], [value]), shape: [] };
  }

  /** The maximum over every element, batch included (ε-ResNet's gate reads the whole batch tensor). */
  reduceMaxAll(x: OnnxValue, base: string): OnnxValue {
    return this.op('ReduceMax', [x.name], [], base, { keepdims: 0 });
  }

  maxPool(x: OnnxValue, k: number, stride: number, padding: 'same' | 'valid', base: string): OnnxValue {
    return this.pool('MaxPool', x, k, stride, padding, base);
  }

  /** Average pooling without padding (TF.js 'valid'), so no padded pixel enters an average. */
  avgPool(x: OnnxValue, k: number, stride: number, base: string): OnnxValue {
    return this.pool('AveragePool', x, k, stride, 'valid', base);
  }

  private pool(
    opType: string,
    x: OnnxValue,
    k: number,
    stride: number,
    padding: 'same' | 'valid',
    base: string,
  ): OnnxValue {
    const [c, h, w] = x.shape;
    const sh = spatial(h, k, stride, padding, 1);
    const sw = spatial(w, k, stride, padding, 2);
    return this.op(opType, [x.name], [c, sh.out, sw.out], base, {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [sh.begin, sw.begin, sh.end, sw.end],
    });
  }

  /** Zero channels added before and after (the option-A shortcut's tf.pad on the channel axis). */
  padChannels(x: OnnxValue, before: number, after: number, base: string): OnnxValue {
    const [c, h, w] = x.shape;
    const pads = this.int64Constant(`${base}/pads`, [0, before, 0, 0, 0, after, 0, 0]);
    return this.op('Pad', [x.name, pads], [c + before + after, h, w], base, { mode: 'constant' });
  }

  /** Mean over height and width: [C, H, W] → [C]. */
  globalAvgPool(x: OnnxValue, base: string): OnnxValue {
    const pooled = this.op('GlobalAveragePool', [x.name], [x.shape[0], 1, 1], base);
    return this.op('Flatten', [pooled.name], [x.shape[0]], `${base}/flatten`, { axis: 1 });
  }

  dense(x: OnnxValue, d: DenseLayer, scope: string): OnnxValue {
    const [inDim, outDim] = d.W.shape;
    const W = this.constant(`${scope}/W`, [inDim, outDim], floats(d.W));
    const b = this.constant(`${scope}/b`, [outDim], floats(d.b));
    return this.op('Gemm', [x.name, W, b], [outDim], scope);
  }

  /**
   * The serialised model: `logits` (the value the forward pass ends in, renamed) is its one output, [batch, classes].
   * `metadata` goes to metadata_props, where ONNX tools show it.
   */
  encode(
    logits: OnnxValue,
    o: { graphName: string; producerVersion: string; docString: string; metadata: Record<string, string> },
  ): Uint8Array {
    const last = this.nodes.find((n) => n.output[0] === logits.name);
    if (!last || this.nodes.some((n) => n.input.includes(logits.name)))
      throw new Error(`${logits.name} is not the graph's final value`);
    last.output = ['logits'];
    const valueInfo = (name: string, shape: number[]) => ({
      name,
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: { dim: [{ dimParam: BATCH_DIM }, ...shape.map((d) => ({ dimValue: d }))] },
        },
      },
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'epsilab',
      producerVersion: o.producerVersion,
      docString: o.docString,
      graph: {
        name: o.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(this.input.name, this.input.shape)],
        output: [valueInfo('logits', logits.shape)],
      },
      metadataProps: Object.entries(o.metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A model that can write its inference-mode forward pass into an ONNX graph; returns the value holding its logits. */
export interface OnnxExportable {
  exportOnnx(g: OnnxGraph): OnnxValue;
}

export function isOnnxExportable(model: object): model is OnnxExportable {
  return typeof (model as Partial<OnnxExportable>).exportOnnx === 'function';
}
