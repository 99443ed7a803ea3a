import { readFileSync } from 'node:fs';
import { splitRecords } from './record.js';
import { DataType, EventMessage, HParamsPluginDataMessage } from './schema.js';

export interface TensorRecord {
  dtype?: number;
  tensor_shape?: { dim?: { size: number }[] };
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  string_val?: Uint8Array[];
}

export interface SummaryValueRecord {
  tag: string;
  metadata?: { plugin_data?: { plugin_name?: string; content?: Uint8Array }; data_class?: number };
  simple_value?: number;
  tensor?: TensorRecord;
}

export interface EventRecord {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value?: SummaryValueRecord[] };
}

export interface EventFile {
  events: EventRecord[];
  /** Bytes after the last whole record (a write torn by a crash). */
  tornTailBytes: number;
}

export interface ScalarPoint {
  step: number;
  value: number;
  wall_time: number;
}

/** Reads an event file, checking both CRCs of every record; a torn last record is reported, not fatal. */
export function readEvents(file: string): EventFile {
  const { records, tornTailBytes } = splitRecords(readFileSync(file), file);
  const events = records.map((r) => EventMessage.toObject(EventMessage.decode(r), { longs: Number }) as EventRecord);
  return { events, tornTailBytes };
}

/** Every scalar series in a file by tag. The plugin is named on a tag's first value only, so it is remembered. */
export function readScalars(file: string): Map<string, ScalarPoint[]> {
  const pluginOf = new Map<string, string>();
  const series = new Map<string, ScalarPoint[]>();
  for (const event of readEvents(file).events) {
    for (const value of event.summary?.value ?? []) {
      const plugin = value.metadata?.plugin_data?.plugin_name;
      if (plugin !== undefined && !pluginOf.has(value.tag)) pluginOf.set(value.tag, plugin);
      if (value.simple_value === undefined && pluginOf.get(value.tag) !== 'scalars') continue;
      const scalar = scalarOf(value);
      if (scalar === undefined) continue;
      const points = series.get(value.tag) ?? [];
      points.push({ step: event.step ?? 0, value: scalar, wall_time: event.wall_time });
      series.set(value.tag, points);
    }
  }
  return series;
}

/** The number in a scalar summary, in any of the forms writers use (TensorFlow itself writes tensor_content). */
export function scalarOf(value: SummaryValueRecord): number | undefined {
  if (value.simple_value !== undefined) return value.simple_value;
  const t = value.tensor;
  if (!t) return undefined;
  if (t.float_val?.length) return t.float_val[0];
  if (t.double_val?.length) return t.double_val[0];
  const bytes = t.tensor_content ? Buffer.from(t.tensor_content) : undefined;
  if (t.dtype === DataType.FLOAT && bytes && bytes.length >= 4) return bytes.readFloatLE(0);
  if (t.dtype === DataType.DOUBLE && bytes && bytes.length >= 8) return bytes.readDoubleLE(0);
  return undefined;
}

/** The HParamsPluginData of an hparams summary value, decoded (snake_case, enums as numbers). */
export function hparamsOf(value: SummaryValueRecord): Record<string, unknown> | undefined {
  const data = value.metadata?.plugin_data;
  if (data?.plugin_name !== 'hparams' || !data.content) return undefined;
  return HParamsPluginDataMessage.toObject(HParamsPluginDataMessage.decode(data.content), { longs: Number });
}
