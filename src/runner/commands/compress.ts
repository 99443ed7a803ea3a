import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { WeightCheck } from '../../app/compress.js';
import { type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

const CHECKS: WeightCheck[] = ['report', 'require', 'off'];

export const compressCommand: Command = {
  name: 'compress',
  summary: 'Remove the blocks an ε-ResNet run discarded and measure the compressed network',
  usage: `epsilab compress <run-dir> [--weights report|require|off] [--weight-tolerance X] [--timing-batch N] [--timing-repeats N] [--wait]

Removes every block whose averaged is_discarded reads 1 (≥ 0.999995, as the original compressModel.py selects
them) at the run's last epoch, rebuilds a standard pre-activation ResNet without gates or side head, and writes it
to <run-dir>/compressed/ (model.json + weights.bin, compression.json). result.json gains a "compression" record:
discarded blocks and ratio, structure, parameters, FLOPs, test error and inference images/s before and after, on
epsilab's engine and in onnxruntime (CPU: median batch-1 latency and batch-128 images/s of the exported ONNX graphs).

Options:
  --weights report    (default) also check each block's kernels: list blocks where gate and weights disagree
  --weights require   keep a gated-off block whose weights have not collapsed (max |W| > tolerance)
  --weights off       trust the gate alone, as the original code does
  --weight-tolerance  max |W| that counts as collapsed (default 1e-3)
  --timing-batch N    batch size of the inference timing (default 128); --timing-repeats N (default 5, median)
  --wait              when another process holds the run folder, wait for it instead of failing
Exit codes: 0 ok, 1 failed, 2 bad arguments, not an ε-ResNet run, a damaged model, or a run folder in use.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        weights: { type: 'string', default: 'report' },
        'weight-tolerance': { type: 'string', default: '1e-3' },
        'timing-batch': { type: 'string', default: '128' },
        'timing-repeats': { type: 'string', default: '5' },
        wait: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('compress takes exactly one run folder');
    if (!CHECKS.includes(values.weights as WeightCheck))
      throw new UsageError(`--weights must be one of ${CHECKS.join(', ')} (got ${values.weights})`);
    const num = (name: string, v: string, integer: boolean) => {
      const x = Number(v);
      if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))
        throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${v})`);
      return x;
    };
    const { compressRun } = await import('../../app/compress.js');
    await compressRun(resolve(positionals[0]), {
      weightCheck: values.weights as WeightCheck,
      weightTolerance: num('weight-tolerance', values['weight-tolerance']!, false),
      timingBatch: num('timing-batch', values['timing-batch']!, true),
      timingRepeats: num('timing-repeats', values['timing-repeats']!, true),
      wait: values.wait,
      log: (l) => console.log(l),
    });
    return 0;
  },
};
