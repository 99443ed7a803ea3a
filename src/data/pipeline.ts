import { Worker } from 'node:worker_threads';
import type { BuildContext } from '../registry/component.js';
import type { ImageSet } from './types.js';
import { assembleBatch, epochOrder, stepIndices, stepsPerEpoch, type EpochPlan, type HostBatch } from './batch.js';
import { describeImageSet } from './image-set.js';
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
  /** Worker threads preparing batches ahead of the training step (default 1); 0 prepares them on the calling thread. */
  workers?: number;
  /** Batches each worker keeps ready (default 2). */
  prefetch?: number;
  /** The dataset's splits, which transforms that learn from data are fitted on (per-pixel mean over train+test); required when one does. */
  fit?: FitData;
  /** Context the transforms are built with; default: the seed, the working folder and no log. */
  ctx?: BuildContext;
}

type FromWorker = { type: 'batch'; gen: number; batch: HostBatch } | { type: 'error'; gen: number; message: string; stack?: string };

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
  /** Why batches are built on the calling thread although workers were asked for; null otherwise. */
  fallbackReason: string | null = null;

  constructor(private readonly o: PipelineOptions) {
    this.plan = {
      size: o.set.size,
      batchSize: o.batchSize,
      shuffle: o.shuffle,
      seed: o.seed,
      dropRemainder: o.dropRemainder ?? false,
      stepsPerEpoch: o.stepsPerEpoch,
    };
    if (stepsPerEpoch(this.plan) === 0) {
      throw new Error(`no batches: ${o.set.size} images${this.plan.dropRemainder ? ` with drop_remainder and batch size ${o.batchSize}` : ''}`);
    }
  }

  stepsPerEpoch(): number {
    return stepsPerEpoch(this.plan);
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
      for (let s = startStep; s < total; s++) yield assembleBatch(this.o.set, this.chain!, stepIndices(this.plan, order, s), this.plan.seed, epoch, s);
      return;
    }
    const gen = ++this.gen;
    this.arrived.clear();
    const k = this.workers.length;
    const credits = this.o.prefetch ?? 2;
    this.workers.forEach((w, i) => this.send(w, { type: 'start', gen, epoch, first: startStep + i, stride: k, end: total, credits }));
    try {
      for (let s = startStep; s < total; s++) {
        const batch = await this.take(s, gen);
        this.send(this.workers[(s - startStep) % k], { type: 'credit', gen });
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
    const ctx = this.o.ctx ?? { tf: await import('@tensorflow/tfjs-core'), seed: this.o.seed, configDir: process.cwd(), facts: {}, log: () => {} };
    this.chain = await TransformChain.build(this.o.transforms, ctx);
    const learner = this.chain.transforms.findIndex((t) => t.fit);
    if (learner >= 0 && !this.o.fit) {
      throw new Error(`transform ${this.o.transforms[learner].section.type} learns from data: give the input pipeline \`fit: {train, test}\` (the dataset's splits)`);
    }
    if (this.o.fit) this.chain.fit(this.o.fit);
    const wanted = this.o.workers ?? 1;
    if (wanted === 0) return;
    const set = describeImageSet(this.o.set);
    const chain = this.chain.message();
    if (typeof set === 'string' || typeof chain === 'string') {
      this.fallbackReason = typeof set === 'string' ? set : (chain as string);
      ctx.log(`input pipeline: preparing batches on the main thread because ${this.fallbackReason}`);
      return;
    }
    const init: WorkerInit = { set, chain, plan: this.plan };
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

  private send(w: Worker, m: ToWorker): void {
    w.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (m.gen !== this.gen) return;
    if (m.type === 'error') {
      const err = new Error(`input pipeline worker: ${m.message}`);
      if (m.stack) err.stack = m.stack;
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
    try {
      return await new Promise<HostBatch>((resolve, reject) => {
        if (gen !== this.gen) return reject(new Error('input pipeline: a newer batches() call replaced this one'));
        this.waiter = { step, resolve, reject };
      });
    } finally {
      for (const w of this.workers) w.unref();
    }
  }
}
