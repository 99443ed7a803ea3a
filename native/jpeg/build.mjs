// Builds the JPEG fast path's addon (native/jpeg, libjpeg-turbo's libjpeg API), which needs no libtorch. Never fails the
// install: without it, JPEG files take the general path (libvips) and the run log says why.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../fingerprint.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The jpeglib.h the compiler finds (Debian libjpeg62-turbo-dev, or JPEG_INCLUDE), or null. */
function jpegHeader() {
  const dirs = [process.env.JPEG_INCLUDE, '/usr/include', '/usr/local/include', '/opt/homebrew/include'];
  return dirs.filter(Boolean).find((d) => existsSync(join(d, 'jpeglib.h'))) ?? null;
}

/** `{ status, line }`: built, or skipped/failed with why in one line. */
export function buildJpegAddon() {
  const header = jpegHeader();
  if (!header) {
    return {
      status: 'skipped',
      line: 'jpeglib.h not found (install libjpeg62-turbo-dev or libjpeg-turbo8-dev); JPEGs decode with libvips',
    };
  }
  const addon = join(here, 'build', 'Release', 'epsilab_jpeg.node');
  // The hash of what the last build was built from, kept beside it: equal, with the addon there, means nothing to do.
  const stamp = join(here, 'build', 'inputs.sha256');
  const { size, mtimeMs } = statSync(join(header, 'jpeglib.h'));
  const inputs = fingerprint(here, ['build.mjs', '../fingerprint.mjs', 'binding.gyp', 'src'], [header, size, mtimeMs]);
  if (existsSync(addon) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs)
    return { status: 'built', line: 'built against libjpeg-turbo; sources unchanged since, not rebuilt' };
  let gyp;
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return { status: 'skipped', line: 'node-gyp is not installed; JPEGs decode with libvips' };
  }
  const nodePrefix = dirname(dirname(process.execPath));
  const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodePrefix}`] : [];
  const log = openSync(join(here, 'build.log'), 'w');
  const run = spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${here}`, ...nodedir], {
    stdio: ['ignore', log, log],
    timeout: 5 * 60 * 1000,
  });
  if (run.status !== 0)
    return { status: 'failed', line: 'build failed (log: native/jpeg/build.log); JPEGs decode with libvips' };
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (load.status !== 0)
    return { status: 'failed', line: `built but does not load: ${load.stderr.trim().split('\n')[0]}` };
  writeFileSync(stamp, inputs);
  return { status: 'built', line: 'built against libjpeg-turbo' };
}
