import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BuildContext } from '../registry/component.js';
import type { ImageSet } from './types.js';
import {
  assembleBatch,
  epochOrder,
  KEEP_FREE,
  stepIndices,
  stepsPerEpoch,
  takeFree,
  unevenBatch,
  type DecodeOptions,
  type EpochPlan,
  type HostBatch,
} from './batch.js';
import { UsageError } from '../util/errors.js';
import { describeImageSet, imageFile } from './image-set.js';
import { DamagedImageError } from './decode-image.js';
import { InputError } from '../util/errors.js';
import { loadSharp } from './native-image.js';
import { fastCoverage, loadJpegAddon, MAX_JPEG_PIXELS } from './fast-jpeg.js';
import type { ToWorker, WorkerInit } from './pipeline-worker.js';
import { TransformChain, type FitData, type ResolvedTransform } from './transform-chain.js';

export type { HostBatch } from './batch.js';

export interface PipelineOptions {
  set: ImageSet;
  /** The config's transform sections resolved through its registry (`resolveTransforms`), applied in order. */
  transforms: ResolvedTransform[];
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Drop the last incomplete batch (default false). */
  dropRemainder?: boolean;
  /** Cap on steps per epoch. */
  stepsPerEpoch?: number;
  /** Data-parallel: the part of each batch this rank reads (every rank shuffles alike, from the seed). */
  shard?: { index: number; count: number };
  /** Worker threads preparing batches ahead of the training step: 'auto' (the default) is one per core but one; 0 prepares them on the calling thread. */
  workers?: number | 'auto';
  /** Image files decoded at once per thread (default: enough to keep libuv's thread pool busy). */
  decodeConcurrency?: number;
  /** Decode image files natively with libvips (default true); false forces the pure-JavaScript decoders. */
  native?: boolean;
  /** Decode JPEG files on the native fast path (libjpeg-turbo) where it covers the transforms (default true). */
  fastJpeg?: boolean;
  /** Warnings (damaged images skipped, a fallback to pure JavaScript); default: the build context's log. */
  log?: (line: string) => void;
  /** Batches each worker keeps ready (default 2). */
  prefetch?: number;
  /** The dataset's splits, which transforms that learn from data are fitted on (per-pixel mean over train+test); required when one does. */
  fit?: FitData;
  /** Context the transforms are built with; default: the seed, the working folder and no log. */
  ctx?: BuildContext;
}

type FromWorker =
  | { type: 'batch'; gen: number; batch: HostBatch }
  | { type: 'damaged'; gen: number; file: string; reason: string }
  | {
      type: 'error';
      gen: number;
      message: string;
      stack?: string;
      damaged?: { file: string; reason: string };
      user?: boolean;
      code?: string;
      path?: string;
    };

const logged = new Set<string>();

/** Says a line once per process (evaluation builds a pipeline every epoch). */
function logOnce(log: (line: string) => void, line: string): void {
  if (logged.has(line)) return;
  logged.add(line);
  log(line);
}

/** Worker threads for `workers: 'auto'`: every core but the one the training loop runs on. */
export function autoWorkers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/**
 * Turns an image set and its transforms into batches, epoch by epoch. The order and every random draw derive from
 * (seed, epoch, image index), so `batches(epoch, step)` after a restart yields exactly what an uninterrupted run would
 * have from that step on. Worker threads build batches ahead while the caller trains; without workers (or when the
 * set or a transform cannot move to a worker) the same batches are built on the calling thread.
 */
