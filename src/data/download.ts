import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readTar } from './tar.js';
import { gunzipFile } from './gzip.js';
import { InputError } from '../util/errors.js';

/** How long to wait for a server to answer before giving up (ms). */
const CONNECT_TIMEOUT_MS = 20_000;

/** Downloads `url` to `dest` (through a temporary name), checking its MD5; throws on any failure. */
export async function downloadFile(url: string, dest: string, md5: string, log: (line: string) => void): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CONNECT_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const offline = cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN';
    const why = controller.signal.aborted
      ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`
      : offline
        ? `cannot resolve the host (offline?)`
        : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new Error(`${url}: ${why}`);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
  const size = Number(response.headers.get('content-length') ?? 0);
  log(`downloading ${url}${size ? ` (${(size / 1e6).toFixed(1)} MB)` : ''}`);
  const hash = createHash('md5');
  const part = `${dest}.part-${process.pid}`;
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  try {
    await pipeline(body, createWriteStream(part));
    const got = hash.digest('hex');
    if (got !== md5) throw new Error(`${url}: MD5 ${got} does not match the published ${md5}`);
    renameSync(part, dest);
  } catch (err) {
    rmSync(part, { force: true });
    throw err;
  }
}

/** Writes the archive members whose base names are in `wanted` into `dir` (flat), each through a temporary name. */
export function extractTarGz(archive: Uint8Array, dir: string, wanted: string[], source = 'archive'): void {
  const entries = readTar(gunzipFile(archive, source), source);
  for (const name of wanted) {
    const entry = entries.find((e) => e.name.split('/').pop() === name);
    if (!entry)
      throw new InputError(`${source} lacks ${name} (it holds ${entries.length} files): not the expected archive`);
    const tmp = join(dir, `${name}.part-${process.pid}`);
    writeFileSync(tmp, entry.data);
    renameSync(tmp, join(dir, name));
  }
}
