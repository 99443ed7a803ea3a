#!/usr/bin/env node
import { availableParallelism } from 'node:os';

// Native image decoding runs on libuv's thread pool (4 threads unless told): one per core, set before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
await import('../dist/src/runner/cli.js');
