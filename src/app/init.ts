import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/errors.js';
import { projectRoot } from '../util/paths.js';

/** The starter config, relative to the project folder; the README and `init`'s last line name it. */
export const STARTER_CONFIG = join('configs', 'quickstart.yaml');

/** The shipped base the starter config extends, as a package path (resolved like an import). */
const BASE = 'epsilab/configs/_base/fashion-mnist-quickstart.yaml';

/** A schema file of the running epsilab as the yaml-language-server line of a file in `fileDir` names it. */
function schemaLine(fileDir: string, schema: string): string {
  const path = relative(fileDir, join(projectRoot(), 'schemas', schema))
    .split(sep)
    .join('/');
  return `# yaml-language-server: $schema=${path}`;
}

/** The starter project's files by path relative to its folder; the schema lines point into this epsilab's schemas/. */
function starterFiles(dir: string): Record<string, string> {
  const configs = join(dir, 'configs');
  return {
    [STARTER_CONFIG]: `${schemaLine(configs, 'experiment.schema.json')}
# A pre-activation ResNet-14 on the 6,000/1,000-image Fashion-MNIST subset that ships with epsilab: offline, a few
# minutes on 2 CPU cores, about 80% test accuracy.
#   npx epsilab run configs/quickstart.yaml          (its run folder lands in results/quickstart/<run-id>/)
#   npx epsilab print-config configs/quickstart.yaml (every value and the file that set it)
# Change anything below or add any section (\`npx epsilab list\` documents every component and parameter); the
# base sets the rest. \`plugins: [my-components.js]\` adds your own components.
extends: ${BASE}
experiment: quickstart
seed: 0
model: { type: preact-resnet, depth: 14 }
schedule: { type: cosine, initial: 0.1, final: 0.001 }
train: { epochs: 3 }
`,
    [join('configs', 'sweep-lr.yaml')]: `${schemaLine(configs, 'sweep.schema.json')}
# The starter config's learning rate, 2 values x 2 seeds, as local child processes one at a time.
#   npx epsilab plan configs/sweep-lr.yaml     (lists and validates the 4 trials)
#   npx epsilab sweep configs/sweep-lr.yaml    (runs them; run it again to resume)
# results/quickstart-lr/ is then a TensorBoard logdir with an HParams table.
sweep: quickstart-lr
base: quickstart.yaml
grid:
  schedule.initial: [0.05, 0.1]
seeds: [0, 1]
executor: { type: local, max_parallel: 1 }
`,
    '.gitignore': `# Run folders (checkpoints, TensorBoard logs, models): keep them out of git.
results/
node_modules/
`,
  };
}

/**
 * Writes a starter project into `dir` (created if needed): a config extending a shipped base, a sweep over it and a
 * .gitignore for results. Writes nothing when any of those files already exists. Returns the paths written.
 */
export function initProject(dir: string): string[] {
  const root = resolve(dir);
  const files = starterFiles(root);
  const taken = Object.keys(files).filter((f) => existsSync(join(root, f)));
  if (taken.length > 0)
    throw new UsageError(
      `${taken.join(', ')} already exist${taken.length === 1 ? 's' : ''} in ${root}; init writes only new files: move ${taken.length === 1 ? 'it' : 'them'} away or choose another folder`,
    );
  for (const [file, text] of Object.entries(files)) writeFileAtomic(join(root, file), text);
  return Object.keys(files);
}
