import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as tfc from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/backends/select.js';
import { compile } from '../src/backends/compile.js';
import { stepFor, type StepBatch } from '../src/train/step.js';
import { benchmarkParts, hostBatch } from './measure.js';

const USAGE = `node dist/bench/libtorch.js [options]
  The libtorch backend against PyTorch on the same CPU in the same run: pre-activation ResNet-20 on 32×32×3 random data,
  training steps at batch 128 and the dispatch-bound batches 4 and 16 (forward, backward, SGD update, the loss read
  back), and inference at batch 1024. epsilab runs its training step eagerly (kernel by kernel through tfjs) and
  compiled (captured once, replayed natively), and its inference eagerly and captured. PyTorch (Debian python3-torch)
  runs the same network in NCHW and in channels-last memory. Every engine stays loaded in its own process and they take
  turns in blocks of steps that do not overlap (one engine runs at a time; the first step of each block, which wakes the
  engine's sleeping threads, is not timed), so machine load hits them alike; ratios are medians of same-turn ratios.
  Alternating step by step would make every step pay that wake-up and favour passive waiting. The fixed cost of a step
  is the intercept of step time over batch size. The wasm backend is measured after, for scale.
  --steps N        training turns per engine and batch size, after two warm-up steps (default 15)
  --block N        timed steps per turn (default 3)
  --wait W         OMP_WAIT_POLICY for every engine: default (unset: each engine's own default; epsilab's is chosen as
                   src/backends/threads.ts says), passive or active (default: default)
  --batches LIST   training batch sizes (default 4,16,128)
  --infer-steps N  batch-1024 inference turns per engine (default 5)
  --device D       cpu (default) or cuda[:N]: on a GPU, PyTorch also runs with CUDA graphs (batch 128 only), and wasm is
                   left out
  --python P       the Python whose PyTorch to compare with (default: $PYTHON, else /usr/bin/python3)
  --threads N      threads for libtorch and PyTorch alike (default: all cores, ${availableParallelism()} here); default:
                   each engine's own (epsilab's as src/backends/threads.ts chooses, PyTorch's without settings)
  --skip-wasm      leave out the wasm backend (its batch-128 step takes seconds)
  --json FILE      also write every timing as JSON`;

const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/libtorch_pytorch.py', import.meta.url));
const TRAIN_BATCH = 128;
const BIG_BATCH = 1024;

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '15' },
    batches: { type: 'string', default: '4,16,128' },
    device: { type: 'string', default: 'cpu' },
    python: { type: 'string', default: process.env.PYTHON ?? '/usr/bin/python3' },
    'infer-steps': { type: 'string', default: '5' },
    block: { type: 'string', default: '3' },
    wait: { type: 'string', default: 'default' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'skip-wasm': { type: 'boolean', default: false },
    json: { type: 'string' },
    worker: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

// Every engine gets the same wait policy and the libtorch backend's malloc that keeps freed memory for reuse (the
// addon's mallopt calls; without them PyTorch's batch-1024 inference spends most of its time in page faults).
const { OMP_WAIT_POLICY: _policy, ...inherited } = process.env;
const env = {
  ...inherited,
  ...(args.wait === 'default' ? {} : { OMP_WAIT_POLICY: args.wait }),
  MALLOC_MMAP_THRESHOLD_: String(2 ** 30),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 30),
  MALLOC_TOP_PAD_: String(2 ** 26),
  ...(args.threads === 'default' ? {} : { EPSILAB_TORCH_THREADS: args.threads }),
  EPSILAB_TORCH_DEVICE: args.device,
};
const onGpu = args.device !== 'cpu';

/**
 * Worker: the benchmark's model, loss and optimizer (as bench/measure.ts builds them) on one tfjs backend, training with
 * the trainer's step (eager, or compiled with `:compiled`), serving the protocol of bench/libtorch_pytorch.py (a JSON
 * line, then one timing per `train B` or `infer` line).
 */
