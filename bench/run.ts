import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AUTO_ORDER, type BackendName } from '../src/backends/select.js';
import { measureBackend, type BackendFigures } from './measure.js';

const USAGE = `npm run bench -- [options]
  Training (forward, backward, SGD update) and inference images/s of the pre-activation ResNet-20 on 32×32×3 random
  data, batch 128, on each backend that loads, and the same network in PyTorch (Debian python3-torch) for the ratio.
  --backends a,b      backends to measure (default: ${AUTO_ORDER.join(',')}; those that do not load are reported as such)
  --skip-torch        leave out the PyTorch run
  --quick             2 timed steps instead of 5 and no batch-1024 inference
  --steps N           timed steps (after one warm-up) for each figure
  --cpu-batch N       training batch on the pure-JS cpu backend (default 16: batch 128 takes minutes per step there)
  --torch-threads N   PyTorch intra-op threads (default 2)
  --json FILE         also write the figures as JSON`;

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/pytorch_resnet20.py', import.meta.url));

interface TorchFigures {
  engine: string;
  threads: number;
  batch: number;
  train_img_s: number;
  infer_img_s: number;
  infer_big_img_s?: number;
}

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: AUTO_ORDER.join(',') },
    'skip-torch': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    steps: { type: 'string' },
    'cpu-batch': { type: 'string', default: '16' },
    'torch-threads': { type: 'string', default: '2' },
    json: { type: 'string' },
    worker: { type: 'string' },
    'train-batch': { type: 'string', default: '128' },
    'infer-batch': { type: 'string', default: '128' },
    'big-batch': { type: 'string', default: '1024' },
    help: { type: 'boolean', default: false },
  },
});

const steps = Number(args.steps ?? (args.quick ? 2 : 5));

if (args.help) {
  console.log(USAGE);
} else if (args.worker) {
  // One backend per process, so each gets a clean tfjs and its own peak-memory figure.
  const figures = await measureBackend({
    backend: args.worker as BackendName,
    trainBatch: Number(args['train-batch']),
    inferBatch: Number(args['infer-batch']),
    bigBatch: Number(args['big-batch']),
    steps,
  });
  process.stdout.write(JSON.stringify(figures) + '\n');
  process.exit(0);
} else {
  await main();
}

async function main(): Promise<void> {
  const backends = args.backends.split(',').map((b) => b.trim()) as BackendName[];
  const unknown = backends.filter((b) => !AUTO_ORDER.includes(b));
  if (unknown.length > 0) {
    console.error(`unknown backend ${unknown.join(', ')} (choose from ${AUTO_ORDER.join(', ')})`);
    process.exit(2);
  }
  console.log(`# epsilab benchmark: pre-activation ResNet-20, 32×32×3, ${new Date().toISOString()}`);
  console.log(
    `# ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}; load average before: ${loadavg()[0].toFixed(2)}`,
  );
  // PyTorch first, next to the fast backends: the slow pure-JS cpu row runs last.
  const torch = args['skip-torch'] ? null : runTorch();
  const results: BackendFigures[] = [];
  for (const backend of backends) {
    const cpu = backend === 'cpu';
    const batches = cpu
      ? { train: Number(args['cpu-batch']), infer: 32, big: 0 }
      : { train: 128, infer: 128, big: args.quick ? 0 : 1024 };
    console.error(`measuring ${backend}...`);
    results.push(runWorker(backend, batches.train, batches.infer, batches.big));
  }
  report(results, torch);
  console.log(
    `# load average after: ${loadavg()[0].toFixed(2)} (other processes on these cores slow every figure, PyTorch's two threads most)`,
  );
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          cpu: cpus()[0]?.model,
          cores: cpus().length,
          node: process.version,
          loadAverage: loadavg()[0],
          backends: results,
          torch,
        },
        null,
        2,
      ) + '\n',
    );
}

function runWorker(backend: BackendName, train: number, infer: number, big: number): BackendFigures {
  const argv = [
    fileURLToPath(import.meta.url),
    '--worker',
    backend,
    '--steps',
    String(steps),
    '--train-batch',
    String(train),
    '--infer-batch',
    String(infer),
    '--big-batch',
    String(big),
  ];
  const child = spawnSync(process.execPath, argv, {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const last = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as BackendFigures;
  } catch {
    return {
      backend,
      ok: false,
      why: `benchmark process failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    };
  }
}

function runTorch(): TorchFigures | { error: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return { error: `PyTorch not importable by ${PYTHON} (Debian package python3-torch)` };
  console.error('measuring PyTorch...');
  const child = spawnSync(
    PYTHON,
    [
      TORCH_SCRIPT,
      '--threads',
      args['torch-threads'],
      '--steps',
      String(Math.max(steps, 3)),
      '--big-batch',
      args.quick ? '0' : '1024',
    ],
    { encoding: 'utf8' },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as TorchFigures;
  } catch {
    return {
      error: `PyTorch run failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-2).join(' | ')}`,
    };
  }
}

function report(results: BackendFigures[], torch: TorchFigures | { error: string } | null): void {
  const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '–' : v.toFixed(digits));
  const ref = torch && 'train_img_s' in torch ? torch : null;
  console.log('');
  console.log(
    '| engine | train img/s | inference img/s | inference img/s, batch 1024 | train vs PyTorch | input pipeline share | peak RSS MiB (training / all) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (!r.ok) {
      console.log(`| ${r.backend} | not available: ${r.why} | | | | | |`);
      continue;
    }
    const batchNote = r.trainBatch === 128 ? '' : ` (batch ${r.trainBatch})`;
    const inferNote = r.inferBatch === 128 ? '' : ` (batch ${r.inferBatch})`;
    const ratio = ref ? (r.trainImgPerSec! / ref.train_img_s).toFixed(3) : '–';
    console.log(
      `| tfjs ${r.backend} | ${fmt(r.trainImgPerSec)}${batchNote} | ${fmt(r.inferImgPerSec)}${inferNote} | ${fmt(r.inferBigImgPerSec)} | ${ratio} | ${(100 * r.pipelineShare!).toFixed(1)}% (${fmt(r.pipelineMsPerBatch)} ms/batch unthreaded) | ${fmt(r.trainPeakRssMiB, 0)} / ${fmt(r.peakRssMiB, 0)} |`,
    );
  }
  if (ref)
    console.log(
      `| ${ref.engine}, ${ref.threads} threads | ${fmt(ref.train_img_s)} | ${fmt(ref.infer_img_s)} | ${fmt(ref.infer_big_img_s)} | 1 | – | – |`,
    );
  else if (torch && 'error' in torch) console.log(`| PyTorch | not available: ${torch.error} | | | | | |`);
  console.log('');
  for (const r of results)
    if (r.ok)
      console.log(
        `# ${r.backend}: ${r.why}; ${r.params} parameters; live tensors added by the timed training steps: ${r.liveTensorsGrowth}`,
      );
}
