import { KINDS, type Component } from './component.js';
import { branchSchema, type Registry } from './registry.js';
import type { Ajv, SchemaObject, ValidateFunction } from 'ajv';
import { createAjv } from './ajv.js';

/**
 * What is wrong with a component's shape or schema, in words; empty when it honours the contract: a known kind, a
 * type name, a doc, a params object schema that compiles under ajv strict with `additionalProperties: false`, a
 * description on every parameter, and defaults that satisfy their own schemas.
 */
export function conformanceProblems(c: Component, registry: Registry): string[] {
  const problems: string[] = [];
  if (!c || typeof c !== 'object') return ['not an object'];
  if (!(KINDS as readonly unknown[]).includes(c.kind))
    problems.push(`kind must be one of ${KINDS.join(', ')} (got ${String(c.kind)})`);
  if (typeof c.type !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(c.type))
    problems.push('type must be a name of letters, digits, dots, dashes or underscores');
  if (typeof c.doc !== 'string' || !c.doc.trim()) problems.push('doc must be a non-empty string');
  if (typeof c.build !== 'function') problems.push('build must be a function');
  if (c.check !== undefined && typeof c.check !== 'function') problems.push('check, when present, must be a function');
  const params = c.params as unknown as Record<string, any> | undefined;
  if (!params || params.type !== 'object' || typeof params.properties !== 'object')
    return [...problems, 'params must be an object schema (TypeBox Type.Object)'];
  if (params.additionalProperties !== false)
    problems.push('params must set additionalProperties: false, so unknown keys are reported');
  if ('type' in params.properties) problems.push("params must not declare 'type': it selects the component");
  for (const [key, prop] of Object.entries<Record<string, unknown>>(params.properties)) {
    if (typeof prop?.description !== 'string' || !prop.description)
      problems.push(`parameter '${key}' needs a description`);
  }
  if (problems.length) return problems;
  try {
    compileWithDefs(branchSchema(c), registry);
  } catch (e) {
    return [`params schema does not compile: ${(e as Error).message}`];
  }
  for (const [key, prop] of Object.entries<Record<string, unknown>>(params.properties)) {
    if (prop.default === undefined) continue;
    const validate = compileWithDefs(JSON.parse(JSON.stringify(prop)), registry, false);
    if (!validate(structuredClone(prop.default)))
      problems.push(`default of '${key}' does not satisfy its own schema: ${validate.errors?.[0]?.message}`);
  }
  return problems;
}

/** The params a config gets when it names only `type`, defaults filled in; undefined when some parameter has no default. */
export function defaultParams(c: Component, registry: Registry): Record<string, unknown> | undefined {
  const validate = compileWithDefs(branchSchema(c), registry);
  const params: Record<string, unknown> = { type: c.type };
  if (!validate(params)) return undefined;
  delete params.type;
  return params;
}

/** Every registered component with its problems: the conformance walk a test asserts is empty. */
export function walkComponents(
  registry: Registry,
): { component: Component; problems: string[]; defaults?: Record<string, unknown> }[] {
  return registry.list().map((component) => {
    const problems = conformanceProblems(component, registry);
    return { component, problems, defaults: problems.length ? undefined : defaultParams(component, registry) };
  });
}

const instances = new Map<boolean, Ajv>();

/** Compiles under the shared ajv setup (one instance per mode: creating one is costly), $defs only when referred to. */
function compileWithDefs(schema: SchemaObject, registry: Registry, useDefaults = true): ValidateFunction {
  if (!instances.has(useDefaults)) instances.set(useDefaults, createAjv({ useDefaults }));
  const withDefs = JSON.stringify(schema).includes('"$ref"') ? { $defs: registry.schema().$defs, ...schema } : schema;
  return instances.get(useDefaults)!.compile(withDefs);
}