async function serve(worker: string): Promise<void> {
  const [backend, mode] = worker.split(':') as ['libtorch' | 'wasm', string | undefined];
  let tf: typeof tfc;
  let why: string;
  try {
    const selected = await selectBackend(backend);
    [tf, why] = [selected.tf, selected.attempts[0].why];
  } catch (err) {
    console.log(JSON.stringify({ error: (err as Error).message }));
    return;
  }
  const { model, loss, optimizer } = await benchmarkParts(tf);
  const trainable = model.variables.filter((v) => v.trainable);
  const compileMode = mode === 'compiled' ? 'auto' : 'off';
  const log = (line: string) => console.error(line);
  const train = stepFor(tf, { model, loss, optimizer }, trainable, compileMode, log).run;
  const batches = new Map<number, StepBatch>();
  const big = tf.randomNormal([BIG_BATCH, 32, 32, 3], 0, 1, 'float32', 13) as tfc.Tensor4D;
  const forward = compile(tf, ([x]) => ({ logits: model.apply(x as tfc.Tensor4D, { training: false }).logits }), {
    mode: compileMode,
    log,
  });
  const commands: Record<string, (n?: number) => void> = {
    train: (n = TRAIN_BATCH) => {
      if (!batches.has(n)) batches.set(n, hostBatch(n, 11 + n));
      const readings = train(batches.get(n)!, 0.1, 0);
      readings.loss.dataSync();
      tf.dispose(Object.values(readings));
    },
    infer: () => {
      const logits = forward.run([big]).logits;
      logits.dataSync();
      logits.dispose();
    },
  };
  console.log(JSON.stringify({ engine: `tfjs ${backend}${compileMode === 'auto' ? ' compiled' : ''}: ${why}` }));
  for await (const line of createInterface({ input: process.stdin })) {
    const [name, arg] = line.trim().split(/\s+/);
    const command = commands[name];
    if (!command) break;
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    command(arg === undefined ? undefined : Number(arg));
    const used = process.cpuUsage(cpu);
    console.log(`${(performance.now() - start) / 1000} ${(used.user + used.system) / 1e6}`);
  }
}

/** One engine in its own process, answering `train B` and `infer` with the seconds they took. */
class Engine {
  readonly seconds: Record<string, number[]> = {};
  /** CPU seconds the engine's process used per command (every thread): the work, whatever else runs on the machine. */
  readonly cpuSeconds: Record<string, number[]> = {};
  name = '';
  private readonly lines: AsyncIterator<string>;
  private readonly child: ChildProcessWithoutNullStreams;

