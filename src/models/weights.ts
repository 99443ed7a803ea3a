import type * as tfc from '@tensorflow/tfjs-core';
import type { NamedVariable } from './types.js';

/**
 * Assigns every target variable the source value of the same name: a plain student from its teacher, a compressed model
 * from its remapped weights. A target name the source lacks or a shape mismatch is an error; returns the source names no
 * target took (the teacher's downsample branches, for a plain student).
 */
export function assignByName(target: readonly NamedVariable[], source: ReadonlyMap<string, tfc.Tensor>): string[] {
  const missing = target.filter((v) => !source.has(v.name)).map((v) => v.name);
  if (missing.length > 0) throw new Error(`no source value for ${missing.join(', ')}`);
  for (const v of target) {
    const value = source.get(v.name)!;
    if (value.shape.join('x') !== v.variable.shape.join('x')) {
      throw new Error(`${v.name}: source shape [${value.shape}] differs from [${v.variable.shape}]`);
    }
  }
  for (const v of target) v.variable.assign(source.get(v.name)!);
  const taken = new Set(target.map((v) => v.name));
  return [...source.keys()].filter((k) => !taken.has(k));
}

/** A model's variables as a name → tensor map, for `assignByName` and `remapWeights`. */
export function variableMap(vars: readonly NamedVariable[]): Map<string, tfc.Tensor> {
  return new Map(vars.map((v) => [v.name, v.variable as tfc.Tensor]));
}
