import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Component } from '../registry/component.js';
import { conformanceProblems } from '../registry/conformance.js';
import { componentExports, importModule } from '../registry/modules.js';
import type { Registry } from '../registry/registry.js';
import { displayFile, error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { UsageError } from '../util/errors.js';
import type { PositionedDocument } from './document.js';
import { UserError } from '../util/errors.js';
import { toPointer } from './paths.js';

/**
 * Loads the modules a config names under `plugins:` (paths relative to the file that names them) and returns the
 * registry with their components added. Every export that looks like a component must honour the contract; a
 * missing file, a module that fails to load or a malformed export is reported at its `plugins` entry.
 */
export async function withPlugins(
  doc: PositionedDocument,
  base: Registry,
): Promise<{ registry: Registry; diagnostics: Diagnostic[] }> {
  const entries = (doc.value as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(entries)) return { registry: base, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  const found: Component[] = [];
  const modules = new Map<Component, string>();
  for (const [i, entry] of entries.entries()) {
    const pos = doc.places.get(toPointer(['plugins', i]))?.pos;
    if (typeof entry !== 'string' || !pos) continue;
    const file = path.resolve(pos.set ? process.cwd() : path.dirname(pos.file), entry);
    for (const c of await loadPlugin(file, entry, pos, base, diagnostics)) {
      if (found.includes(c)) continue;
      const clash = base.find(c.kind, c.type)
        ? 'a built-in component'
        : found.some((o) => o.kind === c.kind && o.type === c.type)
          ? 'another plugin'
          : '';
      if (clash)
        diagnostics.push(error(`plugin ${entry}: ${c.kind} '${c.type}' has the same name as ${clash}; rename it`, pos));
      else {
        found.push(c);
        modules.set(c, pathToFileURL(file).href);
      }
    }
  }
  if (diagnostics.length) return { registry: base, diagnostics };
  const guarded = found.map((c) => guard(c, modules.get(c)!));
  return { registry: base.with(guarded, new Map(guarded.map((g, i) => [g, modules.get(found[i])!]))), diagnostics };
}

/** A plugin's component whose build fails is the plugin's to fix: the failure names the component and its module. */
function guard(c: Component, url: string): Component {
  const fail = (err: unknown): never => {
    if (err instanceof UserError) throw err;
    const why = String((err as Error | null)?.message ?? err).split('\n')[0];
    throw new UserError(`${c.kind} '${c.type}' (plugin ${fileURLToPath(url)}) failed to build: ${why}`);
  };
  return {
    ...c,
    build(params, ctx) {
      try {
        const built = c.build(params, ctx);
        return built instanceof Promise ? built.catch(fail) : built;
      } catch (err) {
        return fail(err);
      }
    },
  };
}

async function loadPlugin(
  file: string,
  entry: string,
  pos: Position,
  base: Registry,
  diags: Diagnostic[],
): Promise<Component[]> {
  if (!existsSync(file)) {
    diags.push(error(`plugin file not found: ${displayFile(file)}`, pos));
    return [];
  }
  let mod: Record<string, unknown>;
  // A top-level await that nothing will ever settle leaves the event loop empty: Node would exit 13 without a word.
  let onIdle = () => {};
  const stalled = new Promise<never>((_, reject) => {
    onIdle = () => reject(new Error('its top-level await never settles (it waits on nothing that can happen)'));
    process.once('beforeExit', onIdle);
  });
  try {
    mod = await Promise.race([importModule(pathToFileURL(file).href), stalled]);
  } catch (e) {
    diags.push(
      error(`plugin ${entry} failed to load: ${String((e as Error | null)?.message ?? e).split('\n')[0]}`, pos),
    );
    return [];
  } finally {
    process.off('beforeExit', onIdle);
  }
  const candidates = componentExports(mod);
  if (!candidates.length) {
    diags.push(
      error(`plugin ${entry} exports no components (export objects of the form {kind, type, doc, params, build})`, pos),
    );
    return [];
  }
  const good: Component[] = [];
  for (const [name, c] of candidates) {
    const problems = conformanceProblems(c as Component, base);
    if (problems.length)
      diags.push(error(`plugin ${entry}: export '${name}' is not a valid component: ${problems.join('; ')}`, pos));
    else good.push(c as Component);
  }
  return good;
}

/** The module URLs of the components `registry` has beyond `base`: the plugins a run records to be rebuilt with. */
export function pluginModules(registry: Registry, base: Registry): string[] {
  const urls = registry.components.filter((c) => !base.find(c.kind, c.type)).map((c) => registry.moduleOf(c));
  return [...new Set(urls.filter((u): u is string => u !== undefined))];
}

/** `base` plus the components of plugin modules a run recorded (checked when the run started): a run rebuilt as trained. */
export async function withPluginModules(urls: readonly string[], base: Registry): Promise<Registry> {
  const found: Component[] = [];
  const modules = new Map<Component, string>();
  for (const url of urls) {
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(url);
    } catch (e) {
      const why = String((e as Error).message ?? e).split('\n')[0];
      throw new UsageError(
        `plugin ${displayFile(fileURLToPath(url))}, which the run was trained with, failed to load: ${why}`,
      );
    }
    for (const [, c] of componentExports(mod)) {
      const component = c as Component;
      if (base.find(component.kind, component.type) || found.includes(component)) continue;
      found.push(component);
      modules.set(component, url);
    }
  }
  return base.with(found, modules);
}
