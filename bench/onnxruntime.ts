import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import { openSession, runLogits } from '../src/models/onnx/runtime.js';

const USAGE = `node dist/bench/onnxruntime.js <model.onnx ...> [--rounds N] [--threads N]
  Exported models (epsilab export --format onnx) timed in onnxruntime-node on the CPU, one session each, all loaded at
  once and taking turns round by round so machine load hits them alike. Each round: the median of 20 batch-1 passes
  (latency) and of 3 batch-128 passes (throughput), after a warm-up pass. Prints the median over rounds and the range.
  --rounds N    rounds (default 7)
  --threads N   onnxruntime intra-op threads (default: all cores, ${availableParallelism()} here)`;

const { values: args, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '7' }, threads: { type: 'string' }, help: { type: 'boolean' } },
});
if (args.help || files.length === 0) {
  console.log(USAGE);
  process.exit(files.length === 0 && !args.help ? 2 : 0);
}
const rounds = Number(args.rounds);
const threads = args.threads === undefined ? availableParallelism() : Number(args.threads);

/** The input's [C, H, W], as the exported graph declares it after its symbolic batch dimension. */
function inputShape(bytes: Uint8Array): number[] {
  const dims = onnxProto.onnx.ModelProto.decode(bytes).graph!.input![0].type!.tensorType!.shape!.dim!;
  return dims.slice(1).map((d) => Number(d.dimValue));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const models = await Promise.all(
  files.map(async (file) => {
    const bytes = readFileSync(file);
    const shape = inputShape(bytes);
    const input = (batch: number) =>
      Float32Array.from({ length: batch * shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i));
    return {
      name: file,
      file,
      session: await openSession(bytes, threads),
      shape,
      x1: input(1),
      x128: input(128),
      latency: [] as number[],
      batch: [] as number[],
    };
  }),
);

async function passes(m: (typeof models)[number], x: Float32Array, batch: number, n: number): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i <= n; i++) {
    const start = performance.now();
    await runLogits(m.session, x, [batch, ...m.shape]);
    if (i > 0) seconds.push((performance.now() - start) / 1000);
  }
  return median(seconds);
}

const load = [loadavg()[0]];
for (let r = 0; r < rounds; r++) {
  for (const m of models) {
    m.latency.push(await passes(m, m.x1, 1, 20));
    m.batch.push(await passes(m, m.x128, 128, 3));
  }
}
load.push(loadavg()[0]);
console.log(
  `onnxruntime-node, cpu, ${threads} threads, ${rounds} rounds; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`,
);
console.log('| model | batch-1 latency ms (median, range) | batch-128 img/s (median, range) |\n|---|---|---|');
for (const m of models) {
  const ms = m.latency.map((s) => 1000 * s);
  const ips = m.batch.map((s) => 128 / s);
  console.log(
    `| ${m.name} | ${median(ms).toFixed(2)} (${Math.min(...ms).toFixed(2)}–${Math.max(...ms).toFixed(2)}) | ${median(ips).toFixed(0)} (${Math.min(...ips).toFixed(0)}–${Math.max(...ips).toFixed(0)}) |`,
  );
  await m.session.release();
}
