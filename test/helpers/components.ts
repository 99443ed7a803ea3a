import * as tf from '@tensorflow/tfjs-core';
import { Value } from '@sinclair/typebox/value';
import type { BuildContext, Component } from '../../src/registry/component.js';
import { builtinRegistry } from '../../src/components/index.js';
import { resolveTransforms, type ResolvedTransform, type TransformSection } from '../../src/data/transform-chain.js';

/** A build context for components that need no dataset facts; `logs` collects what they log. */
export function context(configDir: string, logs: string[] = []): BuildContext {
  return { tf, seed: 0, configDir, facts: {}, log: (line) => logs.push(line) };
}

/** Builds a component as the config layer would: given params completed with the schema's defaults. */
export async function build<T>(
  component: Component<any, any, any>,
  params: Record<string, unknown>,
  ctx: BuildContext,
): Promise<T> {
  const full = Value.Default(component.params, structuredClone(params));
  if (!Value.Check(component.params, full))
    throw new Error(
      `invalid test params for ${component.type}: ${[...Value.Errors(component.params, full)][0].message}`,
    );
  return (await component.build(full, ctx)) as T;
}

/** Transform sections resolved through the built-in registry, as a config's would be. */
export function resolve(sections: TransformSection[]): ResolvedTransform[] {
  return resolveTransforms(builtinRegistry, sections);
}
