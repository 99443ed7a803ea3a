import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { histogramBuckets } from './histogram.js';
import { frameRecord } from './record.js';
import { DataClass, DataType, EventMessage } from './schema.js';

/** A TensorProto as protobufjs takes it (snake_case field names). */
export interface TensorValue {
  dtype: number;
  tensor_shape: { dim?: { size: number }[] };
  float_val?: number[];
  double_val?: number[];
  string_val?: Uint8Array[];
}

/** The plugin a summary belongs to: TensorBoard picks the dashboard by its name. */
export interface PluginInfo {
  name: string;
  content?: Uint8Array;
  dataClass: number;
}

let filesOpened = 0;

/** TensorBoard's naming; pid and a per-process counter keep parallel trials and writers apart. */
function eventFileName(): string {
  const seconds = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
  filesOpened += 1;
  return `events.out.tfevents.${seconds}.${hostname()}.${process.pid}.${filesOpened}`;
}

/**
 * Appends TensorBoard events to a new event file in `logdir`. Each event is written as one whole record at once, so
 * a crash can tear at most the last record; readers keep everything before it.
 */
export class SummaryWriter {
  readonly file: string;
  private fd: number | undefined;
  private readonly tagsDescribed = new Set<string>();

  constructor(readonly logdir: string) {
    mkdirSync(logdir, { recursive: true });
    this.file = join(logdir, eventFileName());
    this.fd = openSync(this.file, 'a');
    this.writeEvent({ file_version: 'brain.Event:2' });
  }

  scalar(tag: string, value: number, step: number): void {
    const tensor = { dtype: DataType.FLOAT, tensor_shape: {}, float_val: [value] };
    this.summary(tag, step, tensor, { name: 'scalars', dataClass: DataClass.SCALAR });
  }

  /** Markdown text; TensorBoard's text dashboard renders it. */
  text(tag: string, markdown: string, step: number): void {
    const tensor = { dtype: DataType.STRING, tensor_shape: {}, string_val: [Buffer.from(markdown, 'utf8')] };
    this.summary(tag, step, tensor, { name: 'text', dataClass: DataClass.TENSOR });
  }

  /** A histogram of `values` in `bins` equal-width buckets (non-finite values are left out). */
  histogram(tag: string, values: Float32Array, step: number, bins = 30): void {
    const rows = histogramBuckets(values, bins);
    const tensor = {
      dtype: DataType.DOUBLE,
      tensor_shape: { dim: [{ size: rows.length / 3 }, { size: 3 }] },
      double_val: Array.from(rows),
    };
    this.summary(tag, step, tensor, { name: 'histograms', dataClass: DataClass.TENSOR });
  }

  /** Any tensor summary; the plugin metadata goes on the first value of each tag only, as TensorFlow does. */
  summary(tag: string, step: number, tensor: TensorValue, plugin: PluginInfo): void {
    const value: Record<string, unknown> = { tag, tensor };
    if (!this.tagsDescribed.has(tag)) {
      this.tagsDescribed.add(tag);
      value.metadata = {
        plugin_data: { plugin_name: plugin.name, content: plugin.content ?? new Uint8Array(0) },
        data_class: plugin.dataClass,
      };
    }
    this.writeEvent({ step, summary: { value: [value] } });
  }

  /** Forces written events to disk. */
  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }

  private writeEvent(fields: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`SummaryWriter for ${this.file} is closed`);
    const data = EventMessage.encode(EventMessage.fromObject({ wall_time: Date.now() / 1000, ...fields })).finish();
    writeSync(this.fd, frameRecord(data));
  }
}
