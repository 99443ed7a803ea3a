import { parseArgs } from 'node:util';
import { KINDS, type Component, type Kind } from '../../registry/component.js';
import { builtinRegistry as registry } from '../../components/index.js';
import { SECTIONS } from '../../registry/experiment.js';
import { didYouMean } from '../../registry/suggest.js';
import { EXIT, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

export const listCommand: Command = {
  name: 'list',
  summary: 'List the registered components with their docs and parameters',
  usage: `epsilab list [kind]

Prints every registered component (or those of one kind: ${KINDS.join(', ')}) with its doc and a table of its
parameters: name, type, default and description. A parameter with no default must be given.
Exit codes: 0 listed, 2 unknown kind.`,
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new UsageError('list takes at most one kind');
    const kind = positionals[0] === undefined ? undefined : kindOf(positionals[0]);
    const blocks = (kind ? [kind] : KINDS).flatMap((k) => registry.list(k).map(describe));
    console.log(blocks.join('\n\n') || `no ${kind} components are registered`);
    return EXIT.ok;
  },
};

/** A kind by its name or its section's name (`models`, `transforms`, `callbacks`). */
function kindOf(name: string): Kind {
  const bySection = SECTIONS.find((s) => s.key === name)?.kind;
  const found = bySection ?? KINDS.find((k) => k === name || `${k}s` === name);
  if (!found)
    throw new UsageError(`unknown kind '${name}'${didYouMean(name, [...KINDS])} (kinds: ${KINDS.join(', ')})`);
  return found;
}

function describe(c: Component): string {
  const schema = JSON.parse(JSON.stringify(c.params)) as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const rows = Object.entries(schema.properties).map(([name, p]) => [
    name,
    typeName(p),
    p.default !== undefined ? JSON.stringify(p.default) : schema.required?.includes(name) ? '(required)' : '(optional)',
    String(p.description ?? ''),
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 0));
  const table = rows.map((r) => `    ${r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join('  ')}`);
  return [`${c.kind} ${c.type}`, `    ${c.doc}`, ...(rows.length ? ['', ...table] : [])].join('\n');
}

/** A schema's type in a few characters: integer, number, 'a'|'b', list of [integer, number], model, ... */
function typeName(s: Record<string, any>): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join('|');
  if (s.anyOf) return s.anyOf.map(typeName).join('|');
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!;
  if (s.type === 'array')
    return Array.isArray(s.items)
      ? `[${s.items.map(typeName).join(', ')}]`
      : s.items
        ? `list of ${typeName(s.items)}`
        : 'list';
  if (s.type === 'object') return 'mapping';
  return String(s.type ?? 'any');
}
