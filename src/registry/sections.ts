import type { Static, TObject } from '@sinclair/typebox';
import type { experimentFields } from '../config/experiment.js';
import type { Kind } from './component.js';

/** A component as a config names it: its `type` plus its own parameters. */
export type ComponentSection = { type: string } & Record<string, unknown>;

/**
 * The experiment's component sections: `one` is a single component, `list` an ordered list of them, `split` a
 * `{train: [...], test: [...]}` pair of lists. `optional` sections may be left out; the rest are required or
 * default to empty lists.
 */
export const SECTIONS = [
  { key: 'dataset', kind: 'dataset', shape: 'one', description: 'The data: a training and a test split.' },
  { key: 'transforms', kind: 'transform', shape: 'split', description: 'Image transforms applied in order: `train` to training images (augmentation included), `test` to test images.' },
  { key: 'model', kind: 'model', shape: 'one', description: 'The network.' },
  { key: 'optimizer', kind: 'optimizer', shape: 'one', description: 'How gradients update the weights.' },
  { key: 'schedule', kind: 'schedule', shape: 'one', description: 'The learning rate over epochs.' },
  { key: 'loss', kind: 'loss', shape: 'one', description: 'What training minimises.' },
  { key: 'callbacks', kind: 'callback', shape: 'list', description: 'Hooks run during training, in order (an ε schedule, ...).' },
  { key: 'distillation', kind: 'distillation', shape: 'one', optional: true, description: 'Distil a teacher into a student in stages instead of plain training.' },
] as const satisfies readonly { key: string; kind: Kind; shape: 'one' | 'list' | 'split'; optional?: boolean; description: string }[];

type Section = (typeof SECTIONS)[number];
type SectionValue<S extends Section> = S['shape'] extends 'one' ? ComponentSection : S['shape'] extends 'list' ? ComponentSection[] : { train: ComponentSection[]; test: ComponentSection[] };

/** A validated experiment: top-level fields typed from experiment.ts, component sections by shape; defaults filled. */
export type ExperimentConfig = Static<TObject<ReturnType<typeof experimentFields>>> & {
  [S in Section as S extends { optional: true } ? never : S['key']]: SectionValue<S>;
} & { [S in Section as S extends { optional: true } ? S['key'] : never]?: SectionValue<S> };
