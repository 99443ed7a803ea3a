import type * as tfc from '@tensorflow/tfjs-core';

export interface MemorySnapshot {
  /** Live tfjs tensors: the same count after every epoch means nothing leaks. */
  numTensors: number;
  /** Bytes held by those tensors on the backend. */
  numBytes: number;
  /** Resident set size of the process now, in bytes. */
  rssBytes: number;
  /** Highest resident set size the process has reached, in bytes. */
  peakRssBytes: number;
}

/** Tensor count and process memory, for the trainer's leak check and the benchmark's peak-memory figure. */
export function memorySnapshot(tf: typeof tfc): MemorySnapshot {
  const m = tf.memory();
  return {
    numTensors: m.numTensors,
    numBytes: m.numBytes,
    rssBytes: process.memoryUsage.rss(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
