import type { BuildContext } from '../registry/component.js';
import { error, type Diagnostic, type Position } from '../util/diagnostics.js';
import type { Model } from './types.js';
import { preactCifarProblems } from './problems.js';
import { buildPreactCifar } from './preact-cifar.js';
import type { TestGate } from './gate.js';
import { sideOutputSettings, type SideOutputParams } from './preact-params.js';

/** The parameters `preact-resnet` and `epsilon-resnet` share (they differ only in defaults and whether ε may be null). */
interface PreactCifarParams {
  depth: number;
  epsilon: number | null;
  gate_sharpness: number;
  test_gate: TestGate;
  side_output: SideOutputParams;
  structure: number[] | null;
  discard_first_block: number[];
}

/** check, parts and build of a CIFAR/SVHN pre-activation ResNet component whose models are named `<prefix>-<depth>`. */
export function preactCifarComponent(prefix: string) {
  return {
    check: (params: PreactCifarParams, at: (path: string) => Position | undefined): Diagnostic[] =>
      preactCifarProblems(params).map((p) => error(p.message, at(p.path))),
    parts: () => ({ taps: ['conv0', 'res1', 'res2', 'res3'], stages: [] }),
    build: (params: PreactCifarParams, ctx: BuildContext): Model =>
      buildPreactCifar(ctx, `${prefix}-${params.depth}`, {
        depth: params.depth,
        epsilon: params.epsilon,
        gateSharpness: params.gate_sharpness,
        testGate: params.test_gate,
        sideOutput: sideOutputSettings(params.side_output),
        structure: params.structure,
        discardFirstBlock: params.discard_first_block,
      }),
  };
}
