/** Paths into a config: segments internally, JSON pointers for ajv, `a.b[0].c` for people. */
export type Segment = string | number;

/** Parses `model.epsilon`, `transforms.train[0].pad`, `transforms.train.0.pad` or a JSON pointer `/model/epsilon`. */
export function parsePath(path: string): Segment[] {
  if (path === '' || path === '/') return [];
  if (path.startsWith('/'))
    return path
      .slice(1)
      .split('/')
      .map((s) => unescapePointer(s))
      .map(asSegment);
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) throw new Error(`bad path '${path}'`);
    if (m[1] !== '') segments.push(asSegment(m[1]));
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) segments.push(Number(idx[1]));
  }
  return segments;
}

function asSegment(s: string): Segment {
  return /^(0|[1-9]\d*)$/.test(s) ? Number(s) : s;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function toPointer(segments: readonly Segment[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** `transforms.train[0].type`; the empty path reads as "the top level". */
export function displayPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out || 'the top level';
}
