// Builds the JPEG fast path's addon (native/jpeg, libjpeg-turbo's libjpeg API), which needs no libtorch. Never fails the
// install: without it, JPEG files take the general path (libvips) and the run log says why.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The jpeglib.h the compiler finds (Debian libjpeg62-turbo-dev, or JPEG_INCLUDE), or null. */
function jpegHeader() {
  const dirs = [process.env.JPEG_INCLUDE, '/usr/include', '/usr/local/include', '/opt/homebrew/include'];
  return dirs.filter(Boolean).find((d) => existsSync(join(d, 'jpeglib.h'))) ?? null;
}

/** `{ status, line }`: built, or skipped/failed with why in one line. */
export function buildJpegAddon() {
  if (!jpegHeader()) {
    return {
      status: 'skipped',
      line: 'jpeglib.h not found (install libjpeg62-turbo-dev or libjpeg-turbo8-dev); JPEGs decode with libvips',
    };
  }
  const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  const nodePrefix = dirname(dirname(process.execPath));
  const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodePrefix}`] : [];
  const log = openSync(join(here, 'build.log'), 'w');
  const run = spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${here}`, ...nodedir], {
    stdio: ['ignore', log, log],
    timeout: 5 * 60 * 1000,
  });
  if (run.status !== 0)
    return { status: 'failed', line: 'build failed (log: native/jpeg/build.log); JPEGs decode with libvips' };
  const addon = join(here, 'build', 'Release', 'epsilab_jpeg.node');
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (load.status !== 0)
    return { status: 'failed', line: `built but does not load: ${load.stderr.trim().split('\n')[0]}` };
  return { status: 'built', line: 'built against libjpeg-turbo' };
}
