import { Composer, LineCounter, Parser, isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import { displayFile, error, type Diagnostic, type Position } from '../util/diagnostics.js';
import { ConfigError } from '../util/errors.js';
import { relocateSyntaxError } from './yaml-hints.js';
import { readRegularFile, UnreadableFileError } from '../util/regular-file.js';

/** A YAML value that remembers where each part of it was written. Only plain data: maps, lists, scalars. */
export type YNode =
  | { kind: 'map'; pos: Position; entries: Map<string, { keyPos: Position; node: YNode }> }
  | { kind: 'seq'; pos: Position; items: YNode[] }
  | { kind: 'scalar'; pos: Position; value: string | number | boolean | null };

/** Text to parse: a file's, or the value of a `--set` override (then positions point into `--set path=value`). */
export interface YamlSource {
  file: string;
  text: string;
  set?: { override: string; valueOffset: number };
}

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
const OPTIONS = {
  // Duplicate keys are found below in one pass: the yaml package compares each key with every earlier one.
  uniqueKeys: false,
  prettyErrors: false,
  schema: 'core',
  resolveKnownTags: false,
  merge: false,
  strict: true,
} as const;

/** The largest YAML text read: configs are kilobytes; a larger file is a mistake (or an attack), refused unread. */
export const MAX_YAML_BYTES = 16 * 2 ** 20;
/** Values that aliases may expand to in one document, as the yaml package's maxAliasCount bounds alias expansion. */
export const MAX_ALIAS_VALUES = 10_000;

/** Keys that would reach an object's prototype instead of being data. */
export const FORBIDDEN_KEYS = new Set(['__proto__']);

/**
 * Parses one YAML document into a positioned tree; syntax errors, duplicate keys, non-core tags, `__proto__` keys and
 * aliases that expand to more than MAX_ALIAS_VALUES values are diagnostics.
 */
export function parseYaml(src: YamlSource): { root?: YNode; diagnostics: Diagnostic[] } {
  if (src.text.length > MAX_YAML_BYTES)
    return {
      diagnostics: [
        error(
          `${displayFile(src.file)} is ${(src.text.length / 2 ** 20).toFixed(1)} MB, more than the ${MAX_YAML_BYTES / 2 ** 20} MB a YAML file epsilab reads may hold: split it`,
        ),
      ],
    };
  const lc = new LineCounter();
  const tokens = [...new Parser(lc.addNewLine).parse(src.text)];
  const docs = [...new Composer(OPTIONS).compose(tokens, true, src.text.length)] as Document.Parsed[];
  const lines = src.text.split(/\r?\n/);
  const at = (start: number, end = start + 1): Position => makePosition(src, lc, lines, start, end);
  const diagnostics: Diagnostic[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      if (
        e.code === 'BLOCK_AS_IMPLICIT_KEY' &&
        doc.errors.some((o) => o.code === 'MULTILINE_IMPLICIT_KEY' && o.pos[0] === e.pos[0])
      )
        continue;
      const { message, start, end } = relocateSyntaxError(src.text, e.code, e.message, e.pos[0], e.pos[1]);
      diagnostics.push(error(message, at(start, end)));
    }
  }
  if (docs.length > 1) diagnostics.push(error('expected one YAML document, found several', at(docs[1].range[0])));
  if (diagnostics.length || !docs[0]?.contents) return { diagnostics };
  const doc = docs[0];
  const tagOffsets = collectTagTokens(tokens);
  let aliasValues = 0;
  let insideAlias = 0;
  const convert = (node: Node, visiting: Set<Node>, aliasPos?: Position): YNode | undefined => {
    const pos = aliasPos ?? at(node.range![0], node.range![1]);
    if (insideAlias && ++aliasValues > MAX_ALIAS_VALUES) {
      if (aliasValues === MAX_ALIAS_VALUES + 1)
        diagnostics.push(
          error(
            `aliases expand to more than ${MAX_ALIAS_VALUES.toLocaleString('en')} values (an alias bomb?): write the values out, or use fewer aliases`,
            pos,
          ),
        );
      return undefined;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target || visiting.has(target))
        return void diagnostics.push(error(`alias *${node.source} does not resolve to a finished value`, pos));
      insideAlias += 1;
      try {
        return convert(target, new Set([...visiting, target]), pos);
      } finally {
        insideAlias -= 1;
      }
    }
    if (node.tag && !CORE_TAGS.has(node.tag)) {
      const tagAt = tagOffsets.filter((t) => t.offset <= node.range![0]).at(-1);
      const tagPos = tagAt ? at(tagAt.offset, tagAt.offset + tagAt.source.length) : pos;
      return void diagnostics.push(
        error(
          `tag ${tagAt?.source ?? node.tag} is not allowed: configs hold plain data only (maps, lists, strings, numbers, booleans, null)`,
          tagPos,
        ),
      );
    }
    if (isMap(node)) {
      const entries = new Map<string, { keyPos: Position; node: YNode }>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
          diagnostics.push(
            error('mapping keys must be plain strings or numbers', key?.range ? at(key.range[0], key.range[1]) : pos),
          );
          continue;
        }
        const keyPos = at(key.range![0], key.range![1]);
        if (FORBIDDEN_KEYS.has(String(key.value))) {
          diagnostics.push(error(`the key ${key.value} is not allowed: it is not a config value`, keyPos));
          continue;
        }
        if (entries.has(String(key.value))) {
          diagnostics.push(error(duplicateKey(src.text.slice(key.range![0])), keyPos));
          continue;
        }
        const valueNode = pair.value as Node | null;
        const child = valueNode ? convert(valueNode, visiting) : { kind: 'scalar' as const, pos: keyPos, value: null };
        if (child) entries.set(String(key.value), { keyPos, node: child });
      }
      return { kind: 'map', pos, entries };
    }
    if (isSeq(node)) {
      const items: YNode[] = [];
      for (const item of node.items) {
        const child = convert(item as Node, visiting);
        if (child) items.push(child);
      }
      return { kind: 'seq', pos, items };
    }
    if (isScalar(node)) {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
        return { kind: 'scalar', pos, value: v };
    }
    diagnostics.push(error('unsupported YAML value: configs hold plain data only', pos));
  };
  const root = convert(doc.contents as Node, new Set());
  return diagnostics.length ? { diagnostics } : { root, diagnostics };
}

