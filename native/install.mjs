// Builds the libtorch addon at `npm install` when libtorch is found, else says why in one line. Never fails the install:
// without the addon, `backend: auto` moves on to the next backend.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const logPath = join(here, 'install.log');
const say = (line) => console.log(`epsilab libtorch backend: ${line}`);

/** A libtorch is usable when its ATen headers and libtorch_cpu are both there. */
function usable(include, lib) {
  return existsSync(join(include, 'ATen', 'ATen.h')) && existsSync(join(lib, 'libtorch_cpu.so'));
}

/** Where libtorch is: LIBTORCH_DIR, the distribution's libtorch-dev, or the copy inside a PyTorch installation. */
function findLibtorch() {
  const dir = process.env.LIBTORCH_DIR;
  if (dir) {
    const [include, lib] = [join(dir, 'include'), join(dir, 'lib')];
    if (!usable(include, lib)) return { why: `LIBTORCH_DIR=${dir} has no include/ATen/ATen.h or lib/libtorch_cpu.so` };
    return { include, lib, abi: process.env.LIBTORCH_CXX11_ABI ?? '1', source: `LIBTORCH_DIR ${dir}` };
  }
  if (existsSync('/usr/include/ATen/ATen.h')) {
    const libs = ['/usr/lib', '/usr/lib64', ...readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => join('/usr/lib', d))];
    const lib = libs.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
    // The system include directory is searched anyway; naming it again would break the C++ headers' #include_next.
    if (lib) return { include: '', lib, abi: '1', source: `system libtorch in ${lib}` };
  }
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [torchDir, abi] = probe.stdout.trim().split('\n');
    const [include, lib] = [join(torchDir, 'include'), join(torchDir, 'lib')];
    if (usable(include, lib)) return { include, lib, abi, source: `PyTorch's libtorch in ${torchDir}` };
  }
  return { why: 'no libtorch found (install libtorch-dev or PyTorch, or set LIBTORCH_DIR); skipping the native backend' };
}

function build(torch) {
  let gyp;
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return 'node-gyp is not installed; skipping the native backend';
  }
  const nodePrefix = dirname(dirname(process.execPath));
  const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodePrefix}`] : [];
  const cuda = existsSync(join(torch.lib, 'libtorch_cuda.so')) ? '1' : '0';
  const args = [gyp, 'rebuild', `--directory=${here}`, `--jobs=${process.env.JOBS ?? 2}`, ...nodedir, '--',
    `-Dlibtorch_include=${torch.include}`, `-Dlibtorch_lib=${torch.lib}`, `-Dcxx11_abi=${torch.abi}`, `-Dwith_cuda=${cuda}`];
  mkdirSync(dirname(logPath), { recursive: true });
  const log = openSync(logPath, 'w');
  const started = Date.now();
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', log, log], timeout: 20 * 60 * 1000 });
  if (run.status !== 0) return `build failed (log: native/install.log); the other backends still work`;
  const addon = join(here, 'build', 'Release', 'epsilab_torch.node');
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (load.status !== 0) return `built but does not load: ${load.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? 'unknown error'}`;
  return `built against ${torch.source}${cuda === '1' ? ' with CUDA' : ''} in ${Math.round((Date.now() - started) / 1000)} s`;
}

if (process.env.EPSILAB_SKIP_NATIVE) {
  say('EPSILAB_SKIP_NATIVE is set; skipping the native backend');
} else {
  const torch = findLibtorch();
  say(torch.why ?? build(torch));
}
