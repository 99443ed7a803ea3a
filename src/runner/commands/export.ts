import { parseArgs } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command } from '../command.js';
import { InputError, UsageError } from '../../util/errors.js';

export const exportCommand: Command = {
  name: 'export',
  summary: "Export a run's model (or its compressed model) to ONNX with test data, checked in onnxruntime",
  usage: `epsilab export <run-dir | model-dir> --format onnx [-o FILE [--force]] [--teacher] [--images N] [--tolerance X]

Writes the model as an ONNX graph (opset 13, symbolic batch dimension, NCHW float32 input named "input", output
"logits"): <run-dir>/model/model.onnx, or <model-dir>/model.onnx for a model folder inside a run such as
<run-dir>/compressed. Batch norms that follow a convolution are folded into it; an ε-ResNet keeps its gates (constants
with test_gate: last-train, computed from the batch with recompute); side heads, which never predict, are left out.
The model's metadata_props document the preprocessing (the run's test transforms with their fitted values), the
input and output. Beside the file, test_data_set_0/input_0.pb and output_0.pb (the ONNX model zoo's layout) hold the
first N test images after preprocessing and epsilab's logits for them; onnxruntime then runs the file on them.

Options:
  --format onnx     the format (ONNX is the only one)
  -o, --output FILE where to write the .onnx file (the test data set goes in its folder); an existing file or
                    test_data_set_0/ there is refused
  --force           replace an existing -o FILE and the test_data_set_0/ beside it
  --teacher         a distillation run's teacher instead of its student (default file <run-dir>/teacher/model.onnx)
  --images N        test images in the test data set (default 8)
  --tolerance X     largest |logit difference| onnxruntime may show against epsilab (default 1e-4)
Prints a JSON record (file, opset, nodes, bytes, max_abs_difference).
Exit codes: 0 ok, 1 failed (or onnxruntime disagrees beyond the tolerance), 2 bad arguments.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        output: { type: 'string', short: 'o' },
        force: { type: 'boolean', default: false },
        teacher: { type: 'boolean', default: false },
        images: { type: 'string', default: '8' },
        tolerance: { type: 'string', default: '1e-4' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('export takes exactly one run or model folder');
    if (values.format !== 'onnx')
      throw new UsageError(
        values.format === undefined ? '--format is required (onnx)' : `--format must be onnx (got ${values.format})`,
      );
    const images = Number(values.images);
    if (!Number.isInteger(images) || images < 1)
      throw new UsageError(`--images must be a positive integer (got ${values.images})`);
    const tolerance = Number(values.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0)
      throw new UsageError(`--tolerance must be a number ≥ 0 (got ${values.tolerance})`);
    const out = values.output === undefined ? undefined : resolve(values.output);
    if (out !== undefined) refuseToReplace(out, values.force);
    const { exportOnnx } = await import('../../app/export.js');
    const record = await exportOnnx(
      resolve(positionals[0]),
      {
        out,
        teacher: values.teacher,
        batch: images,
        tolerance,
      },
      (l) => console.error(l),
    );
    console.log(JSON.stringify(record, null, 2));
    return 0;
  },
};

/** `-o` may name a file of the user's: it and the test data beside it are replaced only with --force. */
function refuseToReplace(out: string, force: boolean | undefined): void {
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`${out} is a folder: -o names the .onnx file to write (e.g. ${join(out, 'model.onnx')})`);
  const taken = [out, join(dirname(out), 'test_data_set_0')].filter((p) => existsSync(p));
  if (taken.length && !force)
    throw new InputError(
      `${taken.join(' and ')} exist${taken.length > 1 ? '' : 's'}: pass --force to replace ${taken.length > 1 ? 'them' : 'it'}, or choose another -o`,
    );
}
