import { Type } from '@sinclair/typebox';
import type { SchemaObject, ValidateFunction } from 'ajv';
import { createAjv } from './ajv.js';
import { experimentFields, SECTIONS } from './experiment.js';
import { discriminateUnions } from './tagged-unions.js';
import { KINDS, type Component, type Kind } from './component.js';
import { didYouMean, quoteList } from './suggest.js';

/** Components by kind and type, and the experiment schema composed from them. Instances are immutable. */
export interface Registry {
  readonly components: readonly Component[];
  find(kind: Kind, type: string): Component | undefined;
  /** Like find, but a missing component is an error that lists the registered ones. */
  get(kind: Kind, type: string): Component;
  list(kind?: Kind): Component[];
  /** JSON Schema of an experiment config: one tagged union per kind under $defs. */
  schema(): SchemaObject;
  /** The same for partial configs (`_base` files): nothing required; a component without a type may only use keys some component of its kind has. */
  partialSchema(): SchemaObject;
  validator(partial?: boolean): ValidateFunction;
  /** URL of the module that exports this component, when it was registered with one: what a worker thread imports to rebuild it. */
  moduleOf(c: Component): string | undefined;
  /** A new registry with these components added (plugins), each with the URL of the module that exports it. */
  with(components: readonly Component[], modules?: ReadonlyMap<Component, string>): Registry;
}

export function createRegistry(
  components: Iterable<Component> | { [K in Kind]: Component<K, any, any>[] },
  modules: ReadonlyMap<Component, string> = new Map(),
): Registry {
  const all: Component[] =
    Symbol.iterator in components ? [...components] : KINDS.flatMap((k) => components[k] as Component[]);
  const byKey = new Map<string, Component>();
  for (const c of all) {
    if (byKey.has(`${c.kind}/${c.type}`)) throw new Error(`${c.kind} type '${c.type}' is registered twice`);
    byKey.set(`${c.kind}/${c.type}`, c);
  }
  const cache = new Map<string, SchemaObject | ValidateFunction>();
  const memo = <T extends SchemaObject | ValidateFunction>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  const self: Registry = {
    components: all,
    find: (kind, type) => byKey.get(`${kind}/${type}`),
    get(kind, type) {
      const c = byKey.get(`${kind}/${type}`);
      if (c) return c;
      const types = self.list(kind).map((x) => x.type);
      throw new Error(
        `no ${kind} component '${type}'${didYouMean(type, types)} (registered: ${quoteList(types) || 'none'})`,
      );
    },
    list: (kind) => (kind ? all.filter((c) => c.kind === kind) : [...all]),
    schema: () => memo('schema', () => composeSchema(self, false)),
    partialSchema: () => memo('partial', () => composeSchema(self, true)),
    validator: (partial = false) =>
      memo(`validator:${partial}`, () =>
        createAjv({ useDefaults: !partial }).compile(partial ? self.partialSchema() : self.schema()),
      ),
    moduleOf: (c) => modules.get(c),
    with: (extra, extraModules = new Map()) =>
      createRegistry([...all, ...extra], new Map([...modules, ...extraModules])),
  };
  return self;
}

/** JSON data only: TypeBox's symbol keys and undefined members dropped. */
function plain<T>(value: T): any {
  return JSON.parse(JSON.stringify(value));
}

/** A component's params as a branch of its kind's union: `type` pinned to its name, unknown keys rejected. */
export function branchSchema(c: Component): SchemaObject {
  const p = discriminateUnions(plain(c.params));
  return {
    ...p,
    title: c.type,
    description: c.doc,
    type: 'object',
    properties: { type: { const: c.type, description: `Selects this ${c.kind}.` }, ...p.properties },
    required: ['type', ...(p.required ?? [])],
    additionalProperties: false,
  };
}

function unionSchema(kind: Kind, components: Component[], partial: boolean): SchemaObject {
  const head = {
    title: kind,
    description: `A ${kind}: a mapping whose \`type\` names a registered ${kind} component.`,
    type: 'object',
  };
  const type = { type: 'string', description: `No ${kind} components are registered.` };
  if (!components.length) return { ...head, properties: { type }, ...(partial ? {} : { required: ['type'] }) };
  const union = {
    ...head,
    discriminator: { propertyName: 'type' },
    oneOf: components.map((c) => settleRequired(branchSchema(c), partial)),
  };
  if (!partial) return union;
  const anyParam = Object.fromEntries(
    ['type', ...components.flatMap((c) => Object.keys(c.params.properties))].map((k) => [k, true]),
  );
  return {
    ...head,
    if: { properties: { type: { type: 'string' } }, required: ['type'] },
    then: union,
    else: { type: 'object', properties: anyParam, additionalProperties: false },
  };
}

function sectionSchema(s: (typeof SECTIONS)[number]): SchemaObject {
  const ref = { $ref: `#/$defs/${s.kind}` };
  if (s.shape === 'one') return { ...ref, description: s.description };
  const list = (description: string) => ({ type: 'array', items: ref, default: [], description });
  if (s.shape === 'list') return list(s.description);
  if (s.shape === 'named')
    return {
      type: 'object',
      propertyNames: {
        pattern: '^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$',
        not: { const: 'train' },
        description: 'a name of letters, digits and single underscores, not train (train_error is the training error)',
      },
      additionalProperties: ref,
      minProperties: 1,
      default: s.default,
      description: s.description,
    };
  return {
    type: 'object',
    properties: {
      train: list('Applied to training images, in order.'),
      test: list('Applied to test images, in order.'),
    },
    additionalProperties: false,
    default: {},
    description: s.description,
  };
}

function composeSchema(reg: Registry, partial: boolean): SchemaObject {
  const { train, output, ...leading } = plain(Type.Object(experimentFields())).properties;
  const fieldsRequired: string[] = plain(Type.Object(experimentFields())).required ?? [];
  const extendsField = {
    anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description:
      'Config file(s) this one builds on, relative to it: mappings merge key by key, this file wins, lists replace.',
  };
  const top = settleRequired(
    {
      properties: {
        ...leading,
        extends: extendsField,
        ...Object.fromEntries(SECTIONS.map((s) => [s.key, sectionSchema(s)])),
        train,
        output,
      },
      required: [
        ...fieldsRequired,
        ...SECTIONS.filter((s) => !('optional' in s) && s.shape === 'one').map((s) => s.key),
      ],
    },
    partial,
  );
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'epsilab experiment',
    description:
      'An experiment config: what to train, on what, and how. Generated from the registered components; do not edit.',
    type: 'object',
    ...top,
    additionalProperties: false,
    $defs: Object.fromEntries(KINDS.map((k) => [k, unionSchema(k, reg.list(k), partial)])),
  };
}

/**
 * A key with a default is never missing (ajv fills it in), so it is not listed as required: editors then stay quiet.
 * Partial configs require nothing but the tags (`type`, ...) that select union branches.
 */
function settleRequired(node: any, partial: boolean): any {
  if (Array.isArray(node)) return node.map((n) => settleRequired(n, partial));
  if (!node || typeof node !== 'object') return node;
  const out: any = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, settleRequired(v, partial)]));
  if (Array.isArray(out.required) && out.properties) {
    const keep = out.required.filter((k: string) =>
      partial ? out.properties[k]?.const !== undefined : out.properties[k]?.default === undefined,
    );
    if (keep.length) out.required = keep;
    else delete out.required;
  }
  return out;
}
