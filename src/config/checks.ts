import { sortDiagnostics, type Diagnostic, type Position } from '../util/diagnostics.js';
import { displayPath, type Segment } from './paths.js';
import type { CheckContext, Kind } from '../registry/component.js';
import { SECTIONS, type ComponentSection, type ExperimentConfig } from '../registry/experiment.js';
import type { Registry } from '../registry/registry.js';

/** Points at the node of a path (dotted, e.g. `schedule.initial[2][0]`) or its nearest written ancestor. */
export type At = (path: string) => Position | undefined;

/**
 * The cross-field rules, each the `check` of the component it concerns (a schedule's epochs increase, a dataset's
 * subset holds a batch, distillation names parts the model has), run after the schema passed, at their positions.
 */
export function runChecks(config: ExperimentConfig, at: At, registry: Registry): Diagnostic[] {
  const run = (kind: Kind, section: ComponentSection, prefix: string): Diagnostic[] => {
    const component = registry.find(kind, section.type);
    if (!component?.check) return [];
    const { type: _type, ...params } = section;
    const below = (rel: string) => (rel ? (rel.startsWith('[') ? prefix + rel : `${prefix}.${rel}`) : prefix);
    const ctx: CheckContext = {
      path: prefix,
      config: config as unknown as Record<string, any>,
      atRoot: at,
      find: (k, t) => registry.find(k, t),
      checkNested: (k, nested, rel) => run(k, nested, below(rel)),
    };
    return component.check(params as never, (rel) => at(below(rel)), ctx);
  };
  return sortDiagnostics(
    componentSections(config).flatMap(({ kind, path, section }) => run(kind, section, displayPath(path))),
  );
}

/** Each component a config names, with its kind and path. */
export function componentSections(
  config: ExperimentConfig,
): { kind: (typeof SECTIONS)[number]['kind']; path: Segment[]; section: ComponentSection }[] {
  const out: ReturnType<typeof componentSections> = [];
  const c = config as unknown as Record<string, unknown>;
  for (const s of SECTIONS) {
    const v = c[s.key];
    if (v === undefined) continue;
    if (s.shape === 'one') out.push({ kind: s.kind, path: [s.key], section: v as ComponentSection });
    else if (s.shape === 'list')
      (v as ComponentSection[]).forEach((x, i) => out.push({ kind: s.kind, path: [s.key, i], section: x }));
    else if (s.shape === 'named')
      for (const [name, x] of Object.entries(v as Record<string, ComponentSection>))
        out.push({ kind: s.kind, path: [s.key, name], section: x });
    else
      for (const split of ['train', 'test'] as const)
        ((v as Record<string, ComponentSection[]>)[split] ?? []).forEach((x, i) =>
          out.push({ kind: s.kind, path: [s.key, split, i], section: x }),
        );
  }
  return out;
}
