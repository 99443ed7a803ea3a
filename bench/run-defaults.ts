import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `node dist/bench/run-defaults.js [options]
  epsilab against PyTorch as people run them: the pre-activation ResNet-20 on synthetic 32×32×3 images trained by
  \`epsilab run\` (the trainer, its defaults: backend auto, compiled step, threads as src/backends/threads.ts chooses)
  and by a plain PyTorch training loop (bench/pytorch_epochs.py, PyTorch's defaults), each engine alone on the
  machine, whole runs alternating (epsilab first, then PyTorch first). The figure is the second epoch's training
  images/s (the first includes the capture and warm-up). Prints medians, ranges and the ratio of medians per batch
  size and wait policy, with the load average before each run; a run on a machine busier than its cores is flagged.
  --batches LIST    batch sizes (default 4,128)
  --runs N          runs per engine, batch size and wait policy (default 3)
  --policies LIST   default (OMP_WAIT_POLICY unset, each engine's own default) and/or passive (OMP_WAIT_POLICY=passive
                    for both); default: default,passive
  --engines LIST    epsilab, epsilab:N (train.threads N), pytorch, pytorch-channels-last (PyTorch at its best on this
                    CPU); default epsilab,pytorch
  --images N        training images per epoch (default: 512, at least 16 batches)
  --python P        the Python whose PyTorch to compare with (default: $PYTHON, else /usr/bin/python3)
  --json FILE       also write every run as JSON`;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '4,128' },
    runs: { type: 'string', default: '3' },
    policies: { type: 'string', default: 'default,passive' },
    engines: { type: 'string', default: 'epsilab,pytorch' },
    images: { type: 'string' },
    python: { type: 'string', default: process.env.PYTHON ?? '/usr/bin/python3' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

interface Run {
  engine: string;
  batch: number;
  policy: string;
  images_per_sec: number;
  load_before: number;
  threads: string;
}

const list = (s: string) => s.split(',').filter(Boolean);

/** The environment of an engine's process: nothing that changes threads or memory, but the wait policy asked for. */
function engineEnv(policy: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(OMP_|GOMP_|KMP_|MKL_|MALLOC_)|^EPSILAB_(TORCH_THREADS|CORES_SHARED_BY)$/.test(k)) delete env[k];
  if (policy === 'passive') env.OMP_WAIT_POLICY = 'passive';
  return env;
}

function config(batch: number, images: number): string {
  return `experiment: run-defaults
seed: 0
dataset: { type: synthetic, train_size: ${images}, test_size: 128 }
model: { type: preact-resnet, depth: 20 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0005 }
schedule: { type: cosine, initial: 0.1, final: 0 }
loss: { type: cross-entropy }
train: { epochs: 2, batch_size: ${batch}, eval_batch_size: 128 }
`;
}

function check(what: string, r: ReturnType<typeof spawnSync>): void {
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status}: ${String(r.stderr).slice(-2000)}`);
}

function runEpsilab(engine: string, dir: string, batch: number, images: number, policy: string, n: number) {
  const file = join(dir, `b${batch}.yaml`);
  writeFileSync(file, config(batch, images));
  const runDir = join(dir, `run-${engine.replace(':', '-')}-${batch}-${policy}-${n}`);
  const threads = engine.split(':')[1];
  const sets = threads ? ['--set', `train.threads=${threads}`] : [];
  const argv = [join(ROOT, 'dist/src/runner/cli.js'), 'run', file, '--run-dir', runDir, ...sets];
  const r = spawnSync(process.execPath, argv, { env: engineEnv(policy), encoding: 'utf8' });
  check('epsilab run', r);
  const epochs = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const last = JSON.parse(epochs.at(-1)!) as { images_per_sec: number };
  const env = JSON.parse(readFileSync(join(runDir, 'env.json'), 'utf8')) as {
    backend: { name: string };
    threads: { libtorch?: { threads: number; wait_policy: string } };
  };
  const t = env.threads.libtorch;
  return {
    engine,
    batch,
    policy,
    images_per_sec: last.images_per_sec,
    threads: t ? `${env.backend.name}, ${t.threads} threads, ${t.wait_policy} wait` : env.backend.name,
  };
}

function runPytorch(batch: number, images: number, policy: string, channelsLast: boolean): Omit<Run, 'load_before'> {
  const argv = [join(ROOT, 'bench/pytorch_epochs.py'), '--batch', String(batch), '--train-size', String(images)];
  const r = spawnSync(args.python!, [...argv, ...(channelsLast ? ['--channels-last'] : [])], {
    env: engineEnv(policy),
    encoding: 'utf8',
  });
  check('pytorch', r);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { images_per_sec: number; threads: number };
  return {
    engine: channelsLast ? 'pytorch-channels-last' : 'pytorch',
    batch,
    policy,
    images_per_sec: last.images_per_sec,
    threads: `${last.threads} threads`,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  const engines = list(args.engines!);
  const runs: Run[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'epsilab-run-defaults-'));
  const cores = availableParallelism();
  try {
    for (const policy of list(args.policies!))
      for (const batch of list(args.batches!).map(Number)) {
        const images = Number(args.images ?? Math.max(512, 16 * batch));
        for (let n = 0; n < Number(args.runs); n++) {
          // Whole runs alternate, and so does who goes first, so that a change in load hits the engines alike.
          const order = n % 2 ? [...engines].reverse() : engines;
          for (const engine of order) {
            const load_before = loadavg()[0];
            const run = engine.startsWith('epsilab')
              ? runEpsilab(engine, dir, batch, images, policy, n)
              : runPytorch(batch, images, policy, engine === 'pytorch-channels-last');
            runs.push({ ...run, load_before });
            console.error(
              `${policy} b${batch} #${n + 1} ${engine}: ${run.images_per_sec.toFixed(1)} img/s (${run.threads}; load ${load_before.toFixed(1)})`,
            );
          }
        }
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loads = runs.map((r) => r.load_before);
  const busy = Math.max(...loads) > cores;
  console.log(
    `# ResNet-20, synthetic 32×32×3, epoch-2 training images/s, ${args.runs} runs each, ${new Date().toISOString()}`,
  );
  console.log(
    `# load average before the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}) on ${cores} cores${busy ? ': a BUSY machine, the figures are noisy and slower than on an idle one' : ''}\n`,
  );
  console.log(
    `| wait policy | batch | ${engines.map((e) => `${e} img/s (median, range)`).join(' | ')} | ${engines.find((e) => e.startsWith('epsilab')) ?? 'epsilab'} / pytorch |`,
  );
  console.log(`|---|---|${engines.map(() => '---|').join('')}---|`);
  for (const policy of list(args.policies!))
    for (const batch of list(args.batches!).map(Number)) {
      const of = (engine: string) =>
        runs
          .filter((r) => r.engine === engine && r.batch === batch && r.policy === policy)
          .map((r) => r.images_per_sec);
      const cells = engines.map((e) => {
        const v = of(e);
        return `${median(v).toFixed(0)} (${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)})`;
      });
      const mine = engines.find((e) => e.startsWith('epsilab'));
      const ratio = mine && engines.includes('pytorch') ? (median(of(mine)) / median(of('pytorch'))).toFixed(2) : '–';
      console.log(`| ${policy} | ${batch} | ${cells.join(' | ')} | ${ratio}× |`);
    }
  if (args.json) writeFileSync(args.json, JSON.stringify({ cores, runs }, null, 2));
}

if (args.help) console.log(USAGE);
else main();
