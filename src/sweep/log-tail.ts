import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last `lines` lines of a log file (reading at most its last `maxBytes`); '' when the file is missing. */
export function logTail(file: string, lines = 20, maxBytes = 8192): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8').replace(/\r/g, '\n').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}