/** A YAML file's text, or why it cannot be read: missing, not a regular file (a FIFO would block), too large. */
export function readYamlText(file: string): { text: string } | { reason: string } {
  try {
    return { text: readRegularFile(file, MAX_YAML_BYTES, 'split it').toString('utf8') };
  } catch (e) {
    if (e instanceof UnreadableFileError) return { reason: e.reason };
    return { reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message };
  }
}

/** Reads and parses a file holding a YAML mapping or list; throws ConfigError with every problem found. */
export async function loadYamlWithPositions(file: string): Promise<{ root: YNode; text: string }> {
  const read = readYamlText(file);
  if ('reason' in read) throw new ConfigError([error(`cannot read ${displayFile(file)}: ${read.reason}`)]);
  const { text } = read;
  const { root, diagnostics } = parseYaml({ file, text });
  if (diagnostics.length) throw new ConfigError(diagnostics);
  if (!root)
    throw new ConfigError([
      error('the file holds no YAML value', {
        file,
        line: 1,
        col: 1,
        length: 1,
        lineText: text.split(/\r?\n/)[0] ?? '',
      }),
    ]);
  return { root, text };
}

function makePosition(src: YamlSource, lc: LineCounter, lines: string[], start: number, end: number): Position {
  const { line, col } = lc.linePos(start);
  const row = Math.max(1, line);
  let lineText = lines[row - 1] ?? '';
  let column = Math.max(1, col);
  if (src.set && row === 1) {
    lineText = `--set ${src.set.override.split(/\r?\n/)[0]}`;
    column += src.set.valueOffset;
  }
  const length = Math.max(1, Math.min(end - start, lineText.length - column + 1));
  return { file: src.file, line: row, col: column, length, lineText, ...(src.set ? { set: src.set.override } : {}) };
}

function collectTagTokens(tokens: unknown[]): { offset: number; source: string }[] {
  const found: { offset: number; source: string }[] = [];
  const walk = (t: unknown): void => {
    if (Array.isArray(t)) return t.forEach(walk);
    if (!t || typeof t !== 'object') return;
    const o = t as Record<string, unknown>;
    if (o.type === 'tag' && typeof o.offset === 'number' && typeof o.source === 'string')
      found.push({ offset: o.offset, source: o.source });
    for (const v of Object.values(o)) if (v && typeof v === 'object') walk(v);
  };
  walk(tokens);
  return found.sort((a, b) => a.offset - b.offset);
}

function duplicateKey(rest: string): string {
  const key = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#\n]*[^:#\s])\s*:/.exec(rest)?.[1];
  return `duplicate key${key ? ` ${key}` : ''}: it is already set earlier in the same mapping`;
}
