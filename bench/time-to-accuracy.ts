import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `node dist/bench/time-to-accuracy.js [options]
  Trains configs/fashion-mnist-resnet20.yaml with epsilab (its own process, a fresh run folder) and the same recipe in
  PyTorch (bench/fashion_mnist_pytorch.py, Debian python3-torch), and prints each epoch's test accuracy against the
  seconds the engine has run, and the time each took to reach the target accuracy.
  The two take turns in blocks that do not overlap: both start at once, and every --slice seconds the running one is
  paused (SIGSTOP) and the other resumed, so that both see the same load on the machine; each engine's clock runs only
  while it does. Each engine runs at its own defaults unless asked (PyTorch's thread count, OpenMP's wait policy as
  each chooses it); the load average is stated, and a machine busier than its cores is flagged.
  --wait W         OMP_WAIT_POLICY for both: default (unset), passive or active (default: default)
  --torch-threads N  PyTorch's threads (default: PyTorch's own default)
  --target P       test accuracy to reach (default 0.92)
  --epochs N       epochs for both (default: the config's 6)
  --slice S        seconds per turn (default 10); 0 runs them back to back, epsilab first
  --set path=value passed on to epsilab run (repeatable)`;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: '0.92' },
    epochs: { type: 'string' },
    slice: { type: 'string', default: '10' },
    set: { type: 'string', multiple: true, default: [] },
    wait: { type: 'string', default: 'default' },
    'torch-threads': { type: 'string', default: '0' },
    help: { type: 'boolean', default: false },
  },
});

interface EpochPoint {
  epoch: number;
  seconds: number;
  accuracy: number;
}

/** An engine's process (in its own process group, so pausing it pauses its workers too) and the seconds it has run. */
class Engine {
  readonly points: EpochPoint[] = [];
  readonly done: Promise<void>;
  private child: ChildProcess | null = null;
  private ran = 0;
  private since: number | null = null;
  private finish: () => void = () => {};
  private fail: (e: Error) => void = () => {};

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly argv: string[],
    private readonly parse: (line: string) => Omit<EpochPoint, 'seconds'> | null,
  ) {
    this.done = new Promise<void>((resolve, reject) => ([this.finish, this.fail] = [resolve, reject]));
  }

  start(): void {
    const { OMP_WAIT_POLICY: _policy, ...env } = process.env;
    if (args.wait !== 'default') env.OMP_WAIT_POLICY = args.wait;
    const child = spawn(this.command, this.argv, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    this.child = child;
    this.since = performance.now();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const point = this.parse(line);
      if (!point) return;
      this.points.push({ ...point, seconds: this.seconds() });
      console.error(
        `  ${this.name} epoch ${point.epoch}: ${(100 * point.accuracy).toFixed(2)}% at ${this.seconds().toFixed(0)} s`,
      );
    });
    child.on('close', (code) => {
      this.stopClock();
      this.child = null;
      if (code === 0) this.finish();
      else this.fail(new Error(`${this.name} (${this.command} ${this.argv.join(' ')}) exited with ${code}`));
    });
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Seconds the engine has been running (not paused) since it started. */
  seconds(): number {
    return (this.ran + (this.since === null ? 0 : performance.now() - this.since)) / 1000;
  }

  pause(): void {
    if (this.since === null || !this.child?.pid) return;
    this.stopClock();
    process.kill(-this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.since !== null || !this.child?.pid) return;
    this.since = performance.now();
    process.kill(-this.child.pid, 'SIGCONT');
  }

  /** Ends the engine (an interrupted benchmark must not leave it paused). */
  kill(): void {
    if (!this.child?.pid) return;
    process.kill(-this.child.pid, 'SIGCONT');
    process.kill(-this.child.pid, 'SIGTERM');
  }

  private stopClock(): void {
    if (this.since !== null) this.ran += performance.now() - this.since;
    this.since = null;
  }
}

