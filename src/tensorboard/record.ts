import { crc32c } from '@aws-crypto/crc32c';

/** TFRecord's masked CRC-32C: rotate right by 15 and add a constant, so CRCs of CRCs do not look like data. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of the length bytes, the data, masked CRC of the data (little-endian). */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

export interface Records {
  records: Buffer[];
  /** Bytes at the end that do not form a whole record (a write torn by a crash); earlier records are intact. */
  tornTailBytes: number;
}

/** Splits a TFRecord file into its records, checking both CRCs of every whole record. */
export function splitRecords(file: Buffer, name = 'record file'): Records {
  const records: Buffer[] = [];
  let at = 0;
  while (at + 12 <= file.length) {
    const lengthBytes = file.subarray(at, at + 8);
    if (file.readUInt32LE(at + 8) !== maskedCrc32c(lengthBytes)) {
      throw new Error(`${name}: length CRC mismatch in the record at byte ${at}`);
    }
    const length = Number(file.readBigUInt64LE(at));
    const end = at + 12 + length + 4;
    if (end > file.length) break;
    const data = file.subarray(at + 12, at + 12 + length);
    if (file.readUInt32LE(at + 12 + length) !== maskedCrc32c(data)) {
      throw new Error(`${name}: data CRC mismatch in the record at byte ${at}`);
    }
    records.push(data);
    at = end;
  }
  return { records, tornTailBytes: file.length - at };
}
