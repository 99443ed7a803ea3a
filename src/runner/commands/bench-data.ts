import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadExperiment } from '../../config/load.js';
import { buildDataset } from '../../train/build.js';
import { autoWorkers, InputPipeline } from '../../data/pipeline.js';
import { resolveTransforms } from '../../data/transform-chain.js';
import { loadJpegAddon } from '../../data/fast-jpeg.js';
import { EXIT, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

export const benchDataCommand: Command = {
  name: 'bench-data',
  summary: "Measure a config's training input pipeline alone: images/s, per worker, and how long a step would wait",
  usage: `epsilab bench-data <config.yaml> [--set path=value ...] [--batches N] [--workers N|auto] [--step-ms T] [--libvips] [--js] [--json]

Reads the config's dataset and builds its training input pipeline exactly as \`epsilab run\` does (transforms, batch
size, seed, train.input_workers), then makes batches without training: after one warm-up batch it times --batches
batches and reports images per second, per worker thread, and the time one batch takes to arrive: a training step
shorter than that waits for input. With --step-ms it stands in for the training step (sleeping T ms per batch, as the
training thread does while an accelerator works) and reports the images per second trained and the share of the time
spent waiting for input.

Options:
  --set path=value   override one config value (value parsed as YAML); repeatable
  --batches N        batches to time after the warm-up (default 20)
  --workers N|auto   worker threads (default: train.input_workers, else auto = one per core but one)
  --step-ms T        stand-in training step of T milliseconds per batch
  --libvips          decode JPEGs with libvips instead of the native libjpeg-turbo fast path (to compare)
  --js               decode images in pure JavaScript instead of libvips (to compare)
  --json             print the figures as one JSON object
Exit codes: 0 measured, 2 bad config, usage or a damaged image.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string', multiple: true, default: [] },
        batches: { type: 'string', default: '20' },
        workers: { type: 'string' },
        'step-ms': { type: 'string' },
        libvips: { type: 'boolean', default: false },
        js: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('bench-data takes exactly one config file');
    const batches = Number(values.batches);
    if (!Number.isInteger(batches) || batches < 1)
      throw new UsageError(`--batches must be a positive integer, got ${values.batches}`);
    const stepMs = values['step-ms'] === undefined ? undefined : Number(values['step-ms']);
    if (stepMs !== undefined && !(stepMs >= 0))
      throw new UsageError(`--step-ms must be a number of milliseconds, got ${values['step-ms']}`);
    const workerArg = values.workers;
    if (workerArg !== undefined && workerArg !== 'auto' && !/^\d+$/.test(workerArg))
      throw new UsageError(`--workers must be a count or auto, got ${workerArg}`);

    const log = (line: string) => console.error(line);
    const { config, registry } = await loadExperiment(positionals[0], values.set ?? []);
    const tf = await import('@tensorflow/tfjs-core');
    const dataset = await buildDataset(config, { tf, registry, configDir: dirname(resolve(positionals[0])), log });
    const requested =
      workerArg === undefined ? config.train.input_workers : workerArg === 'auto' ? 'auto' : Number(workerArg);
    const workers = requested === 'auto' ? autoWorkers() : requested;
    const pipeline = new InputPipeline({
      set: dataset.train,
      transforms: resolveTransforms(registry, config.transforms.train),
      batchSize: config.train.batch_size,
      shuffle: true,
      seed: config.seed,
      dropRemainder: config.train.drop_remainder,
      stepsPerEpoch: config.train.steps_per_epoch,
      workers,
      native: !values.js,
      fastJpeg: !values.libvips && !values.js,
      fit: { train: dataset.train, test: dataset.test },
      log,
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let images = 0;
    let made = 0;
    let started = 0;
    let waitedAtStart = 0;
    let cpuAtStart = process.cpuUsage();
    const jpeg = loadJpegAddon();
    const stages = () => (typeof jpeg === 'string' ? [0, 0, 0, 0] : jpeg.stageSeconds());
    let stagesAtStart = stages();
    try {
      outer: for (let epoch = 0; ; epoch++) {
        for await (const b of pipeline.batches(epoch)) {
          if (made === 0) {
            started = performance.now();
            waitedAtStart = pipeline.waitedSeconds;
            cpuAtStart = process.cpuUsage();
            stagesAtStart = stages();
          } else images += b.shape[0];
          // As the training step does once its input tensor holds the pixels.
          b.release?.();
          if (made++ === batches) break outer;
          if (stepMs !== undefined) await sleep(stepMs);
        }
      }
    } finally {
      await pipeline.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    // Per image the fast path finished in the meantime (workers run ahead of the timed batches).
    const stagesNow = stages();
    const stageMs = [0, 1, 2].map((i) =>
      Number(((1000 * (stagesNow[i] - stagesAtStart[i])) / Math.max(1, stagesNow[3] - stagesAtStart[3])).toFixed(3)),
    );
    const waited = pipeline.waitedSeconds - waitedAtStart;
    const imagesPerSecond = images / seconds;
    const threads = Math.max(1, workers);
    const record = {
      config: positionals[0],
      dataset: dataset.name,
      train_images: dataset.train.size,
      batch_size: config.train.batch_size,
      workers,
      cores: availableParallelism(),
      load_average_1m: Number(loadavg()[0].toFixed(2)),
      decoding: pipeline.decodesFast ? 'libjpeg-turbo' : pipeline.decodesNatively ? 'libvips' : 'javascript',
      ...(pipeline.fastFallbackReason ? { fast_path_not_taken: pipeline.fastFallbackReason } : {}),
      batches,
      images,
      seconds: Number(seconds.toFixed(3)),
      // Every thread of the process (workers and libuv's pool included): images per CPU-second is the per-core figure on a busy machine.
      cpu_seconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
      images_per_second: Number(imagesPerSecond.toFixed(1)),
      images_per_second_per_worker: Number((imagesPerSecond / threads).toFixed(1)),
      // The fast path's CPU milliseconds per image by stage; the rest of cpu_seconds is file reading, drawing and handing over.
      ...(pipeline.decodesFast
        ? { fast_path_ms_per_image: { decode: stageMs[0], resize: stageMs[1], colour_flip_normalise: stageMs[2] } }
        : {}),
      batch_ms: Number(((1000 * config.train.batch_size) / imagesPerSecond).toFixed(1)),
      ...(stepMs === undefined ? {} : { step_ms: stepMs, input_wait_share: Number((waited / seconds).toFixed(4)) }),
      damaged_skipped: pipeline.damaged.size,
    };
    if (values.json) {
      console.log(JSON.stringify(record));
      return EXIT.ok;
    }
    console.log(
      [
        `${record.dataset} training split (${record.train_images} images), batch ${record.batch_size}, ${workers ? `${workers} worker thread${workers > 1 ? 's' : ''}` : 'on the calling thread'}, decoding with ${record.decoding}; ${record.cores} cores, load average ${record.load_average_1m}`,
        `${images} images in ${batches} batches after one warm-up batch: ${record.images_per_second} images/s, ${record.images_per_second_per_worker} per worker; a batch every ${record.batch_ms} ms`,
        stepMs === undefined
          ? `a training step shorter than ${record.batch_ms} ms would wait for input (try --step-ms)`
          : `with a ${stepMs} ms training step the trainer waited for input ${(100 * record.input_wait_share!).toFixed(1)}% of the time`,
        ...(record.damaged_skipped ? [`${record.damaged_skipped} damaged images skipped`] : []),
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
