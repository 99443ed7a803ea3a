import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyWaitPolicy, type Chosen, type WaitPolicy } from '../threads.js';

/** What the native addon reports about the libtorch it runs on. */
export interface TorchInfo {
  version: string;
  threads: number;
  device: string;
  mkldnn: boolean;
  /** A usable CUDA: a CUDA build that sees at least one GPU. */
  cuda: boolean;
  /** Linked against libtorch_cuda (absent from addons built before this field existed). */
  cudaBuild?: boolean;
  /** GPUs this libtorch sees (0 on a CPU-only build). */
  cudaDevices?: number;
  /** Built with the CUDA runtime headers, which CUDA graphs need. */
  cudaHeaders?: boolean;
  cudnn?: boolean;
  /** Built with c10d's Gloo process group (data-parallel on the CPU); absent from addons built before it existed. */
  gloo?: boolean;
  /** Built with c10d's NCCL process group (data-parallel on CUDA). */
  nccl?: boolean;
}

/** What `npm install` (native/install.mjs) found and did, kept in native/install.json. */
export interface InstallRecord {
  status: 'built' | 'skipped' | 'failed';
  /** The one line the install printed. */
  line: string;
  /** Where libtorch came from (LIBTORCH_DIR, the system's libtorch-dev, a PyTorch installation). */
  source?: string;
  torchVersion?: string;
  cuda?: boolean;
  cudaInclude?: string;
  abi?: string;
  date?: string;
}

/** A tensor handle: a slot number in the addon's table of live libtorch tensors. */
export type Handle = number;
type Ids = Handle | null;

/** The native addon's functions (native/src/*.cc); every result handle's shape and dtype land in `meta`. */
export interface TorchAddon {
  /** [rank, dtype code, ...dims] of the tensor created or inspected last. */
  meta: Int32Array;
  unaryOps: string[];
  binaryOps: string[];
  reduceOps: string[];
  configure(opts: { threads?: number; device?: string }): TorchInfo;
  memory(): { tensors: number; bytes: number };
  sync(): void;
  upload(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: number): Handle;
  download(h: Handle): Float32Array | Int32Array | Uint8Array;
  dispose(h: Handle): void;
  reshape(h: Handle, shape: number[]): Handle;
  metaOf(h: Handle): void;
  unary(code: number, x: Handle, a: number, b: number): Handle;
  binary(code: number, a: Handle, b: Handle, dtype: number): Handle;
  cast(x: Handle, dtype: number): Handle;
  select(condition: Handle, a: Handle, b: Handle, dtype: number): Handle;
  addN(xs: Handle[]): Handle;
  fill(shape: number[], value: number, dtype: number): Handle;
  range(count: number, start: number, step: number, dtype: number): Handle;
  reduce(code: number, x: Handle, axes: number[], keepDims: boolean): Handle;
  argReduce(x: Handle, axis: number, isMax: boolean): Handle;
  topk(x: Handle, k: number, sorted: boolean): Handle[];
  softmax(x: Handle, dim: number): Handle;
  cumsum(x: Handle, axis: number, exclusive: boolean, reverse: boolean): Handle;
  transpose(x: Handle, perm: number[]): Handle;
  slice(x: Handle, begin: number[], size: number[]): Handle;
  stridedSlice(x: Handle, begin: number[], strides: number[], sizes: number[]): Handle;
  pad(x: Handle, paddings: number[], value: number): Handle;
  mirrorPad(x: Handle, paddings: number[], symmetric: boolean): Handle;
  concat(xs: Handle[], axis: number): Handle;
  stack(xs: Handle[], axis: number): Handle;
  unstack(x: Handle, axis: number): Handle[];
  split(x: Handle, sizes: number[], axis: number): Handle[];
  tile(x: Handle, reps: number[]): Handle;
  gather(x: Handle, indices: Handle, axis: number): Handle;
  oneHot(indices: Handle, depth: number, on: number, off: number, dtype: number): Handle;
  reverse(x: Handle, dims: number[]): Handle;
  conv2d(x: Handle, filter: Handle, params: number[]): Handle;
  conv2dBackpropInput(dy: Handle, filter: Handle, inputShape: number[], params: number[]): Handle;
  conv2dBackpropFilter(x: Handle, dy: Handle, filterShape: number[], params: number[]): Handle;
  maxPool(x: Handle, params: number[]): Handle;
  maxPoolGrad(dy: Handle, x: Handle, params: number[]): Handle;
  avgPool(x: Handle, params: number[]): Handle;
  avgPoolGrad(dy: Handle, x: Handle, params: number[]): Handle;
  batchNorm(x: Handle, mean: Handle, variance: Handle, offset: Ids, scale: Ids, epsilon: number): Handle;
  batchNormTrain(x: Handle, scale: Handle, offset: Handle, epsilon: number): Handle[];
  batchNormTrainGrad(dy: Handle, x: Handle, scale: Handle, mean: Handle, invStd: Handle, epsilon: number): Handle[];
  matmul(a: Handle, b: Handle, transposeA: boolean, transposeB: boolean): Handle;
  reluGrad(dy: Handle, x: Handle): Handle;
  momentumUpdate(
    w: Handle,
    accum: Handle,
    g: Handle,
    lr: Handle,
    wd: Ids,
    momentum: number,
    nesterov: boolean,
  ): Handle[];
  adamUpdate(
    w: Handle,
    m: Handle,
    v: Handle,
    g: Handle,
    stepSize: Handle,
    l2: Ids,
    decayRate: Ids,
    beta1: number,
    beta2: number,
    epsilon: number,
  ): Handle[];
  /** Records every native op from now on; `inputs` are passed anew to each replay, `variables` may be updated. */
  captureBegin(inputs: Handle[], variables: Handle[]): void;
  /** The recording cannot become a program; the first reason is kept. */
  captureDecline(reason: string): void;
  captureAbort(): void;
  /** The variables in captureBegin's order as they are now, and the tensors a replay returns. */
  captureEnd(variables: Handle[], outputs: Handle[]): { program?: number; declined?: string; retry?: string };
  /** Runs a captured program on new inputs: the variables it updates are written in place; returns its outputs. */
  replay(program: number, inputs: Handle[]): Handle[];
  programInfo(program: number): {
    ops: number;
    constants: number;
    updates: number;
    outputs: number;
    /** Convolutions whose input and filter gradients run as one op (absent from addons built before). */
    mergedConvGrads?: number;
    graph: string;
  };
  dropProgram(program: number): void;
  /** The c10d process groups compiled in (native/src/distributed.cc); absent from addons built before them. */
  pgCapabilities?(): { gloo: boolean; nccl: boolean };
  /** Joins this process's group (one per process); the collectives below exist only where a group can be built. */
  pgInit?(opts: {
    rank: number;
    worldSize: number;
    backend: string;
    host?: string;
    port?: number;
    file?: string;
    timeoutMs: number;
  }): void;
  pgAllreduce?(handles: Handle[], average: boolean, bucketBytes: number, timeoutMs?: number): Handle[];
  pgBroadcast?(handles: Handle[], root: number, timeoutMs?: number): Handle[];
  pgBarrier?(timeoutMs?: number): void;
}

