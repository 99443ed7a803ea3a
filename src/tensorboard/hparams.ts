import { HParamsPluginDataMessage, DataClass, DataType } from './schema.js';
import { SummaryWriter } from './writer.js';

/** A value of one hyperparameter in one session. */
export type HParamValue = number | string | boolean;

export interface HParamSpec {
  name: string;
  type: 'number' | 'string' | 'boolean';
  /** An interval for numbers, or the list of values the sweep takes. */
  domain?: { min: number; max: number } | HParamValue[];
}

export interface MetricSpec {
  /** The scalar tag. */
  tag: string;
  /** The run holding the scalar, relative to the session's run: '' when the same folder. */
  group?: string;
}

export type SessionStatus = 'success' | 'failure' | 'running';

const TYPE_CODES = { string: 1, boolean: 2, number: 3 } as const;
const STATUS_CODES: Record<SessionStatus, number> = { success: 1, failure: 2, running: 3 };

/** The hparams plugin's tags begin with this; they describe a sweep's trial, not its training. */
export const HPARAMS_TAG_PREFIX = '_hparams_/';

/** Where hparams records go: a folder (a new event file is made there) or an open writer. */
export type Target = string | SummaryWriter;

/** The sweep's experiment: the columns of TensorBoard's HParams table. Written once, in the sweep's root folder. */
export function writeExperiment(
  target: Target,
  spec: { hparams: HParamSpec[]; metrics: MetricSpec[]; timeCreated?: Date },
): void {
  const hparam_infos = spec.hparams.map((h) => ({
    name: h.name,
    type: TYPE_CODES[h.type],
    ...(Array.isArray(h.domain) ? { domain_discrete: { values: h.domain.map(structValue) } } : {}),
    ...(h.domain && !Array.isArray(h.domain)
      ? { domain_interval: { min_value: h.domain.min, max_value: h.domain.max } }
      : {}),
  }));
  const metric_infos = spec.metrics.map((m) => ({ name: { group: m.group ?? '', tag: m.tag } }));
  const time_created_secs = (spec.timeCreated ?? new Date()).getTime() / 1000;
  writeRecord(target, `${HPARAMS_TAG_PREFIX}experiment`, {
    experiment: { hparam_infos, metric_infos, time_created_secs },
  });
}

/** One trial's hyperparameter values; trials with the same `group` are seeds of one configuration. */
export function writeSessionStart(
  target: Target,
  session: { hparams: Record<string, HParamValue>; group?: string; startTime?: Date },
): void {
  const hparams = Object.fromEntries(Object.entries(session.hparams).map(([k, v]) => [k, structValue(v)]));
  const start_time_secs = (session.startTime ?? new Date()).getTime() / 1000;
  writeRecord(target, `${HPARAMS_TAG_PREFIX}session_start_info`, {
    session_start_info: { hparams, group_name: session.group ?? '', start_time_secs },
  });
}

/** How the trial ended. */
export function writeSessionEnd(target: Target, session: { status: SessionStatus; endTime?: Date }): void {
  const end_time_secs = (session.endTime ?? new Date()).getTime() / 1000;
  writeRecord(target, `${HPARAMS_TAG_PREFIX}session_end_info`, {
    session_end_info: { status: STATUS_CODES[session.status], end_time_secs },
  });
}

function structValue(v: HParamValue): Record<string, HParamValue> {
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  return { bool_value: v };
}

function writeRecord(target: Target, tag: string, data: Record<string, unknown>): void {
  const content = HParamsPluginDataMessage.encode(
    HParamsPluginDataMessage.fromObject({ version: 0, ...data }),
  ).finish();
  const writer = typeof target === 'string' ? new SummaryWriter(target) : target;
  // The hparams plugin's "null tensor": float32 of shape [0]; the payload is in the metadata.
  const tensor = { dtype: DataType.FLOAT, tensor_shape: { dim: [{ size: 0 }] } };
  writer.summary(tag, 0, tensor, { name: 'hparams', content, dataClass: DataClass.TENSOR });
  if (typeof target === 'string') writer.close();
}
