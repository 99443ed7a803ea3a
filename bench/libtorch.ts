import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import type * as tfc from '@tensorflow/tfjs-core';
import { crossEntropy } from '../src/components/loss/cross-entropy.js';
import { preactResnet } from '../src/components/model/preact-resnet.js';
import { momentum } from '../src/components/optimizer/momentum.js';
import { selectBackend } from '../src/backends/select.js';
import type { BuildContext } from '../src/registry/component.js';

const USAGE = `node dist/bench/libtorch.js [options]
  The libtorch backend against PyTorch on the same CPU in the same run: pre-activation ResNet-20 on 32×32×3 random data,
  training at batch 128 (forward, backward, SGD update) and inference at batch 1024, in images/s. PyTorch (Debian
  python3-torch) runs the same network in NCHW and in channels-last memory. Every engine stays loaded in its own
  process and they take turns step by step, so machine load hits them alike; ratios are medians of same-turn ratios.
  The wasm backend is measured after, for scale.
  --steps N        training turns per engine, after two warm-up steps (default 15)
  --infer-steps N  batch-1024 inference turns per engine (default 5)
  --threads N      threads for libtorch and PyTorch alike (default: all cores, ${availableParallelism()} here)
  --skip-wasm      leave out the wasm backend (its batch-128 step takes seconds)
  --device D       cpu (default) or cuda[:N]: on a GPU, PyTorch also runs with CUDA graphs, and wasm is left out
  --python P       the Python whose PyTorch to compare with (default: $PYTHON, else /usr/bin/python3)
  --json FILE      also write every timing as JSON`;

const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/libtorch_pytorch.py', import.meta.url));
const TRAIN_BATCH = 128;
const BIG_BATCH = 1024;

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '15' },
    'infer-steps': { type: 'string', default: '5' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'skip-wasm': { type: 'boolean', default: false },
    device: { type: 'string', default: 'cpu' },
    python: { type: 'string', default: process.env.PYTHON ?? '/usr/bin/python3' },
    json: { type: 'string' },
    worker: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

// Every engine gets the libtorch backend's runtime settings: passive OpenMP waits (a loaded machine stays usable) and a
// malloc that keeps freed memory for reuse (the addon's mallopt calls; without them PyTorch's batch-1024 inference
// spends most of its time in page faults).
const env = {
  ...process.env,
  OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'passive',
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
  MALLOC_TOP_PAD_: String(2 ** 26),
  EPSILAB_TORCH_THREADS: args.threads,
  EPSILAB_TORCH_DEVICE: args.device,
};
const onGpu = args.device !== 'cpu';

/**
 * Worker: the benchmark's model, loss and optimizer (as bench/measure.ts builds them) on one tfjs backend, serving the
 * protocol of bench/libtorch_pytorch.py (a JSON line, then one timing per `train` or `infer` line).
 */
async function serve(backend: 'libtorch' | 'wasm'): Promise<void> {
  let tf: typeof tfc;
  let why: string;
  try {
    const selected = await selectBackend(backend);
    [tf, why] = [selected.tf, selected.attempts[0].why];
  } catch (err) {
    console.log(JSON.stringify({ error: (err as Error).message }));
    return;
  }
  const ctx: BuildContext = { tf, seed: 1, configDir: process.cwd(), facts: { inputShape: [32, 32, 3], numClasses: 10 }, log: () => {} };
  const model = await preactResnet.build(Value.Default(preactResnet.params, { depth: 20 }) as never, ctx);
  const loss = await crossEntropy.build(Value.Default(crossEntropy.params, {}) as never, ctx);
  const optimizer = await momentum.build({ momentum: 0.9, nesterov: false, weight_decay: 5e-4 }, ctx);
  const trainable = model.variables.filter((v) => v.trainable);
  const names = new Map(trainable.map((v) => [v.variable.name, v.name]));
  const x = tf.randomNormal([TRAIN_BATCH, 32, 32, 3], 0, 1, 'float32', 11) as tfc.Tensor4D;
  const y = tf.randomUniformInt([TRAIN_BATCH], 0, 10, 11) as tfc.Tensor1D;
  const big = tf.randomNormal([BIG_BATCH, 32, 32, 3], 0, 1, 'float32', 13) as tfc.Tensor4D;
  const commands: Record<string, () => void> = {
    train: () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => loss.compute(model.apply(x, { training: true }), y, 10).total, trainable.map((v) => v.variable));
        optimizer.step(trainable, Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])), 0.1);
        value.dataSync();
      }),
    infer: () => tf.tidy(() => void model.apply(big, { training: false }).logits.dataSync()),
  };
  console.log(JSON.stringify({ engine: `tfjs ${backend}: ${why}` }));
  for await (const line of createInterface({ input: process.stdin })) {
    const command = commands[line.trim()];
    if (!command) break;
    const start = performance.now();
    command();
    console.log((performance.now() - start) / 1000);
  }
}

