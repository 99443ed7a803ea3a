import type * as tf from '@tensorflow/tfjs-core';

/** One image: interleaved HWC bytes. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** A labelled set of images held as raw bytes; decoding and augmentation happen in the input pipeline. */
export interface ImageSet {
  size: number;
  labels: Int32Array;
  /** Fixed shape [H, W, C] when every image has it (then `pixels` holds them all, N*H*W*C), else null. */
  shape: [number, number, number] | null;
  pixels: Uint8Array | null;
  image(index: number): RawImage;
}

/** What a dataset component builds. */
export interface DatasetSplits {
  name: string;
  numClasses: number;
  train: ImageSet;
  test: ImageSet;
  /** Where the files were read from, for env.json and error messages. */
  source: string;
}

/** A batch as float tensors ready for the model: x is NHWC float32, y holds class ids. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** A transform maps one image to another (augmentation, cropping, normalisation) using a seeded random source. */
export interface Transform {
  /** `fit` sees the training set once (per-pixel mean, channel statistics). */
  fit?(train: ImageSet): void;
  apply(img: FloatImage, rng: () => number): FloatImage;
  /** Output shape for an input shape, used to size the model before any data is read. */
  outputShape(shape: [number, number, number]): [number, number, number];
}

export interface FloatImage {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** A trainable or state variable with its checkpoint name (tensorpack style: `res2.3/conv1/W`, `bnlast/mean`). */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  /** Whether weight decay applies (conv and FC kernels only). */
  decay: boolean;
  trainable: boolean;
}

/** A residual gate's readings for one step (ε-ResNet). */
export interface GateReading {
  block: string;
  /** The scalar gate T(F): 1 keeps the block, 0 discards it. */
  gate: tf.Scalar;
  absMax: tf.Scalar;
  absMean: tf.Scalar;
}

export interface ModelOutput {
  logits: tf.Tensor2D;
  /** Named intermediate outputs (stage outputs for distillation: `stem`, `layer1`, ...). */
  taps: Record<string, tf.Tensor>;
  /** Auxiliary classifier heads trained with their own weight, never used for prediction. */
  auxLogits: { name: string; logits: tf.Tensor2D; weight: number }[];
  gates: GateReading[];
}

export interface ForwardOptions {
  training: boolean;
  /** Update batch-norm running statistics (training mode only). */
  updateStats?: boolean;
}

/** What a model component builds. */
export interface Model {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  variables: NamedVariable[];
  /** Names of the taps `apply` can return, in order. */
  tapNames: string[];
  /** Variable names per named part (`stem`, `layer1`, ...), so a distillation stage can train one part only. */
  stages?: Record<string, string[]>;
  /** The ε of every residual gate (ε-ResNet), a scalar a schedule may assign; absent without gates. */
  epsilon?: tf.Variable;
  apply(x: tf.Tensor4D, opts: ForwardOptions): ModelOutput;
  /** Multiply-accumulates of one forward pass of one image, times two. */
  flops(): number;
  dispose(): void;
}

/** What an optimizer component builds. */
export interface Optimizer {
  /** Apply one step: grads by variable name. Weight decay is the optimizer's business. */
  step(vars: NamedVariable[], grads: Record<string, tf.Tensor>, lr: number): void;
  /** Slot variables to checkpoint, by name. */
  slots(): Record<string, tf.Variable>;
  /** Restore slots written by `slots()` (from a checkpoint) before the next step. */
  loadSlots(values: Record<string, tf.Tensor>): void;
  dispose(): void;
}

/** What a schedule component builds: the learning rate of each epoch, possibly reacting to metrics. */
export interface Schedule {
  /** Learning rate for the (0-based) epoch about to start. */
  valueFor(epoch: number): number;
  /** Told after every epoch (0-based index of the epoch that ended) with that epoch's metrics. */
  observe?(epoch: number, metrics: Record<string, number>): void;
  /** Serialisable state for checkpoints; absent when the schedule is a pure function of the epoch. */
  state?(): unknown;
  restore?(state: unknown): void;
  /** Events worth a log line or a TensorBoard text (a learning-rate reset). */
  events?(): string[];
}

/** What a loss component builds: the scalar to minimise and its named parts (for logging). */
export interface Loss {
  compute(out: ModelOutput, labels: tf.Tensor1D, numClasses: number): { total: tf.Scalar; parts: Record<string, tf.Scalar> };
}

/** Everything a callback may look at or change between epochs. */
export interface CallbackContext {
  tf: typeof tf;
  model: Model;
  epoch: number;
  log: (line: string) => void;
}

/** What a callback component builds: hooks around each epoch. */
export interface Callback {
  onEpochStart?(ctx: CallbackContext): void;
  onEpochEnd?(ctx: CallbackContext, metrics: Record<string, number>): void;
}
