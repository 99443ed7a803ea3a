import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { InputError } from './errors.js';

/** A path that had to be a regular file and is not (a device, a FIFO, a folder), or one too large to read. */
export class UnreadableFileError extends InputError {
  override name = 'UnreadableFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * The bytes of a regular file of at most `maxBytes`. Anything else where a file is expected (a symbolic link to
 * /dev/zero, a FIFO, a folder) is refused before a byte is read: it would never end, or block. Opened without
 * blocking, so a FIFO without a writer is refused too.
 */
export function readRegularFile(path: string, maxBytes: number, raise: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableFileError(path, `is not a regular file (${kindOf(st)}): give a regular file`);
    if (st.size > maxBytes)
      throw new UnreadableFileError(
        path,
        `${(st.size / 2 ** 20).toFixed(1)} MB, more than the ${(maxBytes / 2 ** 20).toLocaleString('en')} MB epsilab reads from such a file: ${raise}`,
      );
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