export class InputPipeline {
  private readonly plan: EpochPlan;
  private chain: TransformChain | null = null;
  private workers: Worker[] = [];
  private starting: Promise<void> | null = null;
  private gen = 0;
  private readonly arrived = new Map<number, HostBatch>();
  private waiter: { step: number; resolve: (b: HostBatch) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closed = false;
  private decode: DecodeOptions = { sharp: null, concurrency: 1, reuse: (length) => takeFree(this.free, length) };
  private readonly free: Float32Array[] = [];
  private log: (line: string) => void = () => {};
  /** Why batches are built on the calling thread although workers were asked for; null otherwise. */
  fallbackReason: string | null = null;
  /** Why image files are decoded in pure JavaScript although native decoding was asked for; null otherwise. */
  nativeFallbackReason: string | null = null;
  /** Why JPEG files do not take the native fast path although it was asked for; null otherwise. */
  fastFallbackReason: string | null = null;
  /** Damaged image files left out of batches so far (each counted once). */
  readonly damaged = new Set<string>();
  /** Seconds the caller spent waiting for batches (on the calling thread: making them). */
  waitedSeconds = 0;

  constructor(private readonly o: PipelineOptions) {
    this.plan = {
      size: o.set.size,
      batchSize: o.batchSize,
      shuffle: o.shuffle,
      seed: o.seed,
      dropRemainder: o.dropRemainder ?? false,
      stepsPerEpoch: o.stepsPerEpoch,
      shard: o.shard,
    };
    if (stepsPerEpoch(this.plan) === 0) {
      throw new InputError(
        `no batches: ${o.set.size} images${this.plan.dropRemainder ? ` with drop_remainder and batch size ${o.batchSize}` : ''}: lower train.batch_size, or set train.drop_remainder: false`,
      );
    }
    const uneven = unevenBatch(this.plan);
    if (uneven) throw new UsageError(uneven);
  }

  stepsPerEpoch(): number {
    return stepsPerEpoch(this.plan);
  }

  /** Whether image files are decoded with libvips (known once the first batch was asked for). */
  get decodesNatively(): boolean {
    return this.decode.sharp !== null;
  }

  /** Whether JPEG files take the native fast path (known once the first batch was asked for). */
  get decodesFast(): boolean {
    return Boolean(this.decode.fast);
  }

  /** Whether batches are being prepared in worker threads. */
  get threaded(): boolean {
    return this.workers.length > 0;
  }

  /** Batches of `epoch` from `startStep` (0-based) to the end of the epoch. */
  async *batches(epoch: number, startStep = 0): AsyncGenerator<HostBatch> {
    if (this.closed) throw new Error('input pipeline used after close()');
    await (this.starting ??= this.start());
    const total = this.stepsPerEpoch();
    if (!this.threaded) {
      const order = epochOrder(this.plan, epoch);
      for (let s = startStep; s < total; s++) {
        const t0 = performance.now();
        const batch = await assembleBatch(
          this.o.set,
          this.chain!,
          stepIndices(this.plan, order, s),
          this.plan.seed,
          epoch,
          s,
          this.decode,
        );
        this.waitedSeconds += (performance.now() - t0) / 1000;
        batch.release = () => {
          if (this.free.length < KEEP_FREE && !this.free.includes(batch.x)) this.free.push(batch.x);
        };
        yield batch;
      }
      return;
    }
    const gen = ++this.gen;
    this.arrived.clear();
    const k = this.workers.length;
    const credits = this.o.prefetch ?? 2;
    this.workers.forEach((w, i) =>
      this.send(w, { type: 'start', gen, epoch, first: startStep + i, stride: k, end: total, credits }),
    );
    try {
      for (let s = startStep; s < total; s++) {
        const batch = await this.take(s, gen);
        const worker = this.workers[(s - startStep) % k];
        this.send(worker, { type: 'credit', gen });
        batch.release = () => {
          if (!this.closed && batch.x.buffer.byteLength > 0)
            worker.postMessage({ type: 'recycle', buffer: batch.x.buffer }, [batch.x.buffer as ArrayBuffer]);
        };
        yield batch;
      }
    } finally {
      if (this.gen === gen && !this.closed) {
        this.gen++;
        this.arrived.clear();
        for (const w of this.workers) this.send(w, { type: 'stop' });
      }
    }
  }

  /** Stops the workers; the pipeline cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    this.gen++;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** Builds and fits the transforms, then starts the workers (or records why not). */
  private async start(): Promise<void> {
    const ctx = this.o.ctx ?? {
      tf: await import('@tensorflow/tfjs-core'),
      seed: this.o.seed,
      configDir: process.cwd(),
      facts: {},
      log: this.o.log ?? (() => {}),
    };
    this.log = this.o.log ?? ctx.log;
    this.chain = await TransformChain.build(this.o.transforms, ctx);
    const learner = this.chain.transforms.findIndex((t) => t.fit);
    if (learner >= 0 && !this.o.fit) {
      throw new Error(
        `transform ${this.o.transforms[learner].section.type} learns from data: give the input pipeline \`fit: {train, test}\` (the dataset's splits)`,
      );
    }
    if (this.o.fit) this.chain.fit(this.o.fit);
    const wanted = this.o.workers === 'auto' || this.o.workers === undefined ? autoWorkers() : this.o.workers;
    const files = this.o.set.size > 0 && imageFile(this.o.set, 0) !== null;
    if (files && this.o.native !== false) {
      // Loaded here first, before any worker thread loads it.
      const sharp = await loadSharp();
      if (typeof sharp === 'string') {
        this.nativeFallbackReason = sharp;
        this.log(`input pipeline: decoding images in pure JavaScript (several times slower) because ${sharp}`);
      } else this.decode.sharp = sharp;
    }
    if (files && this.o.native !== false && this.o.fastJpeg !== false) this.startFast();
    // Enough images in flight per thread to keep libuv's pool (which native decoding runs on) busy.
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const concurrency = this.o.decodeConcurrency ?? (this.decode.sharp ? Math.ceil(pool / Math.max(1, wanted)) + 1 : 1);
    this.decode = { ...this.decode, concurrency, onDamaged: (file, reason) => this.noteDamaged(file, reason) };
    if (wanted === 0) return;
    const set = describeImageSet(this.o.set);
    const chain = this.chain.message();
    if (typeof set === 'string' || typeof chain === 'string') {
      this.fallbackReason = typeof set === 'string' ? set : (chain as string);
      this.log(`input pipeline: preparing batches on the main thread because ${this.fallbackReason}`);
      return;
    }
    const fast = this.decode.fast ? { coverage: this.decode.fast.coverage, options: this.decode.fast.options } : null;
    const init: WorkerInit = { set, chain, plan: this.plan, native: this.decode.sharp !== null, concurrency, fast };
    for (let i = 0; i < wanted; i++) {
      const w = new Worker(new URL('./pipeline-worker.js', import.meta.url), { workerData: init });
      w.unref();
      w.on('message', (m: FromWorker) => this.receive(m));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`input pipeline worker exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }

  /** Takes the JPEG fast path where the addon loads and covers the chain; the log says which path the chain takes. */
  private startFast(): void {
    const addon = loadJpegAddon();
    const names = this.chain!.sections.map((s) => s.type);
    const coverage = typeof addon === 'string' ? addon : fastCoverage(this.chain!.transforms, names);
    const chain = names.join(', ') || 'no transforms';
    if (typeof coverage === 'string') {
      this.fastFallbackReason = coverage;
      logOnce(
        this.log,
        `input pipeline: ${chain}: JPEG files take the general path (${this.decode.sharp ? 'libvips' : 'JavaScript'}) because ${coverage}`,
      );
      return;
    }
    const options = {
      uint8: coverage.arithmetic === 'uint8',
      dctScaling: imageFile(this.o.set, 0)?.dctScaling ?? true,
      maxPixels: MAX_JPEG_PIXELS,
    };
    this.decode.fast = { addon: addon as Exclude<typeof addon, string>, coverage, options };
    logOnce(
      this.log,
      `input pipeline: ${chain}: JPEG files take the native fast path (libjpeg-turbo, ${coverage.arithmetic} arithmetic${options.dctScaling ? ', DCT scaling' : ''})`,
    );
  }

  private send(w: Worker, m: ToWorker): void {
    w.postMessage(m);
  }

  /** A damaged image left out of its batch: one warning per file, counted once. */
  private noteDamaged(file: string, reason: string): void {
    if (this.damaged.has(file)) return;
    this.damaged.add(file);
    this.log(`warning: skipping damaged image ${file} (${reason}); ${this.damaged.size} skipped so far`);
  }

  private receive(m: FromWorker): void {
    if (m.type === 'damaged') return this.noteDamaged(m.file, m.reason);
    if (m.gen !== this.gen) return;
    if (m.type === 'error') {
      // A user's mistake, or a file system refusal of a path, stays one across the thread boundary.
      const err = m.damaged
        ? new DamagedImageError(m.damaged.file, m.damaged.reason)
        : m.user
          ? new InputError(m.message)
          : Object.assign(new Error(`input pipeline worker: ${m.message}`), { code: m.code, path: m.path });
      if (m.stack && !m.damaged && !m.user) err.stack = m.stack;
      return this.fail(err);
    }
    if (this.waiter?.step === m.batch.step) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve(m.batch);
    } else this.arrived.set(m.batch.step, m.batch);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  /** The batch of `step`, once a worker has made it; the workers keep the process alive only while one is awaited. */
  private async take(step: number, gen: number): Promise<HostBatch> {
    if (this.failure) throw this.failure;
    const ready = this.arrived.get(step);
    if (ready) {
      this.arrived.delete(step);
      return ready;
    }
    for (const w of this.workers) w.ref();
    const t0 = performance.now();
    try {
      return await new Promise<HostBatch>((resolve, reject) => {
        if (gen !== this.gen) return reject(new Error('input pipeline: a newer batches() call replaced this one'));
        this.waiter = { step, resolve, reject };
      });
    } finally {
      this.waitedSeconds += (performance.now() - t0) / 1000;
      for (const w of this.workers) w.unref();
    }
  }
}
