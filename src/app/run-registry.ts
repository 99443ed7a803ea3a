import { builtinRegistry } from '../components/index.js';
import { withPluginModules } from '../config/plugins.js';
import type { Registry } from '../registry/registry.js';
import { readEnv, readRunConfig } from '../run/run-folder.js';
import { UsageError } from '../util/errors.js';

/** The components a run was trained with: the built-in ones plus the plugin modules its env.json recorded. */
export async function runRegistry(runDir: string): Promise<Registry> {
  const config = readRunConfig(runDir);
  if (!config.plugins?.length) return builtinRegistry;
  const recorded = readEnv(runDir)?.plugins;
  if (!recorded?.length)
    throw new UsageError(
      `${runDir} was trained with plugins (${config.plugins.join(', ')}) by an epsilab that did not record their files: run its config again (epsilab run <config>)`,
    );
  return withPluginModules(recorded, builtinRegistry);
}
