import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

let counter = 0;

/** A temporary name beside `path`, unique to this process, so a rename onto `path` is atomic. */
export function tempPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

/**
 * Test hook: EPSILAB_TEST_DISK_FULL_AFTER=<bytes> makes every write through this module fail with ENOSPC once this
 * process has written that many bytes through it, as a full disk would (the fault-injection tests use it where no
 * small filesystem can be mounted). Unset, it costs one comparison per write.
 */
const diskFullAfter =
  process.env.EPSILAB_TEST_DISK_FULL_AFTER === undefined ? Infinity : Number(process.env.EPSILAB_TEST_DISK_FULL_AFTER);
let bytesWritten = 0;

/**
 * Test hook: EPSILAB_TEST_KILL_IN=<text>:<n> kills this process (SIGKILL) halfway through its n-th write to a file
 * whose path contains <text>, as a power cut mid-write would: the fault-injection tests use it to land inside a
 * checkpoint write or a metrics append exactly.
 */
const killIn = /^(.+):(\d+)$/.exec(process.env.EPSILAB_TEST_KILL_IN ?? '');
let killInCount = 0;

/** writeSync of all of `bytes`, honouring the test hooks (a partial write first, as a real full disk or a crash does). */
function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  if (killIn && path.includes(killIn[1]) && ++killInCount === Number(killIn[2])) {
    writeSync(fd, bytes, 0, Math.floor(bytes.length / 2));
    process.kill(process.pid, 'SIGKILL');
  }
  let off = 0;
  while (off < bytes.length) {
    const room = diskFullAfter - bytesWritten;
    if (room <= 0)
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), {
        code: 'ENOSPC',
        syscall: 'write',
        path,
      });
    const n = writeSync(fd, bytes, off, Math.min(bytes.length - off, room));
    off += n;
    bytesWritten += n;
  }
}

/** A failed write names its file: Node's ENOSPC says only "write". */
function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.path === undefined) {
    e.message = `${e.message} '${path}'`;
    e.path = path;
  }
  return err;
}

/** Write a file so that readers see either the old content or the new, never a torn one. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, path);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw withPath(err, path);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Append one line and flush it to disk. A crash or a full disk can leave a torn last line (no newline): readers of
 * append-only files treat an unterminated last line as never written.
 */
export function appendLineDurable(path: string, line: string): void {
  try {
    const fd = openSync(path, 'a');
    try {
      writeAll(fd, Buffer.from(line + '\n', 'utf8'), path);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw withPath(err, path);
  }
}
