import { Type } from '@sinclair/typebox';
import type { Static, TObject } from '@sinclair/typebox';
import type * as tf from '@tensorflow/tfjs-core';
import type { Diagnostic, Position } from '../util/diagnostics.js';

/** The kinds of component an experiment config names by `type`. */
export const KINDS = [
  'dataset',
  'transform',
  'model',
  'optimizer',
  'schedule',
  'loss',
  'distillation',
  'callback',
  'evaluator',
] as const;
export type Kind = (typeof KINDS)[number];

/** Height, width and channels of an image. */
export type ImageShape = [number, number, number];

/** A model section as a config gives it. */
export type ModelSection = { type: string } & Record<string, unknown>;

/**
 * What compression (yuxwind/epsilonResnet scripts/compressModel.py) needs of a model whose residual blocks can be
 * removed: its groups and block names, the layout it was trained with, and its section without the removed blocks.
 */
export interface ModelCompression {
  /** Blocks per group before any compression. */
  units: readonly number[];
  /** Index of the first group in names (CIFAR stages res1..res3, ImageNet groups group0..group3). */
  firstGroup: number;
  name(group: number, index: number): string;
  /** The block a variable belongs to, or null for a part compression drops (the side head). */
  blockOf(variable: string): string | null;
  /** The trained network's layout: null and all 0 unless it was compressed already. */
  structure: readonly number[] | null;
  discardFirstBlock: readonly number[];
  /** The same family's section keeping `structure[g]` blocks per group, no gate, no side head. */
  section(structure: number[], discardFirstBlock: number[]): ModelSection;
}

/** What `build` receives besides its own parameters. */
export interface BuildContext {
  /** The tfjs namespace bound to the selected backend. */
  tf: typeof tf;
  /** Seed for anything random the component creates (initialisers, sampling). */
  seed: number;
  /** Folder the config file lives in, for resolving relative paths. */
  configDir: string;
  /** Facts other components established earlier (dataset shape and classes for a model, ...). */
  facts: Record<string, unknown>;
  /** Progress and warnings go through here, never straight to the console. */
  log: (line: string) => void;
}

/** What a component's `check` sees besides its own parameters. */
export interface CheckContext {
  /** The display path of the component's section (`schedule`, `distillation.stages[0].schedule`). */
  path: string;
  /** The whole validated config, for rules that relate this component to another section. */
  config: Record<string, any>;
  /** Points at a path from the config's root (`train.batch_size`). */
  atRoot: (path: string) => Position | undefined;
  find(kind: Kind, type: string): Component | undefined;
  /** Runs the check of a component nested in this one's params (a distillation stage's schedule) at `path` below it. */
  checkNested(kind: Kind, section: { type: string } & Record<string, unknown>, path: string): Diagnostic[];
}

/**
 * A component: one file, one definition. `params` is a TypeBox object schema: it yields both the JSON Schema that
 * ajv checks and (through Static) the TypeScript type `build` receives. `type` is the name a config uses.
 */
export interface Component<K extends Kind = Kind, P extends TObject = TObject, Out = unknown> {
  kind: K;
  type: string;
  doc: string;
  params: P;
  build(params: Static<P>, ctx: BuildContext): Out | Promise<Out>;
  /** Cross-field rules the schema cannot say; `at` takes a path relative to this component's section. */
  check?(params: Static<P>, at: (path: string) => Position | undefined, ctx: CheckContext): Diagnostic[];
  /** Models: the taps their output names and the parts that can train alone, known without building them. */
  parts?(params: Static<P>): { taps: string[]; stages: string[] };
  /** Datasets: their training images' shape when the params fix it without reading data, and the param that does. */
  imageShape?(params: Static<P>): { shape: ImageShape; from: string } | undefined;
  /** Transforms: the shape an image of `shape` leaves with (as the built transform's `outputShape`), from params alone. */
  outputShape?(params: Static<P>, shape: ImageShape): ImageShape;
  /** Models whose blocks `epsilab compress` can remove: how. */
  compression?(params: Static<P>): ModelCompression;
  /** Models: why images of `shape` cannot go through the network, or null when they can. */
  inputProblem?(params: Static<P>, shape: ImageShape): string | null;
}

export function defineComponent<K extends Kind, P extends TObject, Out>(c: Component<K, P, Out>): Component<K, P, Out> {
  return c;
}

/**
 * A nested component of another kind inside a component's params (a distillation stage's optimizer): the registry
 * resolves the reference to that kind's tagged union, so it is validated like a top-level section.
 */
export function ComponentRef(kind: Kind, description: string) {
  return Type.Unsafe<{ type: string } & Record<string, unknown>>({ $ref: `#/$defs/${kind}`, description });
}
