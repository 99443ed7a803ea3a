import type { ErrorObject } from 'ajv';
import { error, type Diagnostic } from '../util/diagnostics.js';
import { placeOf, type PositionedDocument } from './document.js';
import { displayPath, parsePath, toPointer, type Segment } from './paths.js';
import { didYouMean, quoteList } from '../registry/suggest.js';

type Schema = Record<string, any>;

/** ajv's errors as diagnostics at the offending node, in words a config's author reads. */
export function translateErrors(errors: ErrorObject[], doc: PositionedDocument): Diagnostic[] {
  const seen = new Set<string>();
  return translate(errors, doc).filter((d) => {
    const key = `${d.pos?.file}:${d.pos?.line}:${d.pos?.col}:${d.message}`;
    return !seen.has(key) && seen.add(key);
  });
}

const isUnion = (e: ErrorObject) => e.keyword === 'anyOf' || e.keyword === 'oneOf';
const inside = (e: ErrorObject, union: ErrorObject) => e !== union && e.schemaPath.startsWith(`${union.schemaPath}/`);

/** A failed union reports the errors of the branch the author evidently meant, or else the forms it accepts. */
function translate(errors: ErrorObject[], doc: PositionedDocument): Diagnostic[] {
  const unions = errors.filter(isUnion);
  const out: Diagnostic[] = [];
  // A bad key name is reported once, by its propertyNames error, not by each rule of the name it broke.
  const named = (x: ErrorObject) => x.keyword !== 'propertyNames' && x.propertyName !== undefined;
  for (const e of errors.filter((x) => x.keyword !== 'if' && !named(x) && !unions.some((u) => inside(x, u)))) {
    if (!isUnion(e)) {
      out.push(toDiagnostic(e, doc));
      continue;
    }
    const branch = meantBranch(
      e,
      errors.filter((x) => inside(x, e)),
    );
    out.push(...(branch ? translate(branch, doc) : [toDiagnostic(e, doc)]));
  }
  return out;
}

/**
 * Branches whose errors include a wrong type for the value itself or a wrong constant on one of its keys (a `kind`
 * tag) were not meant; of the rest, the one with fewest errors, when it is alone.
 */
function meantBranch(union: ErrorObject, errors: ErrorObject[]): ErrorObject[] | undefined {
  const count = Array.isArray(union.schema) ? union.schema.length : 0;
  const candidates: ErrorObject[][] = [];
  for (let i = 0; i < count; i++) {
    const mine = errors.filter((x) => x.schemaPath.startsWith(`${union.schemaPath}/${i}/`));
    const own = (x: ErrorObject) => x.instancePath === union.instancePath;
    const child = (x: ErrorObject) =>
      x.instancePath.startsWith(`${union.instancePath}/`) &&
      !x.instancePath.slice(union.instancePath.length + 1).includes('/');
    const mismatch = mine.some(
      (x) =>
        (own(x) && (x.keyword === 'type' || x.keyword === 'const' || x.keyword === 'enum')) ||
        (child(x) && (x.keyword === 'const' || x.keyword === 'enum')),
    );
    if (mine.length && !mismatch) candidates.push(mine);
  }
  const fewest = Math.min(...candidates.map((c) => c.length));
  const best = candidates.filter((c) => c.length === fewest);
  return best.length === 1 ? best[0] : undefined;
}

