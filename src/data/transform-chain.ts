import type { Ajv, ValidateFunction } from 'ajv';
import type { BuildContext, Component } from '../registry/component.js';
import { branchSchema, type Registry } from '../registry/registry.js';
import { createAjv } from '../registry/ajv.js';
import { componentExports, importModule } from '../registry/modules.js';
import type { FloatImage, ImageSet, Transform } from './types.js';
import { JoinedImageSet, toBgr } from './image-set.js';
import { applyGeometry, checkGeometry, geometrySize, planNative, type GeometryOp } from './geometry.js';
import { decodeNative, imageSize, type SharpModule } from './native-image.js';
import { DamagedImageError } from './decode-image.js';
import { toFloat } from './image-ops.js';
import type { Fusable } from './fast-jpeg.js';

/** A transform as a config names it: `{type: pad-crop, pad: 4}`. */
export type TransformSection = { type: string } & Record<string, unknown>;

/** What epsilab's own transforms add to the engine's Transform so workers can rebuild them already fitted. */
export interface PipelineTransform extends Transform {
  /** Which images `fit` should see: the training split (default) or training and test together (tensorpack's per-pixel mean). */
  fitScope?: 'train' | 'train+test';
  /** What `fit` learned, as structured-clonable data. */
  fitState?(): unknown;
  loadFitState?(state: unknown): void;
  /** For transforms that only crop and resize: the steps for an image of that size, drawing from `rng` as `apply` does. */
  geometry?(height: number, width: number, rng: () => number): GeometryOp[];
  /** For colour, flip and normalisation steps: the step the JPEG fast path runs natively, drawn as `apply` draws. */
  fused?: Fusable;
}

/** The images transforms are fitted on. */
export interface FitData {
  train: ImageSet;
  test?: ImageSet;
}

/** A config's transform section with the component it names, resolved through the registry that validated the config (plugins included). */
export interface ResolvedTransform {
  section: TransformSection;
  component: Component<'transform'>;
  /** URL of the module that exports the component, which a worker thread imports; absent when it was registered without one. */
  module?: string;
}

/** Resolves each section through the registry (built-ins and the config's plugins alike). */
export function resolveTransforms(registry: Registry, sections: TransformSection[]): ResolvedTransform[] {
  return sections.map((section) => {
    const component = registry.get('transform', section.type) as Component<'transform'>;
    return { section, component, module: registry.moduleOf(component) };
  });
}

/** What a worker thread needs to rebuild a fitted chain: each section, the module its component comes from, and fitted states. */
export interface ChainMessage {
  sections: TransformSection[];
  modules: string[];
  states: unknown[];
}

/** Fitted states by training set, test set and transform section, so evaluation pipelines made every epoch do not refit. */
const fitCache = new WeakMap<ImageSet, WeakMap<ImageSet, Map<string, unknown>>>();

let ajv: Ajv | null = null;
const validators = new WeakMap<Component, ValidateFunction>();

/** The validator of a component's section, defaults filled in, as the config layer checks it (plain JSON Schema params included). */
function validatorFor(c: Component): ValidateFunction {
  let v = validators.get(c);
  if (!v) validators.set(c, (v = (ajv ??= createAjv({ useDefaults: true })).compile(branchSchema(c))));
  return v;
}

/** The component a registry resolved, found again in its module by a worker thread. */
async function importTransform(module: string, type: string): Promise<Component<'transform'>> {
  const exported = componentExports(await importModule(module)).map(([, v]) => v);
  const found = exported.find((v): v is Component<'transform'> => {
    const c = v as Partial<Component> | null;
    return c?.kind === 'transform' && c.type === type;
  });
  if (!found) throw new Error(`${module} no longer exports the transform component ${type}`);
  return found;
}

/** A transform list, built from config sections, applied in order; fitted once per data set and reusable in workers. */
export class TransformChain {
  private constructor(
    readonly resolved: ResolvedTransform[],
    readonly transforms: PipelineTransform[],
  ) {}

  get sections(): TransformSection[] {
    return this.resolved.map((r) => r.section);
  }

  /** Builds each resolved section's component; parameters left out take their schema defaults. */
  static async build(resolved: ResolvedTransform[], ctx: BuildContext): Promise<TransformChain> {
    const transforms: PipelineTransform[] = [];
    for (const { section, component } of resolved) {
      const params = structuredClone(section);
      const validate = validatorFor(component);
      if (!validate(params)) {
        const first = validate.errors![0];
        throw new Error(`transform ${section.type}: ${first.instancePath || 'params'} ${first.message}`);
      }
      const { type: _type, ...own } = params;
      transforms.push((await component.build(own as never, ctx)) as PipelineTransform);
    }
    return new TransformChain(resolved, transforms);
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

  /**
   * The chain applied to an encoded image: the leading crops and resizes fold into native decoding (libvips), the
   * rest runs on the decoded pixels. Random draws happen in the order `apply` makes them, so both paths crop the same windows.
   */
  async applyEncoded(
    sharp: SharpModule,
    bytes: Buffer,
    file: string,
    channels: number,
    rng: () => number,
    bgr = false,
  ): Promise<FloatImage> {
    const size = imageSize(bytes);
    if (!size) throw new DamagedImageError(file, 'no JPEG frame header or PNG header found');
    let [h, w] = [size.height, size.width];
    const ops: GeometryOp[] = [];
    let head = 0;
    for (; head < this.transforms.length && this.transforms[head].geometry; head++) {
      const steps = this.transforms[head].geometry!(h, w, rng);
      checkGeometry(steps, h, w);
      ops.push(...steps);
      [h, w] = geometrySize(steps, h, w);
    }
    const { plan, rest } = planNative(ops, size.height, size.width);
    const raw = await decodeNative(sharp, bytes, file, plan, channels);
    const img = applyGeometry(toFloat(bgr ? toBgr(raw) : raw), rest);
    return this.transforms.slice(head).reduce((out, t) => t.apply(out, rng), img);
  }

  outputShape(shape: [number, number, number]): [number, number, number] {
    return this.transforms.reduce((s, t) => t.outputShape(s), shape);
  }

  /** The chain for a worker, or why it cannot be sent (a component registered without its module, a fitted transform that cannot export its state). */
  message(): ChainMessage | string {
    const states: unknown[] = [];
    const modules: string[] = [];
    for (const [i, t] of this.transforms.entries()) {
      const { section, module } = this.resolved[i];
      if (!module)
        return `transform ${section.type} was registered without its module, which a worker thread would import`;
      if (t.fit && !(t.fitState && t.loadFitState))
        return `transform ${section.type} cannot hand its fitted state to a worker`;
      modules.push(module);
      states.push(t.fit ? t.fitState!() : undefined);
    }
    return { sections: this.sections, modules, states };
  }

  static async fromMessage(msg: ChainMessage, ctx: BuildContext): Promise<TransformChain> {
    const resolved: ResolvedTransform[] = [];
    for (const [i, section] of msg.sections.entries())
      resolved.push({
        section,
        component: await importTransform(msg.modules[i], section.type),
        module: msg.modules[i],
      });
    const chain = await TransformChain.build(resolved, ctx);
    chain.transforms.forEach((t, i) => t.fit && t.loadFitState!(msg.states[i]));
    return chain;
  }
}

function getOrSet<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}
