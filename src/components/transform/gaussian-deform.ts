import { Type } from '@sinclair/typebox';
import { defineComponent } from '../../registry/component.js';
import type { FloatImage, Transform } from '../../data/types.js';
import { blank } from '../../data/image-ops.js';

/** Per-pixel Gaussian weight of each anchor: exp(−((y/H − ay)² + (x/W − ax)²)/sigma), K values per pixel. */
function anchorWeights(h: number, w: number, anchors: number[][], sigma: number): Float32Array {
  const k = anchors.length;
  const out = new Float32Array(h * w * k);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      anchors.forEach(([ay, ax], j) => {
        const dy = y / h - ay;
        const dx = x / w - ax;
        out[(y * w + x) * k + j] = Math.exp(-(dx * dx + dy * dy) / sigma);
      });
    }
  }
  return out;
}

export const gaussianDeform = defineComponent({
  kind: 'transform',
  type: 'gaussian-deform',
  doc: 'Smooth random warp (tensorpack GaussianDeform): each anchor gets a random (dy, dx) offset in [−max_offset, max_offset]; every pixel samples the source at its position plus the Gaussian-weighted sum of the offsets, bilinearly, clamped at the border. Defaults are the ε-ResNet SVHN settings.',
  params: Type.Object(
    {
      anchors: Type.Array(Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: 2, maxItems: 2 }), {
        minItems: 1,
        default: [
          [0.2, 0.2],
          [0.2, 0.8],
          [0.8, 0.8],
          [0.8, 0.2],
        ],
        description: 'Anchor centres as [y, x] fractions of the image size.',
      }),
      sigma: Type.Number({
        exclusiveMinimum: 0,
        default: 0.2,
        description: 'Width of each anchor’s Gaussian (in squared fractions of the image size).',
      }),
      max_offset: Type.Number({
        minimum: 0,
        default: 3,
        description: 'Largest anchor offset in pixels (tensorpack randrange).',
      }),
    },
    { additionalProperties: false },
  ),
  outputShape: (_params, shape) => shape,
  build(params): Transform {
    const k = params.anchors.length;
    const weightsByShape = new Map<string, Float32Array>();
    return {
      apply(img: FloatImage, rng) {
        const { height: h, width: w, channels: c } = img;
        const key = `${h}x${w}`;
        let gw = weightsByShape.get(key);
        if (!gw) weightsByShape.set(key, (gw = anchorWeights(h, w, params.anchors, params.sigma)));
        const v = Array.from({ length: 2 * k }, () => (rng() - 0.5) * 2 * params.max_offset);
        const out = blank(h, w, c);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            let sy = y;
            let sx = x;
            for (let j = 0; j < k; j++) {
              sy += gw[(y * w + x) * k + j] * v[2 * j];
              sx += gw[(y * w + x) * k + j] * v[2 * j + 1];
            }
            sy = Math.min(h - 1, Math.max(0, sy));
            sx = Math.min(w - 1, Math.max(0, sx));
            const y0 = Math.floor(sy);
            const x0 = Math.floor(sx);
            const y1 = Math.min(y0 + 1, h - 1);
            const x1 = Math.min(x0 + 1, w - 1);
            const fy = sy - y0;
            const fx = sx - x0;
            for (let ch = 0; ch < c; ch++) {
              const at = (yy: number, xx: number) => img.data[(yy * w + xx) * c + ch];
              out.data[(y * w + x) * c + ch] =
                at(y0, x0) * (1 - fx) * (1 - fy) +
                at(y1, x1) * fx * fy +
                at(y0, x1) * (1 - fy) * fx +
                at(y1, x0) * fy * (1 - fx);
            }
          }
        }
        return out;
      },
      outputShape: (shape) => shape,
    };
  },
});
