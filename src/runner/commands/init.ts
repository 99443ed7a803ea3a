import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initProject, STARTER_CONFIG } from '../../app/init.js';
import { UsageError } from '../../util/errors.js';
import { EXIT, type Command } from '../command.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'Write a starter project: a config extending a shipped base, a sweep over it, a .gitignore for results',
  usage: `epsilab init [dir]

Writes into dir (default: the current folder, created if needed) configs/quickstart.yaml, which extends epsilab's
Fashion-MNIST base and trains offline on the subset that ships with epsilab; configs/sweep-lr.yaml, a sweep over its
learning rate; and a .gitignore for results/. Their yaml-language-server lines point at epsilab's JSON Schemas, so
editors complete and check them. Writes nothing when any of these files already exists.
Exit codes: 0 written, 2 a file already exists or bad usage.`,
  async run(argv) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length > 1) throw new UsageError('init takes at most one folder');
    const dir = positionals[0] ?? '.';
    for (const file of initProject(dir)) console.log(`wrote ${join(dir, file)}`);
    const cd = dir === '.' ? '' : `cd ${dir} && `;
    console.log(`next: ${cd}npx epsilab run ${STARTER_CONFIG}`);
    return EXIT.ok;
  },
};