function epsilab(runDir: string): Engine {
  const sets = [...args.set!, ...(args.epochs ? [`train.epochs=${args.epochs}`] : [])].flatMap((s) => ['--set', s]);
  const argv = [
    join(ROOT, 'dist', 'src', 'runner', 'cli.js'),
    'run',
    'configs/fashion-mnist-resnet20.yaml',
    '--run-dir',
    runDir,
    '--force',
    ...sets,
  ];
  // The epoch line: "epoch 3  lr …  test err 8.12%  …".
  return new Engine('epsilab', process.execPath, argv, (line) => {
    const m = /^epoch (\d+)\s.*test err ([\d.]+)%/.exec(line);
    return m ? { epoch: Number(m[1]), accuracy: 1 - Number(m[2]) / 100 } : null;
  });
}

function pytorch(): Engine {
  const argv = [
    join(ROOT, 'bench', 'fashion_mnist_pytorch.py'),
    '--threads',
    args['torch-threads']!,
    ...(args.epochs ? ['--epochs', args.epochs] : []),
  ];
  return new Engine('pytorch', '/usr/bin/python3', argv, (line) => {
    if (!line.startsWith('{')) return null;
    const m = JSON.parse(line) as { epoch: number; test_accuracy: number };
    return { epoch: m.epoch, accuracy: m.test_accuracy };
  });
}

/** Runs the engines one slice at a time in turn until all have finished (slice 0: each to its end, in order). */
async function takeTurns(engines: Engine[], slice: number): Promise<void> {
  if (slice <= 0) {
    for (const e of engines) {
      e.start();
      await e.done;
    }
    return;
  }
  for (const e of engines) {
    e.start();
    e.pause();
  }
  const failures = engines.map((e) => e.done.catch((err: Error) => err));
  for (let turn = 0; engines.some((e) => e.running); turn++) {
    const e = engines[turn % engines.length];
    if (!e.running) continue;
    e.resume();
    await Promise.race([e.done.catch(() => {}), new Promise((resolve) => setTimeout(resolve, slice * 1000))]);
    e.pause();
  }
  const errors = (await Promise.all(failures)).filter((r): r is Error => r instanceof Error);
  if (errors.length) throw errors[0];
}

async function main(): Promise<void> {
  const target = Number(args.target);
  const runDir = mkdtempSync(join(tmpdir(), 'epsilab-tta-'));
  const engines = [epsilab(runDir), pytorch()];
  const load = [loadavg()[0]];
  const sampler = setInterval(() => load.push(loadavg()[0]), 60_000);
  process.once('SIGINT', () => {
    for (const e of engines) e.kill();
    process.exit(130);
  });
  try {
    await takeTurns(engines, Number(args.slice));
  } finally {
    clearInterval(sampler);
    for (const e of engines) e.resume();
    rmSync(runDir, { recursive: true, force: true });
  }
  const reached = (points: EpochPoint[]) => points.find((p) => p.accuracy >= target);
  const sorted = [...load].sort((a, b) => a - b);
  console.log(
    `# time to ${(100 * target).toFixed(1)}% test accuracy, configs/fashion-mnist-resnet20.yaml and its PyTorch twin, ${new Date().toISOString()}`,
  );
  const busy =
    sorted.at(-1)! > availableParallelism() ? ': a BUSY machine, the times are longer than on an idle one' : '';
  console.log(
    `# ${Number(args.slice) > 0 ? `turns of ${args.slice} s` : 'back to back'}; OMP_WAIT_POLICY ${args.wait === 'default' ? 'unset' : `=${args.wait}`}; load average ${sorted[0].toFixed(1)}–${sorted.at(-1)!.toFixed(1)} (median ${sorted[sorted.length >> 1].toFixed(1)}, sampled each minute)${busy}\n`,
  );
  console.log('| engine | accuracy per epoch (seconds it ran) | time to target | final accuracy |');
  console.log('|---|---|---|---|');
  for (const e of engines) {
    const hit = reached(e.points);
    const curve = e.points.map((p) => `${(100 * p.accuracy).toFixed(2)}% (${p.seconds.toFixed(0)} s)`).join(', ');
    const final = e.points.at(-1);
    console.log(
      `| ${e.name} | ${curve} | ${hit ? `${hit.seconds.toFixed(0)} s (epoch ${hit.epoch})` : 'not reached'} | ${final ? (100 * final.accuracy).toFixed(2) + '%' : '–'} |`,
    );
  }
}

if (args.help) console.log(USAGE);
else await main();