function toDiagnostic(e: ErrorObject, doc: PositionedDocument): Diagnostic {
  const at = parsePath(e.instancePath);
  const p = displayPath(at);
  const posOf = (segments: Segment[]) => placeOf(doc, segments)?.pos;
  const parent = (e.parentSchema ?? {}) as Schema;
  const got = ` (got ${show(e.data)})`;
  const params = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'required': {
      const key = params.missingProperty as string;
      const desc = parent.properties?.[key]?.description;
      return error(`missing required key '${key}'${at.length ? ` in ${p}` : ''}${desc ? ` (${desc})` : ''}`, posOf(at));
    }
    case 'additionalProperties': {
      const key = params.additionalProperty as string;
      const place = doc.places.get(toPointer([...at, key]));
      const valid = Object.keys(parent.properties ?? {});
      return error(
        `unknown key '${key}'${at.length ? ` in ${p}` : ''}${didYouMean(key, valid)} (valid: ${valid.join(', ')})`,
        place?.keyPos ?? posOf(at),
      );
    }
    case 'propertyNames': {
      const key = params.propertyName as string;
      const rule = parent.propertyNames?.description;
      return error(
        `bad name '${key}' in ${p}${rule ? `: ${rule}` : ''}`,
        doc.places.get(toPointer([...at, key]))?.keyPos ?? posOf(at),
      );
    }
    case 'minProperties':
      return error(
        `${p} must have at least ${params.limit} entr${params.limit === 1 ? 'y' : 'ies'} (got ${Object.keys(e.data ?? {}).length})`,
        posOf(at),
      );
    case 'discriminator': {
      const tag = String(params.tag);
      const values = ((parent.oneOf ?? []) as Schema[]).map((b) => String(b.properties?.[tag]?.const));
      const data = e.data as Record<string, unknown>;
      if (params.error === 'mapping') {
        const value = String(params.tagValue);
        const what = parent.title
          ? `unknown ${parent.title} ${tag} '${value}'`
          : `${p}.${tag} must be one of ${quoteList(values)} (got '${value}')`;
        return error(
          `${what}${didYouMean(value, values)}${parent.title ? ` (registered: ${quoteList(values)})` : ''}`,
          posOf([...at, tag]),
        );
      }
      if (data && typeof data === 'object' && tag in data)
        return error(`${p}.${tag} must be a string, one of ${quoteList(values)}`, posOf([...at, tag]));
      return error(`${p} needs a '${tag}': one of ${quoteList(values)}`, posOf(at));
    }
    case 'anyOf':
    case 'oneOf': {
      const branches = (Array.isArray(e.schema) ? e.schema : []) as Schema[];
      if (branches.length && branches.every((b) => b.const !== undefined))
        return oneOfValues(
          p,
          branches.map((b) => b.const),
          e.data,
          posOf(at),
        );
      const forms = [...new Set(branches.map(describeBranch))];
      return error(`${p} must be ${forms.join(' or ')}${got}`, posOf(at));
    }
    case 'enum':
      return oneOfValues(p, params.allowedValues as unknown[], e.data, posOf(at));
    case 'const':
      return error(`${p} must be ${show(params.allowedValue)}${got}`, posOf(at));
    case 'type':
      return error(`${p} must be ${String(params.type).split(',').map(describeType).join(' or ')}${got}`, posOf(at));
    case 'minItems':
    case 'maxItems':
    case 'additionalItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const bound = e.keyword === 'minItems' ? 'at least' : 'at most';
      return error(
        `${p} must have ${bound} ${params.limit} item${params.limit === 1 ? '' : 's'} (got ${n})`,
        posOf(at),
      );
    }
    case 'pattern':
      return error(`${p} must match the pattern ${params.pattern}${got}`, posOf(at));
    default:
      return error(`${p} ${(e.message ?? 'is not valid').replace(/NOT/g, 'not')}${got}`, posOf(at));
  }
}

function oneOfValues(p: string, allowed: unknown[], data: unknown, pos: Diagnostic['pos']): Diagnostic {
  const names = allowed.map(String);
  const hint = typeof data === 'string' ? didYouMean(data, names) : '';
  return error(`${p} must be one of ${allowed.map(show).join(', ')} (got ${show(data)})${hint}`, pos);
}

/** `'auto'`, `a number`, `a mapping with kind: 'l1'`, `a mapping with keys run`. */
function describeBranch(b: Schema): string {
  if (b.const !== undefined) return show(b.const);
  if (b.type !== 'object') return b.type ? describeType(String(b.type)) : 'a matching value';
  const tags = Object.entries<Schema>(b.properties ?? {}).filter(([, v]) => v.const !== undefined);
  if (tags.length) return `a mapping with ${tags.map(([k, v]) => `${k}: ${show(v.const)}`).join(', ')}`;
  return b.required?.length ? `a mapping with ${(b.required as string[]).join(', ')}` : 'a mapping';
}

function describeType(t: string): string {
  const words: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    null: 'null',
  };
  return words[t] ?? t;
}

/** A value as it would read in YAML, shortened. */
export function show(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = `'${v}'`;
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) s = String(v);
  else if (Array.isArray(v)) s = JSON.stringify(v);
  else s = 'a mapping';
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
