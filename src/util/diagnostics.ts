import path from 'node:path';

/** Where a value sits: a file position, or the text of a `--set` override. Lines and columns are 1-based. */
export interface Position {
  /** Absolute path of the file (for a `--set`, the config it was applied to). */
  file: string;
  line: number;
  col: number;
  /** Characters the caret spans on that line. */
  length: number;
  /** The source line, shown under the message. */
  lineText: string;
  /** Files that extended `file`, nearest first: the value came in through `extends`. */
  extendedBy?: string[];
  /** The override as typed (`model.epsilon=-1`) when the value came from `--set`. */
  set?: string;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  pos?: Position;
}

export function error(message: string, pos?: Position): Diagnostic {
  return { severity: 'error', message, pos };
}

/** A path as the user should read it: relative to the working folder when it lies inside it. */
export function displayFile(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Sorted by file, line and column; overrides after file positions, positionless last. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic): [string, number, number] =>
    d.pos ? [d.pos.file, d.pos.set ? Infinity : d.pos.line, d.pos.col] : ['\uffff', 0, 0];
  return [...diags].sort((a, b) => {
    const [fa, la, ca] = key(a);
    const [fb, lb, cb] = key(b);
    return fa < fb ? -1 : fa > fb ? 1 : la - lb || ca - cb;
  });
}

/** Where the value came from, when not simply the position's own file. */
export function originNote(pos: Position, message: string, cwd = process.cwd()): string {
  if (pos.set) return message.includes(`--set ${pos.set}`) ? '' : ` (from --set ${pos.set})`;
  if (pos.extendedBy?.length) {
    const by = pos.extendedBy.map((f) => displayFile(f, cwd)).join(', extended by ');
    return ` (set in ${displayFile(pos.file, cwd)}, extended by ${by})`;
  }
  return '';
}

/** Compiler-style text: `file:line:col error: message`, then the source line and a caret under the node. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  if (!d.pos) return `${d.severity}: ${d.message}`;
  const p = d.pos;
  const where = p.set ? displayFile(p.file, cwd) : `${displayFile(p.file, cwd)}:${p.line}:${p.col}`;
  const gutter = p.set ? '' : String(p.line);
  const pad = ' '.repeat(gutter.length);
  const caret = ' '.repeat(Math.max(0, p.col - 1)) + '^' + '~'.repeat(Math.max(0, p.length - 1));
  return [
    `${where} ${d.severity}: ${d.message}${originNote(p, d.message, cwd)}`,
    ` ${gutter} | ${p.lineText}`,
    ` ${pad} | ${caret}`,
  ].join('\n');
}

export function formatDiagnostics(diags: Diagnostic[], cwd = process.cwd()): string {
  const sorted = sortDiagnostics(diags);
  const errors = sorted.filter((d) => d.severity === 'error').length;
  const body = sorted
    .slice(0, MAX_SHOWN)
    .map((d) => formatDiagnostic(d, cwd))
    .join('\n');
  const more = sorted.length > MAX_SHOWN ? `\n… and ${sorted.length - MAX_SHOWN} more problems (fix these first)` : '';
  return errors > 1 ? `${body}${more}\n${errors} errors` : body;
}

/** Diagnostics printed at most: a file of 100,000 mistakes is one mistake, and its first ones say which. */
const MAX_SHOWN = 100;