const ADDON = join('native', 'build', 'Release', 'epsilab_torch.node');
const INSTALL_RECORD = join('native', 'install.json');

/** The nearest folder above this file that holds `relative`, or null. */
function findUp(relative: string): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** What the last `npm install` recorded about the native build, or null where it never ran (or its record is unreadable). */
export function installRecord(): InstallRecord | null {
  const path = findUp(INSTALL_RECORD);
  if (path === null) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as InstallRecord;
  } catch {
    return null;
  }
}

/** The built addon next to this package (the nearest folder above this file that holds it), or EPSILAB_LIBTORCH_ADDON. */
export function addonPath(): string | null {
  const fromEnv = process.env.EPSILAB_LIBTORCH_ADDON;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return findUp(ADDON);
}

let waitPolicy: Chosen<WaitPolicy> | undefined;

/** The OpenMP wait policy libtorch started with and why, once the addon was loaded. */
export function waitPolicyAtLoad(): Chosen<WaitPolicy> | undefined {
  return waitPolicy;
}

/** Loads the addon, or says why it cannot be loaded. */
export function loadAddon(): { addon: TorchAddon } | { addon: null; why: string } {
  const path = addonPath();
  if (path === null) {
    const record = process.env.EPSILAB_LIBTORCH_ADDON ? null : installRecord();
    const said = record && record.status !== 'built' ? `; npm install said: ${record.line}` : '';
    return {
      addon: null,
      why: `libtorch addon not built (npm install builds it when libtorch is found; see native/README.md)${said}`,
    };
  }
  waitPolicy ??= applyWaitPolicy();
  try {
    return { addon: createRequire(import.meta.url)(path) as TorchAddon };
  } catch (e) {
    return { addon: null, why: `libtorch addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}
