import path from 'node:path';
import { componentSections, runChecks, type At } from './checks.js';
import { modelInputChecks } from './input-shape.js';
import { positionAt, toDocument } from './document.js';
import { displayFile, error, type Diagnostic } from '../util/diagnostics.js';
import { ConfigError } from '../util/errors.js';
import { displayPath } from './paths.js';
import { loadWithExtends } from './extends.js';
import { applyOverrides } from './overrides.js';
import { Provenance, renderWithProvenance } from './provenance.js';
import { validateDocument } from './validate.js';
import { didYouMean, quoteList } from '../registry/suggest.js';
import type { Registry } from '../registry/registry.js';
import { builtinRegistry as builtIns } from '../components/index.js';
import { withPlugins } from './plugins.js';
import type { ExperimentConfig } from '../registry/experiment.js';

export type { ExperimentConfig, ComponentSection } from '../registry/experiment.js';

export interface LoadedExperiment {
  config: ExperimentConfig;
  provenance: Provenance;
  /** The resolved config as YAML with a provenance comment per leaf. */
  text: string;
  /** Built-in components plus the config's plugins: build components from this one. */
  registry: Registry;
}

export interface LoadOptions {
  /** A fragment meant to be extended (a `_base` file): nothing is required, cross-field rules are not run. */
  partial?: boolean;
  /** Components to validate against instead of the built-in ones. */
  registry?: Registry;
}

/**
 * Reads a config with its `extends` chain and `--set` overrides, loads its plugins, validates it (defaults filled in)
 * and runs the cross-field checks. Throws ConfigError carrying every problem found at its position.
 */
export async function loadExperiment(
  file: string,
  sets: string[] = [],
  opts: LoadOptions = {},
): Promise<LoadedExperiment> {
  const abs = path.resolve(file);
  const loaded = await loadWithExtends(abs);
  if (!loaded.root) throw new ConfigError(loaded.diagnostics);
  const overridden = applyOverrides(loaded.root, abs, sets);
  if (overridden.length) throw new ConfigError(overridden);
  const doc = toDocument(abs, loaded.root);
  const { registry, diagnostics: pluginProblems } = await withPlugins(doc, opts.registry ?? builtIns);
  if (pluginProblems.length) throw new ConfigError(pluginProblems);
  const problems = validateDocument(doc, registry.validator(opts.partial));
  const config = inSchemaOrder(doc.value as ExperimentConfig, registry);
  const at = positionAt(doc);
  if (!problems.length && !opts.partial) problems.push(...unregisteredTypes(config, at, registry));
  if (!problems.length && !opts.partial) problems.push(...runChecks(config, at, registry));
  if (!problems.length && !opts.partial) problems.push(...modelInputChecks(config, at, registry));
  if (problems.length) throw new ConfigError(problems);
  const provenance = new Provenance(doc);
  const header = [
    `Resolved from ${displayFile(abs)}${sets.map((s) => ` --set ${s}`).join('')}`,
    'Each value is followed by where it was set.',
  ];
  return { config, provenance, text: renderWithProvenance(config, provenance, header), registry };
}

/** Kinds with no registered component accept any `type` in the schema; name the problem here instead. */
function unregisteredTypes(config: ExperimentConfig, at: At, registry: Registry): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const { kind, path: p, section } of componentSections(config)) {
    if (registry.find(kind, section.type)) continue;
    const types = registry.list(kind).map((c) => c.type);
    out.push(
      error(
        `unknown ${kind} type '${section.type}'${didYouMean(section.type, types)} (registered: ${quoteList(types) || 'none'})`,
        at(displayPath([...p, 'type'])),
      ),
    );
  }
  return out;
}

/** Top-level keys in the schema's reading order (defaults were appended at the end). */
function inSchemaOrder(config: ExperimentConfig, registry: Registry): ExperimentConfig {
  const record = config as unknown as Record<string, unknown>;
  if (!record || typeof record !== 'object') return config;
  const order = Object.keys(registry.schema().properties ?? {});
  const keys = [...order.filter((k) => k in record), ...Object.keys(record).filter((k) => !order.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, record[k]])) as ExperimentConfig;
}
