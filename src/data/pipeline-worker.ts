import { parentPort, workerData } from 'node:worker_threads';
import {
  assembleBatch,
  epochOrder,
  KEEP_FREE,
  stepIndices,
  takeFree,
  type DecodeOptions,
  type EpochPlan,
  type FastDecoding,
} from './batch.js';
import { loadJpegAddon } from './fast-jpeg.js';
import { restoreImageSet, type ImageSetDescription } from './image-set.js';
import { TransformChain, type ChainMessage } from './transform-chain.js';
import { DamagedImageError } from './decode-image.js';
import { UserError } from '../util/errors.js';
import { loadSharp } from './native-image.js';

/** What the pipeline hands a worker when it starts. */
export interface WorkerInit {
  set: ImageSetDescription;
  chain: ChainMessage;
  plan: EpochPlan;
  /** Decode image files natively (the pipeline loaded sharp before starting workers). */
  native: boolean;
  /** Images each worker decodes at once. */
  concurrency: number;
  /** The JPEG fast path the pipeline took, or null. */
  fast: Omit<FastDecoding, 'addon'> | null;
}

/** Messages from the pipeline: make steps first, first+stride, ... < end of an epoch, one per credit. */
export type ToWorker =
  | { type: 'start'; gen: number; epoch: number; first: number; stride: number; end: number; credits: number }
  | { type: 'credit'; gen: number }
  | { type: 'recycle'; buffer: ArrayBuffer }
  | { type: 'stop' };

interface Job {
  gen: number;
  epoch: number;
  next: number;
  stride: number;
  end: number;
  credits: number;
  order: Int32Array;
}

const init = workerData as WorkerInit;
const port = parentPort!;
const set = restoreImageSet(init.set);
const ready = Promise.all([
  import('@tensorflow/tfjs-core').then((tf) =>
    TransformChain.fromMessage(init.chain, {
      tf,
      seed: init.plan.seed,
      configDir: process.cwd(),
      facts: {},
      log: () => {},
    }),
  ),
  init.native ? loadSharp() : null,
]);
let job: Job | null = null;
let scheduled = false;
/** Batch buffers the pipeline released, to fill again. */
const free: Float32Array[] = [];

port.on('message', (m: ToWorker) => {
  if (m.type === 'start')
    job = {
      gen: m.gen,
      epoch: m.epoch,
      next: m.first,
      stride: m.stride,
      end: m.end,
      credits: m.credits,
      order: epochOrder(init.plan, m.epoch),
    };
  else if (m.type === 'credit' && job?.gen === m.gen) job.credits += 1;
  else if (m.type === 'recycle') return void (free.length < KEEP_FREE && free.push(new Float32Array(m.buffer)));
  else if (m.type === 'stop') job = null;
  schedule();
});

// One batch per turn of the event loop, so a stop or a new epoch is seen between batches.
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => void work());
}

async function work(): Promise<void> {
  const j = job;
  try {
    const [chain, sharp] = await ready;
    if (!j || j !== job || j.credits <= 0 || j.next >= j.end) return void (scheduled = false);
    if (typeof sharp === 'string') throw new Error(sharp);
    const addon = init.fast ? loadJpegAddon() : null;
    if (typeof addon === 'string') throw new Error(addon);
    const fast = init.fast && addon ? { ...init.fast, addon } : null;
    const decode: DecodeOptions = {
      sharp,
      concurrency: init.concurrency,
      fast,
      reuse: (length) => takeFree(free, length),
      onDamaged: (file, reason) => port.postMessage({ type: 'damaged', gen: j.gen, file, reason }),
    };
    const batch = await assembleBatch(
      set,
      chain,
      stepIndices(init.plan, j.order, j.next),
      init.plan.seed,
      j.epoch,
      j.next,
      decode,
    );
    // The batch's buffers move to the pipeline's thread without a copy.
    port.postMessage({ type: 'batch', gen: j.gen, batch }, [
      batch.x.buffer as ArrayBuffer,
      batch.y.buffer as ArrayBuffer,
    ]);
    j.next += j.stride;
    j.credits -= 1;
  } catch (err) {
    const damaged = err instanceof DamagedImageError ? { file: err.file, reason: err.reason } : undefined;
    const user = err instanceof UserError;
    const { code, path } = err as NodeJS.ErrnoException;
    port.postMessage({
      type: 'error',
      gen: j?.gen ?? -1,
      message: (err as Error).message,
      stack: (err as Error).stack,
      damaged,
      user,
      code,
      path,
    });
    job = null;
    scheduled = false;
    return;
  }
  scheduled = false;
  schedule();
}
