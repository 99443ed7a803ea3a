import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import type * as tfc from '@tensorflow/tfjs-core';
import { crossEntropy } from '../src/components/loss/cross-entropy.js';
import { preactResnet } from '../src/components/model/preact-resnet.js';
import { momentum } from '../src/components/optimizer/momentum.js';
import { selectBackend } from '../src/engine/backend.js';
import type { BuildContext } from '../src/registry/component.js';

const USAGE = `node dist/bench/libtorch.js [options]
  The libtorch backend against PyTorch on the same CPU in the same run: pre-activation ResNet-20 on 32×32×3 random data,
  training at batch 128 (forward, backward, SGD update) and inference at batch 1024, images/s. PyTorch (Debian
  python3-torch) runs the same network in NCHW and in channels-last memory; rounds alternate the engines so machine
  load hits them alike, and each figure is the median over rounds. The wasm backend is measured once for scale.
  --rounds N        alternations of libtorch and PyTorch (default 3)
  --steps N         timed training steps per measurement, after one warm-up (default 5)
  --threads N       threads for libtorch and PyTorch alike (default: all cores, ${availableParallelism()} here)
  --skip-wasm       leave out the wasm backend (its batch-128 step takes seconds)
  --json FILE       also write the figures as JSON`;

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/libtorch_pytorch.py', import.meta.url));

interface Figure {
  engine: string;
  train: number;
  inferBig: number;
}

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'skip-wasm': { type: 'boolean', default: false },
    json: { type: 'string' },
    worker: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const steps = Number(args.steps);
// Both engines get the libtorch backend's runtime settings: passive OpenMP waits (a loaded machine stays usable) and a
// malloc that keeps freed memory for reuse (the addon's mallopt calls; without them PyTorch's batch-1024 inference
// spends most of its time in page faults).
const env = {
  ...process.env,
  OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'passive',
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
  MALLOC_TOP_PAD_: String(2 ** 26),
  EPSILAB_TORCH_THREADS: args.threads,
};

if (args.help) {
  console.log(USAGE);
} else if (args.worker) {
  process.stdout.write(JSON.stringify(await measure(args.worker as 'libtorch' | 'wasm')) + '\n');
  process.exit(0);
} else {
  main();
}

function lastJson<T>(stdout: string): T | null {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return null;
  }
}

/** Seconds per call, median over `n` calls after one warm-up call. */
function medianSeconds(n: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

/** The benchmark's model, loss and optimizer (as bench/measure.ts builds them) trained and run on one tfjs backend. */
async function measure(backend: 'libtorch' | 'wasm'): Promise<Figure | string> {
  let tf: typeof tfc;
  let why: string;
  try {
    const selected = await selectBackend(backend);
    [tf, why] = [selected.tf, selected.attempts[0].why];
  } catch (err) {
    return (err as Error).message;
  }
  const ctx: BuildContext = { tf, seed: 1, configDir: process.cwd(), facts: { inputShape: [32, 32, 3], numClasses: 10 }, log: () => {} };
  const model = await preactResnet.build(Value.Default(preactResnet.params, { depth: 20 }) as never, ctx);
  const loss = await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx);
  const optimizer = await momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 5e-4 }, ctx);
  const trainable = model.variables.filter((v) => v.trainable);
  const names = new Map(trainable.map((v) => [v.variable.name, v.name]));
  const x = tf.randomNormal([128, 32, 32, 3], 0, 1, 'float32', 11) as tfc.Tensor4D;
  const y = tf.randomUniformInt([128], 0, 10, 11) as tfc.Tensor1D;
  const big = tf.randomNormal([1024, 32, 32, 3], 0, 1, 'float32', 13) as tfc.Tensor4D;
  const train = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => loss.compute(model.apply(x, { training: true }), y, 10).total, trainable.map((v) => v.variable));
      optimizer.step(trainable, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])), 0.1);
      value.dataSync();
    });
  const infer = () => tf.tidy(() => void model.apply(big, { training: false }).logits.dataSync());
  return { engine: `tfjs ${backend}: ${why}`, train: 128 / medianSeconds(steps, train), inferBig: 1024 / medianSeconds(Math.min(steps, 3), infer) };
}

