import { error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { displayPath, type Segment } from './paths.js';
import { SECTIONS, type ComponentSection, type ExperimentConfig } from '../registry/experiment.js';
import type { Registry } from '../registry/registry.js';
import { didYouMean, quoteList } from '../registry/suggest.js';

/** Points at the node of a path (dotted, e.g. `schedule.initial[2][0]`) or its nearest written ancestor. */
export type At = (path: string) => Position | undefined;

/** A cross-field rule checked after the schema passed, reporting each problem at its own position. */
export type Check = (config: ExperimentConfig, at: At, registry: Registry) => Diagnostic[];

/** `[[epoch, value], ...]` parameters by name: their epochs must strictly increase. */
const EPOCH_PAIR_KEYS = new Set(['boundaries', 'values', 'initial', 'after_discard']);

const increasingEpochs: Check = (config, at) => {
  const out: Diagnostic[] = [];
  const walk = (v: unknown, path: Segment[]): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, i]));
    if (!v || typeof v !== 'object') return;
    for (const [key, value] of Object.entries(v)) {
      const here = [...path, key];
      if (EPOCH_PAIR_KEYS.has(key) && isPairList(value)) {
        for (let i = 1; i < value.length; i++) {
          if (value[i][0] <= value[i - 1][0]) {
            const p = displayPath([...here, i, 0]);
            out.push(error(`${p} must be greater than the epoch before it (${value[i - 1][0]}): epochs in [[epoch, value], ...] must strictly increase (got ${value[i][0]})`, at(p)));
          }
        }
      } else walk(value, here);
    }
  };
  walk(config, []);
  return out;
};

function isPairList(v: unknown): v is [number, unknown][] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number');
}

/**
 * The training-set size a config fixes before any data is read, with the path that fixes it: a `subset` of N (or
 * `subset.train` of N or `{first: N}`) or a generated set's `train_size`; the smallest when several do.
 */
export function knownTrainSize(config: ExperimentConfig): { size: number; from: string } | undefined {
  const d = config.dataset as Record<string, any>;
  const train = d.subset?.train;
  const candidates: [unknown, string][] = [
    [d.subset, 'dataset.subset'],
    [train, 'dataset.subset.train'],
    [train?.first, 'dataset.subset.train.first'],
    [d.train_size, 'dataset.train_size'],
  ];
  const known = candidates.filter((c): c is [number, string] => typeof c[0] === 'number').map(([size, from]) => ({ size, from }));
  return known.sort((a, b) => a.size - b.size)[0];
}

const batchFitsSubset: Check = (config, at) => {
  const known = knownTrainSize(config);
  if (!known || config.train.batch_size <= known.size) return [];
  return [error(`train.batch_size (${config.train.batch_size}) is larger than the training set (${known.from} = ${known.size} images): not one full batch per epoch`, at('train.batch_size'))];
};

/** Distillation stages may only name taps and parts the student model has. */
const distillationNamesExist: Check = (config, at, registry) => {
  const plan = config.distillation as { stages?: { train?: string[]; loss?: { kind: string; at?: string }[] }[]; student?: Record<string, unknown> } | undefined;
  if (!plan?.stages) return [];
  const { type, ...params } = { ...config.model, ...(plan.student ?? {}) } as ComponentSection;
  const parts = registry.find('model', type)?.parts?.(params as never);
  if (!parts) return [error(`distillation needs a model that declares its taps and parts; model type '${type}' does not`, at('model.type'))];
  const out: Diagnostic[] = [];
  plan.stages.forEach((stage, i) => {
    stage.train?.forEach((part, j) => {
      if (part !== 'all' && !parts.stages.includes(part)) {
        out.push(error(`distillation.stages[${i}].train[${j}] names no part of ${type}: expected 'all' or one of ${quoteList(parts.stages)}${didYouMean(part, parts.stages)} (got '${part}')`, at(`distillation.stages[${i}].train[${j}]`)));
      }
    });
    stage.loss?.forEach((term, j) => {
      if (term.at !== undefined && !parts.taps.includes(term.at)) {
        out.push(error(`distillation.stages[${i}].loss[${j}].at names no tap of ${type}: expected one of ${quoteList(parts.taps)}${didYouMean(term.at, parts.taps)} (got '${term.at}')`, at(`distillation.stages[${i}].loss[${j}].at`)));
      }
    });
  });
  return out;
};

const CHECKS: Check[] = [increasingEpochs, batchFitsSubset, distillationNamesExist];

/** Adds a rule every experiment config is checked against (after its schema passed). */
export function addCheck(check: Check): void {
  CHECKS.push(check);
}

/** Every registered rule, plus each named component's own `check` with paths relative to its section. */
export function runChecks(config: ExperimentConfig, at: At, registry: Registry): Diagnostic[] {
  const out = CHECKS.flatMap((c) => c(config, at, registry));
  for (const { kind, path, section } of componentSections(config)) {
    const component = registry.find(kind, section.type);
    if (!component?.check) continue;
    const { type: _type, ...params } = section;
    const prefix = displayPath(path);
    out.push(...component.check(params as never, (rel) => at(rel ? (rel.startsWith('[') ? prefix + rel : `${prefix}.${rel}`) : prefix)));
  }
  return out;
}

/** Each component a config names, with its kind and path. */
export function componentSections(config: ExperimentConfig): { kind: (typeof SECTIONS)[number]['kind']; path: Segment[]; section: ComponentSection }[] {
  const out: ReturnType<typeof componentSections> = [];
  const c = config as unknown as Record<string, unknown>;
  for (const s of SECTIONS) {
    const v = c[s.key];
    if (v === undefined) continue;
    if (s.shape === 'one') out.push({ kind: s.kind, path: [s.key], section: v as ComponentSection });
    else if (s.shape === 'list') (v as ComponentSection[]).forEach((x, i) => out.push({ kind: s.kind, path: [s.key, i], section: x }));
    else for (const split of ['train', 'test'] as const) ((v as Record<string, ComponentSection[]>)[split] ?? []).forEach((x, i) => out.push({ kind: s.kind, path: [s.key, split, i], section: x }));
  }
  return out;
}
