import { error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { displayPath, parsePath, type Segment } from './paths.js';
import { FORBIDDEN_KEYS, parseYaml, type YNode } from './yaml-source.js';

const PREFIX = '--set ';

/**
 * Applies `--set path=value` overrides in order, values parsed as YAML. A path may name a new key or append to a
 * list (the schema then judges it), creating what leads there; it may not pass through a scalar or skip list items.
 */
export function applyOverrides(root: YNode, file: string, sets: string[]): Diagnostic[] {
  const diags: Diagnostic[] = [];
  for (const override of sets) {
    const eq = override.indexOf('=');
    const whole: Position = {
      file,
      line: 1,
      col: PREFIX.length + 1,
      length: Math.max(1, override.length),
      lineText: PREFIX + override,
      set: override,
    };
    if (eq <= 0) {
      diags.push(error(`--set ${override}: expected path=value, e.g. --set model.epsilon=2.5`, whole));
      continue;
    }
    const pathText = override.slice(0, eq).trim();
    const pathPos: Position = { ...whole, length: eq };
    let segments: Segment[];
    try {
      segments = parsePath(pathText);
    } catch {
      diags.push(
        error(
          `--set ${override}: '${pathText}' is not a path (use dots and [index], e.g. transforms.train[0].pad)`,
          pathPos,
        ),
      );
      continue;
    }
    const forbidden = segments.find((seg) => FORBIDDEN_KEYS.has(String(seg)));
    if (forbidden !== undefined) {
      diags.push(error(`--set ${override}: the key ${forbidden} is not allowed: it is not a config value`, pathPos));
      continue;
    }
    if (segments[0] === 'extends') {
      diags.push(error(`--set ${override}: extends can only be written in a config file`, pathPos));
      continue;
    }
    const parsed = parseYaml({
      file,
      text: override.slice(eq + 1),
      set: { override, valueOffset: PREFIX.length + eq + 1 },
    });
    if (parsed.diagnostics.length) {
      diags.push(
        ...parsed.diagnostics.map((d) => ({ ...d, message: `bad YAML value in --set ${override}: ${d.message}` })),
      );
      continue;
    }
    const value = parsed.root ?? {
      kind: 'scalar' as const,
      pos: { ...whole, col: PREFIX.length + eq + 2, length: 1 },
      value: null,
    };
    const problem = setAt(root, segments, value, pathPos);
    if (problem) diags.push(error(`--set ${override}: ${problem}`, pathPos));
  }
  return diags;
}

function setAt(root: YNode, segments: Segment[], value: YNode, keyPos: Position): string | undefined {
  if (segments.length === 0) return 'the path is empty';
  const fresh = (next: Segment): YNode =>
    typeof next === 'number'
      ? { kind: 'seq', pos: keyPos, items: [] }
      : { kind: 'map', pos: keyPos, entries: new Map() };
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    const here = displayPath(segments.slice(0, i));
    const child = last ? value : undefined;
    if (node.kind === 'map') {
      const key = String(seg);
      const entry = node.entries.get(key);
      const next = child ?? entry?.node ?? fresh(segments[i + 1]);
      if (!entry || last) node.entries.set(key, { keyPos, node: next });
      node = next;
    } else if (node.kind === 'seq') {
      if (typeof seg !== 'number') return `${here} is a list: index it with [n], not .${seg}`;
      if (seg > node.items.length) return `index ${seg} is past the end of ${here} (${node.items.length} items)`;
      const next = child ?? node.items[seg] ?? fresh(segments[i + 1]);
      node.items[seg] = next;
      node = next;
    } else {
      return `${here} is ${node.value === null ? 'null' : `a ${typeof node.value}`}, so it has no ${typeof seg === 'number' ? `[${seg}]` : `key '${seg}'`}`;
    }
  }
  return undefined;
}
