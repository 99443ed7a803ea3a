import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { frameRecord, splitRecords } from './record.js';
import { EventMessage } from './schema.js';

interface DecodedEvent {
  step?: number | { toNumber(): number };
  summary?: { value?: { tag: string }[] };
}

/**
 * Rewrites the event files in `logdir` without the summary values `drop` names, each file atomically: a resumed run
 * removes what it is about to record again, so TensorBoard shows every step once. A torn last record is dropped with
 * them; a file whose records fail their CRC is left as it is and named in a warning.
 */
export function dropEvents(logdir: string, drop: (tag: string, step: number) => boolean, log: (line: string) => void) {
  if (!existsSync(logdir)) return;
  for (const name of readdirSync(logdir).filter((n) => n.startsWith('events.out.tfevents.'))) {
    const file = join(logdir, name);
    let records: Buffer[];
    let torn: number;
    try {
      ({ records, tornTailBytes: torn } = splitRecords(readFileSync(file), file));
    } catch (err) {
      log(`warning: ${(err as Error).message}; the file is left as it is`);
      continue;
    }
    let changed = torn > 0;
    const kept = records.flatMap((record) => {
      const event = EventMessage.decode(record) as DecodedEvent;
      const values = event.summary?.value;
      if (!values?.length) return [record];
      const step = typeof event.step === 'object' ? event.step.toNumber() : (event.step ?? 0);
      const keep = values.filter((v) => !drop(v.tag, step));
      if (keep.length === values.length) return [record];
      changed = true;
      if (!keep.length) return [];
      event.summary!.value = keep;
      return [Buffer.from(EventMessage.encode(event).finish())];
    });
    if (changed) writeFileAtomic(file, Buffer.concat(kept.map((r) => frameRecord(r))));
  }
}
