import type { Position } from '../util/diagnostics.js';
import { parsePath, toPointer, type Segment } from './paths.js';
import type { YNode } from './yaml-source.js';

/** Where a node was written: its value and, for a mapping entry, its key. */
export interface NodePlace {
  pos: Position;
  keyPos?: Position;
}

/** Plain data (what ajv validates) plus the position of every node, keyed by JSON pointer. */
export interface PositionedDocument {
  file: string;
  value: unknown;
  places: Map<string, NodePlace>;
}

export function toDocument(file: string, root: YNode | undefined): PositionedDocument {
  const places = new Map<string, NodePlace>();
  const walk = (node: YNode, segments: Segment[], keyPos?: Position): unknown => {
    places.set(toPointer(segments), { pos: node.pos, keyPos });
    if (node.kind === 'scalar') return node.value;
    if (node.kind === 'seq') return node.items.map((item, i) => walk(item, [...segments, i]));
    const out: Record<string, unknown> = {};
    for (const [key, entry] of node.entries) out[key] = walk(entry.node, [...segments, key], entry.keyPos);
    return out;
  };
  return { file, value: root ? walk(root, []) : null, places };
}

/** The place of `path` (dotted or a JSON pointer), or of its nearest written ancestor (defaults have no place). */
export function placeOf(doc: PositionedDocument, path: string | readonly Segment[]): NodePlace | undefined {
  const segments = typeof path === 'string' ? parsePath(path) : [...path];
  for (let n = segments.length; n >= 0; n--) {
    const place = doc.places.get(toPointer(segments.slice(0, n)));
    if (place) return place;
  }
  return undefined;
}

/** The position a check should point at for `path`: the node itself, else its nearest written ancestor. */
export function positionAt(doc: PositionedDocument): (path: string) => Position | undefined {
  return (path) => placeOf(doc, path)?.pos;
}
