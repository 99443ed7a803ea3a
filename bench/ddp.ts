import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backends/select.js';
import { distributedEnv } from '../src/backends/process-group.js';
import { joinDataParallel } from '../src/train/data-parallel.js';
import { stepFor } from '../src/train/step.js';
import { freePort } from '../src/util/free-port.js';
import { benchmarkParts, hostBatch } from './measure.js';

const USAGE = `node dist/bench/ddp.js [options]
  Data-parallel training on this machine's CPU: pre-activation ResNet-20 on random 32×32×3 data at a global batch of
  128, in four setups: epsilab with 2 ranks × 1 thread (Gloo, the compiled step with its gradient allreduce) and with 1
  process × 2 threads, and PyTorch (Debian python3-torch, channels-last) with DistributedDataParallel over Gloo, 2 ranks
  × 1 thread started by torchrun, and in 1 process × 2 threads. Each measurement is a whole run (processes started,
  warm-up steps, then timed steps); the setups take turns run by run, so machine load hits them alike. Prints the
  median images per second of each and the scaling of 2 ranks over 1 process.
  --steps N    timed steps per run, after 3 warm-up steps (default 10)
  --rounds N   runs of each setup (default 3)
  --python P   the Python whose PyTorch to compare with (default: $PYTHON, else /usr/bin/python3)`;

const BATCH = 128;
const WARMUP = 3;
const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/ddp_pytorch.py', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    python: { type: 'string', default: process.env.PYTHON ?? '/usr/bin/python3' },
    worker: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const steps = Number(args.steps);

/** One epsilab rank (or the only process): the trainer's compiled step on its part of the batch; rank 0 prints seconds. */
async function worker(): Promise<void> {
  const { tf } = await selectBackend('libtorch');
  const ranks = distributedEnv();
  const parallel = ranks ? joinDataParallel(tf, ranks, 'cpu', () => {}) : undefined;
  const { model, loss, optimizer } = await benchmarkParts(tf);
  const trainable = model.variables.filter((v) => v.trainable);
  const train = stepFor(tf, { model, loss, optimizer }, trainable, 'auto', () => {}, parallel).run;
  const batch = hostBatch(BATCH / (ranks?.worldSize ?? 1), 11 + (ranks?.rank ?? 0));
  const step = () => {
    const readings = train(batch, 0.1, 0);
    readings.loss.dataSync();
    tf.dispose(Object.values(readings));
  };
  for (let i = 0; i < WARMUP; i++) step();
  const [start, cpuStart] = [performance.now(), process.cpuUsage()];
  for (let i = 0; i < steps; i++) step();
  const cpu = process.cpuUsage(cpuStart);
  console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }));
}

/** A whole run's timed steps: the slowest process's wall seconds and the CPU seconds of all its processes. */
interface Timing {
  seconds: number;
  cpu: number;
}

/** Runs a process (and the ranks it starts) to its end; resolves with what every rank printed, taken together. */
function timed(command: string, argv: string[], env: Record<string, string>): Promise<Timing> {
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      // Ranks write at once: their lines may run together.
      const ranks = (out.match(/\{[^{}]*\}/g) ?? []).map((l) => JSON.parse(l) as Timing);
      if (code !== 0 || !ranks.length) reject(new Error(`${command} ${argv.join(' ')} failed (exit ${code}): ${out}`));
      else resolve(together(ranks));
    }),
  );
}

function together(ranks: Timing[]): Timing {
  return { seconds: Math.max(...ranks.map((r) => r.seconds)), cpu: ranks.reduce((sum, r) => sum + r.cpu, 0) };
}

const passive = { OMP_WAIT_POLICY: 'passive' };

const SETUPS: Record<string, () => Promise<Timing>> = {
  'epsilab, 2 ranks × 1 thread (Gloo)': async () => {
    const port = String(await freePort());
    const rank = (r: number) =>
      timed(process.execPath, [SELF, '--worker', '--steps', String(steps)], {
        ...passive,
        EPSILAB_TORCH_THREADS: '1',
        RANK: String(r),
        WORLD_SIZE: '2',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
      });
    return together(await Promise.all([rank(0), rank(1)]));
  },
  'epsilab, 1 process × 2 threads': () =>
    timed(process.execPath, [SELF, '--worker', '--steps', String(steps)], { ...passive, EPSILAB_TORCH_THREADS: '2' }),
  'PyTorch DDP, 2 ranks × 1 thread (Gloo, torchrun)': async () =>
    timed(
      args.python,
      [
        '-m',
        'torch.distributed.run',
        '--nproc_per_node',
        '2',
        '--master_port',
        String(await freePort()),
        // Debian's torchrun 1.13 under Python 3.11 cannot parse its default `--redirects 0` (Flag enums no longer
        // iterate over the zero member): redirecting (and teeing) stderr alone parses, and leaves stdout to us.
        '--redirects',
        '2',
        '--tee',
        '2',
        TORCH_SCRIPT,
        '--threads',
        '1',
        '--steps',
        String(steps),
      ],
      { ...passive, OMP_NUM_THREADS: '1' },
    ),
  'PyTorch, 1 process × 2 threads': () =>
    timed(args.python, [TORCH_SCRIPT, '--threads', '2', '--steps', String(steps)], passive),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const names = Object.keys(SETUPS);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpuMs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const load = [loadavg()[0]];
  for (let round = 0; round < Number(args.rounds); round++) {
    // Rotated each round, so no setup always follows the same neighbour.
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length];
      const { seconds, cpu } = await SETUPS[name]();
      rates[name].push((BATCH * steps) / seconds);
      cpuMs[name].push((1000 * cpu) / steps);
      console.error(`round ${round + 1}: ${name}: ${((BATCH * steps) / seconds).toFixed(1)} img/s`);
    }
  }
  load.push(loadavg()[0]);
  const rate = (name: string) => median(rates[name]);
  console.log(`# data-parallel ResNet-20, global batch ${BATCH}, ${new Date().toISOString()}`);
  console.log(
    `# ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load average ${load.map((l) => l.toFixed(1)).join(' → ')}; ${args.rounds} runs of ${steps} timed steps each, medians`,
  );
  console.log('\n| setup | train img/s | runs (img/s) | CPU ms per step, all processes |\n|---|---|---|---|');
  for (const name of names)
    console.log(
      `| ${name} | ${rate(name).toFixed(1)} | ${rates[name].map((r) => r.toFixed(1)).join(', ')} | ${median(cpuMs[name]).toFixed(0)} |`,
    );
  const [ddp2, one, torch2, torch1] = names.map(rate);
  console.log(`\nepsilab 2 ranks over 1 process × 2 threads: ${(ddp2 / one).toFixed(2)}×`);
  console.log(`PyTorch DDP 2 ranks over 1 process × 2 threads: ${(torch2 / torch1).toFixed(2)}×`);
  console.log(`epsilab 2 ranks over PyTorch DDP 2 ranks: ${(ddp2 / torch2).toFixed(2)}×`);
}

if (args.help) console.log(USAGE);
else if (args.worker) await worker();
else await main();
