type Schema = Record<string, any>;

/**
 * Rewrites every `anyOf` of objects that share a constant-valued required key (TypeBox unions of
 * `{kind: Literal(...), ...}`) as `oneOf` with an ajv `discriminator` on that key: ajv then checks only the branch
 * the key selects, so errors come from that branch and defaults inside it are applied (ajv ignores defaults in a
 * plain anyOf). A hand-written discriminator gets the `type: object` ajv strict asks for. The input is not modified.
 */
export function discriminateUnions(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(discriminateUnions);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, discriminateUnions(v)]));
  if (out.discriminator && out.type === undefined) out.type = 'object';
  const tag = Array.isArray(out.anyOf) ? tagOf(out.anyOf) : undefined;
  if (!tag) return out;
  const { anyOf, ...rest } = out;
  return { ...rest, type: 'object', discriminator: { propertyName: tag }, oneOf: anyOf };
}

/** The key every branch pins to a distinct string constant and requires, if there is one. */
function tagOf(branches: Schema[]): string | undefined {
  if (branches.length < 2 || !branches.every((b) => b?.type === 'object' && b.properties)) return undefined;
  const keys = Object.keys(branches[0].properties).filter((k) =>
    branches.every(
      (b) => typeof b.properties[k]?.const === 'string' && Array.isArray(b.required) && b.required.includes(k),
    ),
  );
  return keys.find((k) => new Set(branches.map((b) => b.properties[k].const)).size === branches.length);
}
