// One rank of a process-group test, started by the test with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT): runs the scenario named by its argument and prints what it saw as one JSON line.
import { tf } from '../../src/backends/tfjs.js';
import { registerLibtorchBackend } from '../../src/backends/libtorch/index.js';
import { distributedEnv, openProcessGroup } from '../../src/backends/process-group.js';
import { CollectiveError } from '../../src/util/errors.js';

const scenario = process.argv[2];
const status = await registerLibtorchBackend({ threads: 1 });
if (!status.ok) throw new Error(status.why);
await tf.setBackend('libtorch');
const env = distributedEnv()!;
const say = (value: unknown) => console.log(JSON.stringify(value));
try {
  const group = openProcessGroup(tf, env);
  const r = group.rank;
  if (scenario === 'collectives') {
    // Two tensors in two 8-byte buckets, so the bucketing and the split back are both exercised.
    const a = tf.tensor([r + 1, 10 * (r + 1)]);
    const b = tf.tensor([[r, 2 * r]], [1, 2], 'int32');
    const [sumA, sumB] = group.allreduce([a, b], 'sum', 8);
    const [avgA] = group.allreduce([a], 'avg', 1 << 20);
    const [fromOne] = group.broadcast([a], 1);
    group.barrier();
    say({
      rank: r,
      sumA: Array.from(sumA.dataSync()),
      sumB: Array.from(sumB.dataSync()),
      sumBShape: sumB.shape,
      sumBDtype: sumB.dtype,
      avgA: Array.from(avgA.dataSync()),
      broadcast: Array.from(fromOne.dataSync()),
      inputKept: Array.from(a.dataSync()),
    });
  } else if (scenario === 'one-skips') {
    // Rank 1 never joins the allreduce: rank 0's must time out, naming it.
    if (r === 0) group.allreduce([tf.tensor([1])], 'sum', 1 << 20, 1500);
    else await new Promise((resolve) => setTimeout(resolve, 4000));
    say({ rank: r, finished: true });
  }
} catch (e) {
  if (!(e instanceof CollectiveError)) throw e;
  say({ rank: env.rank, error: e.message });
  process.exitCode = 1;
}
