import { Type } from '@sinclair/typebox';

/** An image size: one integer for a square, or [height, width]. */
export function SizeParam(defaultValue: number | [number, number], description: string) {
  return Type.Union(
    [Type.Integer({ minimum: 1 }), Type.Array(Type.Integer({ minimum: 1 }), { minItems: 2, maxItems: 2 })],
    {
      default: defaultValue,
      description: `${description} One integer for a square, or [height, width].`,
    },
  );
}

export function toHW(size: number | number[]): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/** The shape after a transform whose output is `size` whatever its input (crops, pastes), channels kept. */
export function sizedShape(
  params: { size: number | number[] },
  [, , c]: [number, number, number],
): [number, number, number] {
  return [...toHW(params.size), c];
}

/** A [low, high] interval. */
export function RangeParam(defaultValue: [number, number], description: string, minimum = 0) {
  return Type.Array(Type.Number({ minimum }), { minItems: 2, maxItems: 2, default: defaultValue, description });
}
