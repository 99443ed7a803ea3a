import { DataStorage, KernelBackend, engine, util } from '@tensorflow/tfjs-core';
import type { BackendTimingInfo, BackendValues, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { Handle, TorchAddon } from './addon.js';

export const BACKEND_NAME = 'libtorch';

const DTYPE_CODES: Partial<Record<DataType, number>> = { float32: 0, int32: 1, bool: 2 };
const CODE_DTYPES: DataType[] = ['float32', 'int32', 'bool'];

/** One tensor's data: a libtorch handle (strings stay in JavaScript, no kernel computes on them). */
interface TorchData {
  handle: Handle;
  shape: number[];
  dtype: DataType;
  refCount: number;
  strings?: Uint8Array[];
  /** Handles reshaped for TensorInfos that share this data under another shape. */
  views?: Map<string, Handle>;
}

export function dtypeCode(dtype: DataType): number {
  const code = DTYPE_CODES[dtype];
  if (code === undefined) throw new Error(`libtorch backend: dtype ${dtype} is not supported`);
  return code;
}

function typed(values: BackendValues, dtype: DataType): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32')
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
}

function sameShape(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A tfjs backend whose tensors live in libtorch memory: kernels pass handles to the addon and never copy data
 * through JavaScript; only readSync/read copy values out. Memory is freed when tfjs disposes the data.
 */
export class LibtorchBackend extends KernelBackend {
  private readonly data: DataStorage<TorchData>;
  private readonly live = new Set<TorchData>();
  /** While a step is being captured: views made for it, freed when the capture ends. */
  private captureViews: Handle[] | null = null;

  constructor(readonly addon: TorchAddon) {
    super();
    this.data = new DataStorage(this, engine());
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.data.set(dataId, this.upload(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, this.upload(values, shape, dtype, refCount));
  }

  private upload(values: BackendValues, shape: number[], dtype: DataType, refCount: number): TorchData {
    const entry: TorchData =
      dtype === 'string'
        ? { handle: -1, shape: shape.slice(), dtype, refCount, strings: values as Uint8Array[] }
        : {
            handle: this.addon.upload(typed(values, dtype), shape, dtypeCode(dtype)),
            shape: shape.slice(),
            dtype,
            refCount,
          };
    this.live.add(entry);
    return entry;
  }

  /** Creates data for values computed outside libtorch (the cpu fallback kernels). */
  makeTensorInfo(shape: number[], dtype: DataType, values: BackendValues): TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  override readSync(dataId: DataId): BackendValues {
    const entry = this.data.get(dataId);
    return entry.strings ?? this.addon.download(entry.handle);
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.free(entry);
    this.data.delete(dataId);
    return true;
  }

  private free(entry: TorchData): void {
    if (entry.handle >= 0) this.addon.dispose(entry.handle);
    for (const view of entry.views?.values() ?? []) this.addon.dispose(view);
    this.live.delete(entry);
  }

  /** The handle for a kernel input, viewed with the TensorInfo's shape when tfjs reshaped it without a kernel. */
  handle(info: TensorInfo): Handle {
    const entry = this.data.get(info.dataId);
    if (entry.strings) throw new Error('libtorch backend: string tensors have no libtorch kernels');
    if (sameShape(entry.shape, info.shape)) return entry.handle;
    // A cached view would reach into a capture as a constant; a fresh one is recorded as the reshape it is.
    if (this.captureViews) {
      const view = this.addon.reshape(entry.handle, info.shape);
      this.captureViews.push(view);
      return view;
    }
    const key = info.shape.join(',');
    entry.views ??= new Map();
    let view = entry.views.get(key);
    if (view === undefined) {
      view = this.addon.reshape(entry.handle, info.shape);
      entry.views.set(key, view);
    }
    return view;
  }

  /** Registers a kernel result; its shape and dtype are read from the addon's meta buffer. */
  output(handle: Handle): TensorInfo {
    const meta = this.addon.meta;
    const shape = Array.from(meta.subarray(2, 2 + meta[0]));
    const dtype = CODE_DTYPES[meta[1]];
    const dataId = {};
    const entry: TorchData = { handle, shape, dtype, refCount: 1 };
    this.data.set(dataId, entry);
    this.live.add(entry);
    return { dataId, shape, dtype };
  }

  /** Registers a tensor the addon made outside a kernel (a replayed step's output) under the given shape and dtype. */
  adopt(handle: Handle, shape: number[], dtype: DataType): TensorInfo {
    const dataId = {};
    const entry: TorchData = { handle, shape: shape.slice(), dtype, refCount: 1 };
    this.data.set(dataId, entry);
    this.live.add(entry);
    return { dataId, shape, dtype };
  }

  /** The handle that holds a tensor's data as it is now (a variable's changes with each assign). */
  dataHandle(dataId: DataId): Handle | undefined {
    return this.data.has(dataId) ? this.data.get(dataId).handle : undefined;
  }

  get capturing(): boolean {
    return this.captureViews !== null;
  }

  /** Starts recording native ops (see `captureStep`). */
  beginCapture(inputs: Handle[], variables: Handle[]): void {
    this.addon.captureBegin(inputs, variables);
    this.captureViews = [];
  }

  /** Marks the capture in progress as unusable, with the reason the run log gives. */
  declineCapture(reason: string): void {
    if (this.captureViews) this.addon.captureDecline(reason);
  }

  /** Ends the recording: a program, or why there is none. */
  endCapture(variables: Handle[], outputs: Handle[] | null): { program?: number; declined?: string; retry?: string } {
    const views = this.captureViews ?? [];
    this.captureViews = null;
    try {
      if (outputs === null) {
        this.addon.captureAbort();
        return {};
      }
      return this.addon.captureEnd(variables, outputs);
    } finally {
      for (const view of views) this.addon.dispose(view);
    }
  }

  /** The same data under a second TensorInfo (Identity, same-dtype Cast: tfjs saves tensors for the backward pass so). */
  share(info: TensorInfo): TensorInfo {
    this.incRef(info.dataId);
    return { dataId: info.dataId, shape: info.shape, dtype: info.dtype };
  }

  outputs(handles: Handle[]): TensorInfo[] {
    return handles.map((h) => {
      this.addon.metaOf(h);
      return this.output(h);
    });
  }

  override memory(): { unreliable: boolean; numNativeTensors: number; numNativeBytes: number } {
    const { tensors, bytes } = this.addon.memory();
    return { unreliable: false, numNativeTensors: tensors, numNativeBytes: bytes };
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    this.addon.sync();
    const start = util.now();
    f();
    this.addon.sync();
    return { kernelMs: util.now() - start };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override dispose(): void {
    for (const entry of this.live) {
      if (entry.handle >= 0) this.addon.dispose(entry.handle);
      for (const view of entry.views?.values() ?? []) this.addon.dispose(view);
    }
    this.live.clear();
  }
}
