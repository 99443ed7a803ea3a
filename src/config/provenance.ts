import { Document, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { displayFile, type Position } from '../util/diagnostics.js';
import type { PositionedDocument } from './document.js';
import { parsePath, toPointer, type Segment } from './paths.js';

/** Who set a value: a line of a file (possibly inherited through extends), a `--set`, or the schema's default. */
export type Origin = { kind: 'file'; pos: Position } | { kind: 'set'; pos: Position } | { kind: 'default' };

/** Answers "where did this value come from?" for any path of a resolved config. */
export class Provenance {
  constructor(private readonly doc: PositionedDocument) {}

  origin(path: string | readonly Segment[]): Origin {
    const segments = typeof path === 'string' ? parsePath(path) : path;
    const place = this.doc.places.get(toPointer(segments));
    if (!place) return { kind: 'default' };
    return place.pos.set ? { kind: 'set', pos: place.pos } : { kind: 'file', pos: place.pos };
  }

  /** `configs/x.yaml:12:14`, `_base/a.yaml:3:5 (extended by configs/x.yaml)`, `--set model.epsilon=-1` or `default`. */
  describe(path: string | readonly Segment[], cwd = process.cwd()): string {
    const o = this.origin(path);
    if (o.kind === 'default') return 'default';
    if (o.kind === 'set') return `--set ${o.pos.set}`;
    const at = `${displayFile(o.pos.file, cwd)}:${o.pos.line}:${o.pos.col}`;
    const by = o.pos.extendedBy?.map((f) => displayFile(f, cwd)).join(', extended by ');
    return by ? `${at} (extended by ${by})` : at;
  }
}

/** The resolved config as YAML, each leaf followed by a comment naming who set it. */
export function renderWithProvenance(config: unknown, provenance: Provenance, header: string[] = []): string {
  const doc = new Document(config);
  const annotate = (node: unknown, segments: Segment[]): void => {
    if (isMap(node) && !node.items.length) {
      node.flow = true;
      node.comment = ` ${provenance.describe(segments)}`;
    } else if (isMap(node)) {
      for (const pair of node.items as Pair<Node, Node>[])
        annotate(pair.value, [...segments, String((pair.key as { value: unknown }).value)]);
    } else if (isSeq(node)) {
      if (node.items.every((i) => isScalar(i) || (isSeq(i) && i.items.every(isScalar)))) {
        node.flow = true;
        node.comment = ` ${provenance.describe(segments)}`;
      } else node.items.forEach((item, i) => annotate(item, [...segments, i]));
    } else if (isScalar(node)) node.comment = ` ${provenance.describe(segments)}`;
  };
  annotate(doc.contents, []);
  if (header.length) doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  return doc.toString({ lineWidth: 0 });
}
