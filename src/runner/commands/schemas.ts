import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinRegistry as registry } from '../../components/index.js';
import { sweepJsonSchema } from '../../sweep/sweep-file.js';
import { TableSpec } from '../../tables/spec.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { projectRoot } from '../../util/paths.js';
import { EXIT, type Command } from '../command.js';
import { UsageError } from '../../util/errors.js';

/** Each generated, committed JSON Schema: its file under schemas/ and how to make it. Others add their file kinds here. */
export const SCHEMA_FILES: { file: string; schema: () => object }[] = [
  { file: 'experiment.schema.json', schema: () => registry.schema() },
  { file: 'table.schema.json', schema: () => TableSpec },
  { file: 'sweep.schema.json', schema: () => sweepJsonSchema() },
];

export function schemaText(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

export const schemasCommand: Command = {
  name: 'schemas',
  summary: 'Generate the JSON Schemas in schemas/ from the registered components (--write, --check)',
  usage: `epsilab schemas [--write | --check]

The JSON Schemas (${SCHEMA_FILES.map((s) => s.file).join(', ')}) are generated from the code and committed, so
editors complete and check configs. Without options, prints the experiment schema.

Options:
  --write   write every schema file under schemas/
  --check   compare the committed files with freshly generated ones
Exit codes: 0 written or up to date, 1 --check found a stale file, 2 bad usage.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { write: { type: 'boolean', default: false }, check: { type: 'boolean', default: false } },
    });
    if (positionals.length) throw new UsageError('schemas takes no arguments');
    if (values.write && values.check) throw new UsageError('use either --write or --check');
    const dir = join(projectRoot(), 'schemas');
    if (!values.write && !values.check) {
      process.stdout.write(schemaText(SCHEMA_FILES[0].schema()));
      return EXIT.ok;
    }
    let stale = 0;
    for (const { file, schema } of SCHEMA_FILES) {
      const target = join(dir, file);
      const text = schemaText(schema());
      const shown = relative(process.cwd(), target) || target;
      if (values.write) {
        mkdirSync(dir, { recursive: true });
        writeFileAtomic(target, text);
        console.log(`wrote ${shown}`);
      } else if (!existsSync(target) || readFileSync(target, 'utf8') !== text) {
        stale++;
        console.error(`${shown} is out of date: run \`npx epsilab schemas --write\` and commit it`);
      } else console.log(`ok ${shown}`);
    }
    return stale ? EXIT.failed : EXIT.ok;
  },
};
