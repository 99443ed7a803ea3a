import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `node dist/bench/time-to-accuracy.js [options]
  Trains configs/fashion-mnist-resnet20.yaml with epsilab (its own process, a fresh run folder) and then the same recipe
  in PyTorch (bench/fashion_mnist_pytorch.py, Debian python3-torch), back to back, and prints each epoch's test accuracy
  against the seconds since the process started, and the time each took to reach the target accuracy.
  --target P       test accuracy to reach (default 0.92)
  --epochs N       epochs for both (default: the config's 6)
  --order LIST     which runs first (default epsilab,pytorch)
  --set path=value passed on to epsilab run (repeatable)`;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: '0.92' },
    epochs: { type: 'string' },
    order: { type: 'string', default: 'epsilab,pytorch' },
    set: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});

interface EpochPoint {
  epoch: number;
  seconds: number;
  accuracy: number;
}

/** Runs a command, turning each output line into an epoch point (or nothing) as it arrives. */
async function follow(command: string, argv: string[], parse: (line: string, seconds: number) => EpochPoint | null): Promise<EpochPoint[]> {
  const start = performance.now();
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const points: EpochPoint[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const point = parse(line, (performance.now() - start) / 1000);
    if (point) {
      points.push(point);
      console.error(`  epoch ${point.epoch}: ${(100 * point.accuracy).toFixed(2)}% at ${point.seconds.toFixed(0)} s`);
    }
  }
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${command} ${argv.join(' ')} exited with ${code}`);
  return points;
}

function epsilab(): Promise<EpochPoint[]> {
  const runDir = mkdtempSync(join(tmpdir(), 'epsilab-tta-'));
  const sets = [...args.set!, ...(args.epochs ? [`train.epochs=${args.epochs}`] : [])].flatMap((s) => ['--set', s]);
  const argv = [join(ROOT, 'dist', 'src', 'runner', 'cli.js'), 'run', 'configs/fashion-mnist-resnet20.yaml', '--run-dir', runDir, '--force', ...sets];
  // The epoch line: "epoch 3  lr …  test err 8.12%  …".
  return follow(process.execPath, argv, (line, seconds) => {
    const m = /^epoch (\d+)\s.*test err ([\d.]+)%/.exec(line);
    return m ? { epoch: Number(m[1]), seconds, accuracy: 1 - Number(m[2]) / 100 } : null;
  }).finally(() => rmSync(runDir, { recursive: true, force: true }));
}

function pytorch(): Promise<EpochPoint[]> {
  const argv = [join(ROOT, 'bench', 'fashion_mnist_pytorch.py'), '--threads', String(availableParallelism()), ...(args.epochs ? ['--epochs', args.epochs] : [])];
  return follow('/usr/bin/python3', argv, (line) => {
    if (!line.startsWith('{')) return null;
    const m = JSON.parse(line) as { epoch: number; seconds: number; test_accuracy: number };
    return { epoch: m.epoch, seconds: m.seconds, accuracy: m.test_accuracy };
  });
}

async function main(): Promise<void> {
  const target = Number(args.target);
  const runs: Record<string, () => Promise<EpochPoint[]>> = { epsilab, pytorch };
  const results: Record<string, EpochPoint[]> = {};
  const load: number[] = [loadavg()[0]];
  for (const name of args.order!.split(',')) {
    console.error(`${name}:`);
    results[name] = await runs[name]();
    load.push(loadavg()[0]);
  }
  const reached = (points: EpochPoint[]) => points.find((p) => p.accuracy >= target);
  console.log(`# time to ${(100 * target).toFixed(1)}% test accuracy, configs/fashion-mnist-resnet20.yaml and its PyTorch twin, ${new Date().toISOString()}`);
  console.log(`# load average ${load.map((l) => l.toFixed(1)).join(' → ')} (before, after each run)\n`);
  console.log('| engine | accuracy per epoch (seconds since start) | time to target | final accuracy |');
  console.log('|---|---|---|---|');
  for (const [name, points] of Object.entries(results)) {
    const hit = reached(points);
    const curve = points.map((p) => `${(100 * p.accuracy).toFixed(2)}% (${p.seconds.toFixed(0)} s)`).join(', ');
    const final = points.at(-1);
    console.log(`| ${name} | ${curve} | ${hit ? `${hit.seconds.toFixed(0)} s (epoch ${hit.epoch})` : 'not reached'} | ${final ? (100 * final.accuracy).toFixed(2) + '%' : '–'} |`);
  }
}

if (args.help) console.log(USAGE);
else await main();
