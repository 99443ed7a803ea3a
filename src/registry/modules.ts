/**
 * Imports a module by a URL known only at run time: the one place src/ does so (a config's plugins, and a worker
 * thread finding a registered component again in its module). The layer check allows it nowhere else.
 */
export async function importModule(url: string): Promise<Record<string, unknown>> {
  return (await import(url)) as Record<string, unknown>;
}

/** A module's exports that look like components (objects with kind and type; arrays of them too), by export name. */
export function componentExports(mod: Record<string, unknown>): (readonly [string, unknown])[] {
  const exported = Object.entries(mod).flatMap(([name, v]) =>
    Array.isArray(v) ? v.map((x, j) => [`${name}[${j}]`, x] as const) : [[name, v] as const],
  );
  return exported.filter(([, v]) => v && typeof v === 'object' && 'kind' in v && 'type' in v);
}
