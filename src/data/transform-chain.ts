import { pathToFileURL } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import type { BuildContext, Component } from '../registry/component.js';
import type { FloatImage, ImageSet, Transform } from './types.js';
import { JoinedImageSet } from './image-set.js';

/** A transform as a config names it: `{type: pad-crop, pad: 4}`. */
export type TransformSection = { type: string } & Record<string, unknown>;

/** What epsilab's own transforms add to the engine's Transform so workers can rebuild them already fitted. */
export interface PipelineTransform extends Transform {
  /** Which images `fit` should see: the training split (default) or training and test together (tensorpack's per-pixel mean). */
  fitScope?: 'train' | 'train+test';
  /** What `fit` learned, as structured-clonable data. */
  fitState?(): unknown;
  loadFitState?(state: unknown): void;
}

/** The images transforms are fitted on. */
export interface FitData {
  train: ImageSet;
  test?: ImageSet;
}

/** What a worker thread needs to rebuild a fitted chain. */
export interface ChainMessage {
  sections: TransformSection[];
  states: unknown[];
  plugins: string[];
}

/** Fitted states by training set, test set and transform section, so evaluation pipelines made every epoch do not refit. */
const fitCache = new WeakMap<ImageSet, WeakMap<ImageSet, Map<string, unknown>>>();

/** The transform component of that type exported by a module, if any. */
function transformIn(mod: Record<string, unknown>, type: string): Component<'transform'> | undefined {
  return Object.values(mod).find((v): v is Component<'transform'> => {
    const c = v as Partial<Component>;
    return c?.kind === 'transform' && c.type === type;
  });
}

/**
 * A transform component: from the plugin files first, else by its built-in file (`src/components/transform/<type>.ts`,
 * one component per file). Loading by file, not through the registry, lets a worker thread rebuild it cheaply.
 */
async function loadTransformComponent(type: string, plugins: string[]): Promise<Component<'transform'>> {
  for (const file of plugins) {
    const found = transformIn(await import(pathToFileURL(file).href), type);
    if (found) return found;
  }
  if (!/^[a-z0-9-]+$/.test(type)) throw new Error(`unknown transform type ${JSON.stringify(type)}`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(`../components/transform/${type}.js`);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new Error(`unknown transform type ${type}`);
    throw err;
  }
  const found = transformIn(mod, type);
  if (!found) throw new Error(`src/components/transform/${type} exports no transform component named ${type}`);
  return found;
}

/** A transform list, built from config sections, applied in order; fitted once per data set and reusable in workers. */
export class TransformChain {
  private constructor(
    readonly sections: TransformSection[],
    readonly transforms: PipelineTransform[],
    readonly plugins: string[],
  ) {}

  /** Builds each section's component (plugin files, absolute paths, first); parameters left out take their schema defaults. */
  static async build(sections: TransformSection[], ctx: BuildContext, plugins: string[] = []): Promise<TransformChain> {
    const transforms: PipelineTransform[] = [];
    for (const section of sections) {
      const component = await loadTransformComponent(section.type, plugins);
      const { type, ...given } = section;
      const params = Value.Default(component.params, structuredClone(given));
      if (!Value.Check(component.params, params)) {
        const first = [...Value.Errors(component.params, params)][0];
        throw new Error(`transform ${type}: ${first.path || 'params'} ${first.message}`);
      }
      transforms.push((await component.build(params, ctx)) as PipelineTransform);
    }
    return new TransformChain(sections, transforms, plugins);
  }

  /** Fits transforms that learn from data (mean images, channel statistics), reusing earlier fits on the same sets. */
  fit(data: FitData): void {
    const cache = getOrSet(fitCache, data.train, () => new WeakMap());
    const states = getOrSet(cache, data.test ?? data.train, () => new Map());
    this.transforms.forEach((t, i) => {
      if (!t.fit) return;
      const key = JSON.stringify(this.sections[i]);
      if (states.has(key) && t.loadFitState) return t.loadFitState(states.get(key));
      const scope = t.fitScope === 'train+test' && data.test ? new JoinedImageSet([data.train, data.test]) : data.train;
      t.fit(scope);
      if (t.fitState) states.set(key, t.fitState());
    });
  }

  apply(img: FloatImage, rng: () => number): FloatImage {
    return this.transforms.reduce((out, t) => t.apply(out, rng), img);
  }

  outputShape(shape: [number, number, number]): [number, number, number] {
    return this.transforms.reduce((s, t) => t.outputShape(s), shape);
  }

  /** The chain for a worker, or why it cannot be sent (a fitted transform that cannot export its state). */
  message(): ChainMessage | string {
    const states: unknown[] = [];
    for (const [i, t] of this.transforms.entries()) {
      if (t.fit && !(t.fitState && t.loadFitState)) return `transform ${this.sections[i].type} cannot hand its fitted state to a worker`;
      states.push(t.fit ? t.fitState!() : undefined);
    }
    return { sections: this.sections, states, plugins: this.plugins };
  }

  static async fromMessage(msg: ChainMessage, ctx: BuildContext): Promise<TransformChain> {
    const chain = await TransformChain.build(msg.sections, ctx, msg.plugins);
    chain.transforms.forEach((t, i) => t.fit && t.loadFitState!(msg.states[i]));
    return chain;
  }
}

function getOrSet<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}