/** One engine in its own process, answering `train` and `infer` with the seconds they took. */
class Engine {
  readonly seconds: Record<string, number[]> = { train: [], infer: [] };
  name = '';
  private readonly lines: AsyncIterator<string>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(readonly label: string, command: string, argv: string[]) {
    this.child = spawn(command, argv, { env });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Waits for the engine's greeting; returns why it cannot run, or null. */
  async start(): Promise<string | null> {
    const first = await this.lines.next();
    try {
      const hello = JSON.parse(first.value) as { engine?: string; error?: string };
      this.name = hello.engine ?? this.label;
      return hello.error ?? null;
    } catch {
      return `did not start: ${first.done ? 'exited' : first.value}`;
    }
  }

  async run(command: 'train' | 'infer', record = true): Promise<void> {
    this.child.stdin.write(`${command}\n`);
    const answer = await this.lines.next();
    if (answer.done) throw new Error(`${this.label} exited during ${command}`);
    if (record) this.seconds[command].push(Number(answer.value));
  }

  stop(): void {
    this.child.stdin.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Turns: every engine runs `command` once per turn, in rotating order, so none always follows the same neighbour. */
async function turns(engines: Engine[], command: 'train' | 'infer', n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    console.error(`${command} turn ${i + 1}/${n}`);
    for (let j = 0; j < engines.length; j++) await engines[(i + j) % engines.length].run(command);
  }
}

async function main(): Promise<void> {
  const me = fileURLToPath(import.meta.url);
  const torch = (channelsLast: boolean, graph = false) => [TORCH_SCRIPT, '--threads', args.threads!, '--device', args.device!, ...(channelsLast ? ['--channels-last'] : []), ...(graph ? ['--cuda-graph'] : [])];
  const candidates = [
    new Engine('tfjs libtorch', process.execPath, [me, '--worker', 'libtorch']),
    new Engine('PyTorch channels-last', args.python!, torch(true)),
    new Engine('PyTorch NCHW', args.python!, torch(false)),
    ...(onGpu ? [new Engine('PyTorch channels-last CUDA graphs', args.python!, torch(true, true))] : []),
  ];
  const engines: Engine[] = [];
  const unavailable: string[] = [];
  for (const e of candidates) {
    const why = await e.start();
    if (why) unavailable.push(`| ${e.label} | not available: ${why} | | | |`);
    else engines.push(e);
  }
  for (const e of engines) for (let i = 0; i < 2; i++) await e.run('train', false);
  for (const e of engines) await e.run('infer', false);
  await turns(engines, 'train', Number(args.steps));
  await turns(engines, 'infer', Number(args['infer-steps']));
  for (const e of engines) e.stop();
  if (!args['skip-wasm'] && !onGpu) {
    const wasm = new Engine('tfjs wasm', process.execPath, [me, '--worker', 'wasm']);
    const why = await wasm.start();
    if (why) unavailable.push(`| tfjs wasm | not available: ${why} | | | |`);
    else {
      await wasm.run('train', false);
      for (let i = 0; i < 3; i++) await wasm.run('train');
      await wasm.run('infer');
      wasm.stop();
      engines.push(wasm);
    }
  }
  report(engines, unavailable);
}

function report(engines: Engine[], unavailable: string[]): void {
  const ref = engines.find((e) => e.label === 'PyTorch channels-last');
  const best = (xs: number[]) => Math.min(...xs);
  /** Versus the reference: the median of turn-paired throughput ratios (where both took every turn), and best against best. */
  const ratio = (e: Engine, command: 'train' | 'infer') => {
    if (!ref) return '–';
    const [mine, theirs] = [e.seconds[command], ref.seconds[command]];
    const paired = mine.length === theirs.length ? median(mine.map((s, i) => theirs[i] / s)) : median(theirs) / median(mine);
    return `${paired.toFixed(2)} / ${(best(theirs) / best(mine)).toFixed(2)}`;
  };
  const rate = (batch: number, seconds: number[]) => `${(batch / median(seconds)).toFixed(1)} / ${(batch / best(seconds)).toFixed(1)}`;
  console.log(`# libtorch backend vs PyTorch: pre-activation ResNet-20, ${new Date().toISOString()}`);
  console.log(`# ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${args.threads} threads each, device ${args.device}, OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY}, malloc keeps freed memory, Node ${process.version}`);
  console.log('');
  console.log(`| engine | train img/s, batch ${TRAIN_BATCH} (median / best) | inference img/s, batch ${BIG_BATCH} (median / best) | train vs PyTorch channels-last (paired median / best) | inference vs PyTorch channels-last |`);
  console.log('|---|---|---|---|---|');
  for (const e of engines) console.log(`| ${e.name} | ${rate(TRAIN_BATCH, e.seconds.train)} | ${rate(BIG_BATCH, e.seconds.infer)} | ${ratio(e, 'train')} | ${ratio(e, 'infer')} |`);
  for (const line of unavailable) console.log(line);
  console.log(`\n# ${args.steps} training and ${args['infer-steps']} inference turns, engines alternating step by step (wasm: 3 steps after)`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, threads: Number(args.threads), device: args.device, engines: engines.map((e) => ({ label: e.label, engine: e.name, seconds: e.seconds })) }, null, 2) + '\n');
}

if (args.help) console.log(USAGE);
else if (args.worker) await serve(args.worker as 'libtorch' | 'wasm');
else await main();
