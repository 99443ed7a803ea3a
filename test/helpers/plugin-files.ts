/**
 * A plugin module's source as a user writes one without any dependency: a transform `invert` (v → max − v) whose
 * params are plain JSON Schema.
 */
export const INVERT_PLUGIN = `export const invert = { kind: 'transform', type: 'invert', doc: 'Maps each pixel v to max - v.',
  params: { type: 'object', properties: { max: { type: 'number', default: 255, description: 'The largest pixel value.' } }, additionalProperties: false },
  build: (p) => ({ apply: (img) => ({ ...img, data: img.data.map((v) => p.max - v) }), outputShape: (s) => s }) };
`;
