import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { displayFile, error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { parseYaml, readYamlText, type YNode } from './yaml-source.js';

type YMap = Extract<YNode, { kind: 'map' }>;

/**
 * Loads a config and everything it `extends` (a path or a list, relative to the file, or a package path such as
 * `epsilab/configs/_base/cifar-preact.yaml`): bases merge in order, the file itself on top; mappings merge key by key,
 * anything else (lists included) replaces. Positions of inherited values remember the files that extended theirs.
 */
export async function loadWithExtends(file: string): Promise<{ root?: YMap; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const root = await load(path.resolve(file), [], undefined, diagnostics);
  return diagnostics.length ? { diagnostics } : { root, diagnostics };
}

async function load(
  file: string,
  stack: string[],
  requestedAt: Position | undefined,
  diags: Diagnostic[],
): Promise<YMap | undefined> {
  const read = readYamlText(file);
  if ('reason' in read) {
    diags.push(error(`cannot read ${displayFile(file)}: ${read.reason}`, requestedAt));
    return undefined;
  }
  const { text } = read;
  const { root, diagnostics } = parseYaml({ file, text });
  diags.push(...diagnostics);
  if (diagnostics.length) return undefined;
  if (!root || root.kind !== 'map') {
    diags.push(
      error(
        'a config must be a mapping of keys to values',
        root?.pos ?? { file, line: 1, col: 1, length: 1, lineText: text.split(/\r?\n/)[0] ?? '' },
      ),
    );
    return undefined;
  }
  const ext = root.entries.get('extends');
  root.entries.delete('extends');
  let merged: YMap | undefined;
  for (const base of ext ? basesOf(ext.node, diags) : []) {
    const target = resolveBase(base.path, file);
    const chain = [...stack, file];
    if (chain.includes(target)) {
      const cycle = [...chain.slice(chain.indexOf(target)), target].map((f) => displayFile(f)).join(' -> ');
      diags.push(error(`extends cycle: ${cycle}`, base.pos));
      continue;
    }
    const loaded = await load(target, chain, base.pos, diags);
    if (loaded)
      merged = merged ? (merge(merged, extendedBy(loaded, file)) as YMap) : (extendedBy(loaded, file) as YMap);
  }
  return merged ? (merge(merged, root) as YMap) : root;
}

/**
 * A base's file: the path relative to the extending file where that file exists (or the path is ./, ../ or absolute),
 * else a package path resolved as Node resolves an import from that file's folder, then from epsilab itself (so a
 * config outside any project that installed epsilab can still extend epsilab's bases).
 */
function resolveBase(spec: string, from: string): string {
  const relative = path.resolve(path.dirname(from), spec);
  if (existsSync(relative) || spec.startsWith('.') || path.isAbsolute(spec)) return relative;
  for (const resolver of [from, fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(resolver).resolve(spec);
    } catch {
      // not a package path that resolves from here
    }
  }
  return relative;
}

function basesOf(node: YNode, diags: Diagnostic[]): { path: string; pos: Position }[] {
  const items = node.kind === 'seq' ? node.items : [node];
  const out: { path: string; pos: Position }[] = [];
  for (const item of items) {
    if (item.kind === 'scalar' && typeof item.value === 'string' && item.value !== '')
      out.push({ path: item.value, pos: item.pos });
    else diags.push(error('extends must be a file path or a list of file paths', item.pos));
  }
  return out;
}

/**
 * Later wins: mappings merge key by key, anything else replaces. A component section that names a different `type`
 * replaces the inherited one whole, since the old component's parameters mean nothing to the new one.
 */
export function merge(base: YNode, over: YNode): YNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const baseType = base.entries.get('type')?.node;
  const overType = over.entries.get('type')?.node;
  if (baseType?.kind === 'scalar' && overType?.kind === 'scalar' && baseType.value !== overType.value) return over;
  const entries = new Map(base.entries);
  for (const [key, entry] of over.entries) {
    const prev = entries.get(key);
    entries.set(key, prev ? { keyPos: entry.keyPos, node: merge(prev.node, entry.node) } : entry);
  }
  return { kind: 'map', pos: over.pos, entries };
}

/** Marks every position of an inherited tree as having come in through `file`. */
function extendedBy(node: YNode, file: string): YNode {
  const mark = (p: Position): Position => ({ ...p, extendedBy: [...(p.extendedBy ?? []), file] });
  if (node.kind === 'scalar') return { ...node, pos: mark(node.pos) };
  if (node.kind === 'seq')
    return { kind: 'seq', pos: mark(node.pos), items: node.items.map((i) => extendedBy(i, file)) };
  const entries = new Map(
    [...node.entries].map(([k, e]) => [k, { keyPos: mark(e.keyPos), node: extendedBy(e.node, file) }] as const),
  );
  return { kind: 'map', pos: mark(node.pos), entries };
}
