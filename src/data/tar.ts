import { InputError } from '../util/errors.js';

/** One regular file of a tar archive. */
export interface TarEntry {
  name: string;
  data: Uint8Array;
}

/** A header's checksum field: the sum of its 512 bytes with the checksum field itself read as spaces. */
function headerChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

/**
 * Lists the regular files of an uncompressed tar archive (ustar, GNU long names, pax path records). A header whose
 * checksum fails, or a member cut short by the end of the archive, is an InputError naming `source`.
 */
export function readTar(bytes: Uint8Array, source = 'tar archive'): TarEntry[] {
  const text = (from: number, len: number) => {
    const slice = bytes.subarray(from, from + len);
    const end = slice.indexOf(0);
    return new TextDecoder().decode(end < 0 ? slice : slice.subarray(0, end));
  };
  const entries: TarEntry[] = [];
  let longName: string | null = null;
  for (let pos = 0; pos + 512 <= bytes.length; ) {
    const header = bytes.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    const recorded = parseInt(text(pos + 148, 8).trim(), 8);
    if (recorded !== headerChecksum(header))
      throw new InputError(
        `${source}: the tar header at byte ${pos} is damaged (checksum ${headerChecksum(header)}, recorded ${text(pos + 148, 8).trim() || 'none'}): replace the archive`,
      );
    const size = parseInt(text(pos + 124, 12).trim() || '0', 8);
    if (pos + 512 + size > bytes.length) {
      throw new InputError(
        `${source}: member ${text(pos, 100)} declares ${size} bytes but the archive ends ${bytes.length - pos - 512} bytes after its header (truncated): replace the archive`,
      );
    }
    const type = String.fromCharCode(bytes[pos + 156] || 0x30);
    const prefix = text(pos + 257, 6) === 'ustar' ? text(pos + 345, 155) : '';
    const data = bytes.subarray(pos + 512, pos + 512 + size);
    const name = longName ?? (prefix ? `${prefix}/${text(pos, 100)}` : text(pos, 100));
    longName = null;
    if (type === 'L') longName = text(pos + 512, size);
    else if (type === 'x') longName = paxPath(new TextDecoder().decode(data));
    else if (type === '0' || type === '7') entries.push({ name, data });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** The `path` record of a pax extended header ("<len> path=<value>\n" records), if any. */
function paxPath(records: string): string | null {
  for (const line of records.split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return null;
}