  /** `only`: the one training batch size the engine runs (a CUDA graph is captured at one size). */
  constructor(
    readonly label: string,
    command: string,
    argv: string[],
    readonly only?: number,
  ) {
    this.child = spawn(command, argv, {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    }) as unknown as ChildProcessWithoutNullStreams;
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

  async run(command: string, record = true): Promise<void> {
    this.child.stdin.write(`${command}\n`);
    const answer = await this.lines.next();
    if (answer.done) throw new Error(`${this.label} exited during ${command}`);
    const [wall, cpu] = answer.value.split(' ').map(Number);
    if (record) (this.seconds[command] ??= []).push(wall);
    if (record && cpu !== undefined) (this.cpuSeconds[command] ??= []).push(cpu);
  }

  stop(): void {
    this.child.stdin.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Turns: every engine runs `command` as a block per turn (one untimed step, then `block` timed ones), in rotating
 * order, so none always follows the same neighbour; `n` timed steps in all.
 */
async function turns(all: Engine[], command: string, n: number): Promise<void> {
  const engines = all.filter(
    (e) => e.only === undefined || !command.startsWith('train') || command === `train ${e.only}`,
  );
  const block = Math.max(1, Number(args.block));
  for (let i = 0; i * block < n; i++) {
    console.error(`${command} turn ${i + 1}/${Math.ceil(n / block)}`);
    for (let j = 0; j < engines.length; j++) {
      const e = engines[(i + j) % engines.length];
      await e.run(command, false);
      for (let k = 0; k < Math.min(block, n - i * block); k++) await e.run(command);
    }
  }
}

/** Least-squares line through (batch, median seconds): the fixed cost per step and the cost per image. */
function fit(points: [number, number][]): { intercept: number; slope: number } {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx > 0 ? points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

const trainBatches = () => args.batches!.split(',').map(Number);

async function main(): Promise<void> {
  const me = fileURLToPath(import.meta.url);
  const torch = (channelsLast: boolean, graph = false) => [
    TORCH_SCRIPT,
    '--threads',
    args.threads === 'default' ? '0' : args.threads!,
    '--device',
    args.device!,
    ...(channelsLast ? ['--channels-last'] : []),
    ...(graph ? ['--cuda-graph'] : []),
  ];
  const candidates = [
    new Engine('tfjs libtorch', process.execPath, [me, '--worker', 'libtorch']),
    new Engine('tfjs libtorch compiled', process.execPath, [me, '--worker', 'libtorch:compiled']),
    new Engine('PyTorch channels-last', args.python!, torch(true)),
    new Engine('PyTorch NCHW', args.python!, torch(false)),
    ...(onGpu ? [new Engine('PyTorch channels-last CUDA graphs', args.python!, torch(true, true), TRAIN_BATCH)] : []),
  ];
  const engines: Engine[] = [];
  const unavailable: string[] = [];
  for (const e of candidates) {
    const why = await e.start();
    if (why) unavailable.push(`| ${e.label} | not available: ${why} |`);
    else engines.push(e);
  }
  const load = [loadavg()[0]];
  // Three warm-up steps per batch size: the first creates the optimizer's slots, the second is captured.
  for (const n of trainBatches())
    for (const e of engines.filter((x) => x.only === undefined || x.only === n))
      for (let i = 0; i < 3; i++) await e.run(`train ${n}`, false);
  for (const e of engines) for (let i = 0; i < 2; i++) await e.run('infer', false);
  for (const n of trainBatches()) await turns(engines, `train ${n}`, Number(args.steps));
  await turns(engines, 'infer', Number(args['infer-steps']));
  load.push(loadavg()[0]);
  for (const e of engines) e.stop();
  if (!args['skip-wasm'] && !onGpu) {
    const wasm = new Engine('tfjs wasm', process.execPath, [me, '--worker', 'wasm']);
    const why = await wasm.start();
    if (why) unavailable.push(`| tfjs wasm | not available: ${why} |`);
    else {
      await wasm.run(`train ${TRAIN_BATCH}`, false);
      for (let i = 0; i < 3; i++) await wasm.run(`train ${TRAIN_BATCH}`);
      await wasm.run('infer');
      wasm.stop();
      engines.push(wasm);
    }
  }
  report(engines, unavailable, load);
}

function report(engines: Engine[], unavailable: string[], load: number[]): void {
  // PyTorch at its best on this CPU (channels-last), and as people run it (NCHW, the headline).
  const best = engines.find((e) => e.label === 'PyTorch channels-last');
  const plain = engines.find((e) => e.label === 'PyTorch NCHW');
  const batches = trainBatches();
  /** Versus a reference: the median of turn-paired speed ratios (where both took every turn), else of medians. */
  const ratio = (e: Engine, command: string, ref = best) => {
    const [mine, theirs] = [e.seconds[command], ref?.seconds[command]];
    if (!mine || !theirs) return '–';
    const paired =
      mine.length === theirs.length ? median(mine.map((s, i) => theirs[i] / s)) : median(theirs) / median(mine);
    return paired.toFixed(2);
  };
  const ms = (e: Engine, command: string) =>
    e.seconds[command] ? (1000 * median(e.seconds[command])).toFixed(1) : '–';
  const intercept = (e: Engine) => {
    const points = batches
      .filter((n) => e.seconds[`train ${n}`])
      .map((n): [number, number] => [n, median(e.seconds[`train ${n}`])]);
    return points.length > 1 ? (1000 * fit(points).intercept).toFixed(1) : '–';
  };
  const cpuMs = (e: Engine, command: string) =>
    e.cpuSeconds[command] ? (1000 * median(e.cpuSeconds[command])).toFixed(1) : '–';
  const cpuIntercept = (e: Engine) => {
    const points = batches
      .filter((n) => e.cpuSeconds[`train ${n}`])
      .map((n): [number, number] => [n, median(e.cpuSeconds[`train ${n}`])]);
    return points.length > 1 ? (1000 * fit(points).intercept).toFixed(1) : '–';
  };
  const rate = (batch: number, command: string, e: Engine) =>
    e.seconds[command] ? (batch / median(e.seconds[command])).toFixed(1) : '–';
  console.log(`# libtorch backend vs PyTorch: pre-activation ResNet-20, ${new Date().toISOString()}`);
  console.log(
    `# ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${args.threads === 'default' ? "each engine's default threads" : `${args.threads} threads each`}, device ${args.device}, OMP_WAIT_POLICY ${args.wait === 'default' ? "unset (each engine's default)" : `=${args.wait}`}, malloc keeps freed memory, Node ${process.version}`,
  );
  const busy = Math.max(...load) > availableParallelism();
  console.log(
    `# load average ${load.map((l) => l.toFixed(1)).join(' → ')} (start → end of the turns)${busy ? ': a BUSY machine, the figures are noisy and slower than on an idle one' : ''}`,
  );
  console.log('');
  const steps = batches.map((n) => `step ms, batch ${n}`);
  const ratios = batches.map((n) => `vs PyTorch NCHW / CL, batch ${n}`);
  console.log(
    `| engine | ${steps.join(' | ')} | fixed cost per step, ms | train img/s, batch ${TRAIN_BATCH} | ${ratios.join(' | ')} | inference img/s, batch ${BIG_BATCH} | inference vs PyTorch CL |`,
  );
  console.log(`|---|${batches.map(() => '---|').join('')}---|---|${batches.map(() => '---|').join('')}---|---|`);
  for (const e of engines) {
    const cells = [
      ...batches.map((n) => ms(e, `train ${n}`)),
      intercept(e),
      rate(TRAIN_BATCH, `train ${TRAIN_BATCH}`, e),
      ...batches.map((n) => `${ratio(e, `train ${n}`, plain)} / ${ratio(e, `train ${n}`)}`),
      rate(BIG_BATCH, 'infer', e),
      ratio(e, 'infer'),
    ];
    console.log(`| ${e.name} | ${cells.join(' | ')} |`);
  }
  for (const line of unavailable) console.log(line);
  console.log(
    `\nCPU time per step (all threads of the engine's process; less sensitive to other load than wall time):\n`,
  );
  console.log(
    `| engine | ${batches.map((n) => `CPU ms, batch ${n}`).join(' | ')} | fixed CPU cost per step, ms | CPU ms, inference batch ${BIG_BATCH} |`,
  );
  console.log(`|---|${batches.map(() => '---|').join('')}---|---|`);
  for (const e of engines)
    console.log(
      `| ${e.name} | ${[...batches.map((n) => cpuMs(e, `train ${n}`)), cpuIntercept(e), cpuMs(e, 'infer')].join(' | ')} |`,
    );
  console.log(
    `\n# ${args.steps} timed training steps per batch size and ${args['infer-steps']} inference steps, engines taking turns in blocks of ${args.block} (wasm: 3 steps after); medians`,
  );
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          cpu: cpus()[0]?.model,
          threads: args.threads === 'default' ? 'default' : Number(args.threads),
          device: args.device,
          load,
          engines: engines.map((e) => ({
            label: e.label,
            engine: e.name,
            seconds: { ...e.seconds, train: e.seconds[`train ${TRAIN_BATCH}`] ?? [] },
            cpuSeconds: e.cpuSeconds,
          })),
        },
        null,
        2,
      ) + '\n',
    );
}

if (args.help) console.log(USAGE);
else if (args.worker) await serve(args.worker);
else await main();