function tfjs(backend: string): Figure | string {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', backend, '--steps', String(steps)], { encoding: 'utf8', env, maxBuffer: 2 ** 26 });
  return lastJson<Figure | string>(child.stdout) ?? `failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-2).join(' | ')}`;
}

function pytorch(channelsLast: boolean): Figure | string {
  const argv = [TORCH_SCRIPT, '--threads', args.threads!, '--steps', String(steps), ...(channelsLast ? ['--channels-last'] : [])];
  const child = spawnSync(PYTHON, argv, { encoding: 'utf8', env });
  const f = lastJson<{ engine: string; threads: number; train_img_s: number; infer_big_img_s: number }>(child.stdout);
  if (!f) return `${PYTHON} could not run PyTorch (Debian python3-torch): ${child.stderr.trim().split('\n').pop() ?? child.error?.message}`;
  return { engine: `${f.engine}, ${f.threads} threads`, train: f.train_img_s, inferBig: f.infer_big_img_s };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The per-round figures of one engine folded into medians (or its first failure). */
function fold(runs: (Figure | string)[]): Figure | string {
  const ok = runs.filter((r): r is Figure => typeof r !== 'string');
  if (ok.length === 0) return runs[0];
  return { engine: ok[0].engine, train: median(ok.map((r) => r.train)), inferBig: median(ok.map((r) => r.inferBig)) };
}

/** Median over rounds of an engine's figure divided by the reference's from the same round (load changes between rounds). */
function ratio(runs: (Figure | string)[], refs: (Figure | string)[], key: 'train' | 'inferBig'): string {
  const r = runs.flatMap((run, i) => (typeof run === 'string' || typeof refs[i] === 'string' ? [] : [run[key] / (refs[i] as Figure)[key]]));
  return r.length > 0 ? median(r).toFixed(2) : '–';
}

function main(): void {
  console.log(`# libtorch backend vs PyTorch: pre-activation ResNet-20, ${new Date().toISOString()}`);
  console.log(`# ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${args.threads} threads each, OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY}, malloc keeps freed memory, Node ${process.version}`);
  const runs: Record<string, (Figure | string)[]> = { 'tfjs libtorch': [], 'PyTorch channels-last': [], 'PyTorch NCHW': [] };
  for (let round = 1; round <= Number(args.rounds); round++) {
    console.error(`round ${round}/${args.rounds}...`);
    runs['tfjs libtorch'].push(tfjs('libtorch'));
    runs['PyTorch channels-last'].push(pytorch(true));
    runs['PyTorch NCHW'].push(pytorch(false));
  }
  if (!args['skip-wasm']) {
    console.error('wasm...');
    runs['tfjs wasm'] = [tfjs('wasm')];
  }
  const ref = runs['PyTorch channels-last'];
  console.log('');
  console.log('| engine | train img/s (batch 128) | inference img/s (batch 1024) | train vs PyTorch channels-last | inference vs PyTorch channels-last |');
  console.log('|---|---|---|---|---|');
  for (const [name, engineRuns] of Object.entries(runs)) {
    const f = fold(engineRuns);
    if (typeof f === 'string') {
      console.log(`| ${name} | not available: ${f} | | | |`);
      continue;
    }
    // wasm ran once, so it is compared with the reference's median.
    const refs = engineRuns.length === ref.length ? ref : [fold(ref)];
    console.log(`| ${f.engine} | ${f.train.toFixed(1)} | ${f.inferBig.toFixed(1)} | ${ratio(engineRuns, refs, 'train')} | ${ratio(engineRuns, refs, 'inferBig')} |`);
  }
  console.log(`\n# images/s: medians of ${args.rounds} alternating rounds of ${steps} timed steps (wasm: one run); ratios: median of same-round ratios`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, threads: Number(args.threads), runs }, null, 2) + '\n');
}
