// Builds the libtorch addon at `npm install` when libtorch is found, else says why in one line. Never fails the install:
// without the addon, `backend: auto` moves on to the next backend. What it found and did goes to native/install.json,
// which `epsilab doctor` and the backend's error messages read.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from './fingerprint.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const logPath = join(here, 'install.log');
const recordPath = join(here, 'install.json');
const say = (line) => console.log(`epsilab libtorch backend: ${line}`);

/** A libtorch is usable when its ATen headers and libtorch_cpu are both there. */
function usable(include, lib) {
  return existsSync(join(include || '/usr/include', 'ATen', 'ATen.h')) && existsSync(join(lib, 'libtorch_cpu.so'));
}

/** [major, minor, patch] from torch/version.h (the same file the addon compiles against), or null. */
function torchVersion(include) {
  const file = join(include || '/usr/include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const part = (name) => Number(new RegExp(`#define TORCH_VERSION_${name}\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
  const v = [part('MAJOR'), part('MINOR'), part('PATCH')];
  return v.every(Number.isFinite) ? v : null;
}

/** The C++ ABI libc10 was built with: its std::string symbols carry the `cxx11` tag only under the new ABI. */
function abiOfLibrary(lib) {
  try {
    return readFileSync(join(lib, 'libc10.so')).includes('B5cxx11') ? '1' : '0';
  } catch {
    return '1';
  }
}

/** The libtorch inside a PyTorch installation that `python3` imports, with the ABI flag it reports. */
function pytorch() {
  for (const python of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    const probe = spawnSync(
      python,
      ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
      { encoding: 'utf8' },
    );
    if (probe.status !== 0) continue;
    const [torchDir, abi] = probe.stdout.trim().split('\n');
    const [include, lib] = [join(torchDir, 'include'), join(torchDir, 'lib')];
    if (usable(include, lib)) return { include, lib, abi, torchDir, source: `PyTorch's libtorch in ${torchDir}` };
  }
  return null;
}

function systemLibtorch() {
  if (!existsSync('/usr/include/ATen/ATen.h')) return null;
  const libs = [
    '/usr/lib',
    '/usr/lib64',
    ...readdirSync('/usr/lib')
      .filter((d) => d.endsWith('-linux-gnu'))
      .map((d) => join('/usr/lib', d)),
  ];
  const lib = libs.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
  // The system include directory is searched anyway; naming it again would break the C++ headers' #include_next.
  return lib ? { include: '', lib, abi: abiOfLibrary(lib), source: `the system's libtorch in ${lib}` } : null;
}

const hasCuda = (torch) => existsSync(join(torch.lib, 'libtorch_cuda.so'));

/**
 * Where libtorch is: LIBTORCH_DIR, else a CUDA PyTorch installation (so a GPU machine gets a CUDA build even where the
 * distribution's CPU-only libtorch-dev is also installed), else the distribution's libtorch-dev, else a CPU PyTorch.
 */
function findLibtorch() {
  const dir = process.env.LIBTORCH_DIR;
  if (dir) {
    const [include, lib] = [join(dir, 'include'), join(dir, 'lib')];
    if (!usable(include, lib)) return { why: `LIBTORCH_DIR=${dir} has no include/ATen/ATen.h or lib/libtorch_cpu.so` };
    return { include, lib, abi: process.env.LIBTORCH_CXX11_ABI ?? abiOfLibrary(lib), source: `LIBTORCH_DIR ${dir}` };
  }
  const fromPython = pytorch();
  if (fromPython && hasCuda(fromPython)) return fromPython;
  const found = systemLibtorch() ?? fromPython;
  return (
    found ?? {
      why: 'no libtorch found (install libtorch-dev or PyTorch, or set LIBTORCH_DIR); skipping the native backend',
    }
  );
}

/** The CUDA headers ATen's CUDA context (and so its CUDA graphs) includes: the runtime, cuBLAS(Lt), cuSPARSE and cuSOLVER. */
const CUDA_HEADERS = ['cuda_runtime_api.h', 'cublas_v2.h', 'cublasLt.h', 'cusparse.h', 'cusolverDn.h'];

/**
 * The folders that hold CUDA_HEADERS, looked for in CUDA_HOME, CUDA_PATH, the toolkit that holds nvcc, /usr/local/cuda,
 * the system, and the `nvidia/*\/include` folders pip installs beside PyTorch: `{ dirs }`, or `{ missing }` naming a
 * header found nowhere (the addon then builds for CUDA without CUDA graphs).
 */
function cudaIncludes(torch) {
  const nvcc = (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, 'nvcc'))
    .find((p) => existsSync(p));
  const toolkit = [
    process.env.CUDA_HOME,
    process.env.CUDA_PATH,
    nvcc && dirname(dirname(realpathSync(nvcc))),
    '/usr/local/cuda',
    '/usr',
  ]
    .filter(Boolean)
    .map((d) => join(d, 'include'));
  const wheels = torch.torchDir ? join(dirname(torch.torchDir), 'nvidia') : null;
  const fromWheels =
    wheels && existsSync(wheels)
      ? readdirSync(wheels)
          .map((d) => join(wheels, d, 'include'))
          .filter((d) => existsSync(d))
      : [];
  const dirs = new Set();
  for (const header of CUDA_HEADERS) {
    const dir = [...toolkit, ...fromWheels].find((d) => existsSync(join(d, header)));
    if (!dir) return { missing: header };
    dirs.add(dir);
  }
  // The system folder is searched anyway; naming it again would break the C++ headers' #include_next.
  return { dirs: [...dirs].filter((d) => d !== '/usr/include') };
}

/** Whether a library file holds a symbol name (read whole: a few hundred MB at most, once per install). */
function hasSymbol(lib, file, name) {
  try {
    return readFileSync(join(lib, file)).includes(name);
  } catch {
    return false;
  }
}

/**
 * The c10d process groups the addon can compile: Gloo where libtorch_cpu has ProcessGroupGloo and the gloo headers it
 * includes are there (Debian: libgloo-dev), NCCL where libtorch_cuda has ProcessGroupNCCL; `why` names what is missing.
 */
function processGroups(torch, cuda) {
  const includes = [torch.include || '/usr/include', '/usr/include', '/usr/local/include'];
  const c10d = includes.find((d) =>
    existsSync(join(d, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp')),
  );
  const glooHeaders = includes.some((d) => existsSync(join(d, 'gloo', 'algorithm.h')));
  const glooLib = [torch.lib, '/usr/lib', '/usr/lib64', '/usr/local/lib'].some((d) =>
    existsSync(join(d, 'libgloo.so')),
  );
  const gloo = Boolean(c10d) && glooHeaders && hasSymbol(torch.lib, 'libtorch_cpu.so', 'ProcessGroupGloo');
  const nccl =
    gloo &&
    cuda &&
    existsSync(join(c10d, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupNCCL.hpp')) &&
    hasSymbol(torch.lib, 'libtorch_cuda.so', 'ProcessGroupNCCL');
  const why = gloo
    ? ''
    : !c10d
      ? 'its headers have no torch/csrc/distributed/c10d'
      : !glooHeaders
        ? 'the gloo headers are missing (install libgloo-dev)'
        : 'its libtorch_cpu has no ProcessGroupGloo';
  return { gloo, linkGloo: gloo && glooLib, nccl, why };
}

/** The compiler node-gyp will call, or why there is none. */
function compilerProblem() {
  const cxx = process.env.CXX ?? 'g++';
  const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  return probe.status === 0
    ? null
    : `no C++ compiler (${cxx} not found: install g++, or set CXX); skipping the native backend`;
}

/** The first line of the compiler log that says what went wrong. */
function firstError() {
  try {
    return (
      readFileSync(logPath, 'utf8')
        .split('\n')
        .find((l) => /\berror\b/i.test(l) && !/^gyp (ERR|info)/.test(l))
        ?.trim()
        .slice(0, 240) ?? null
    );
  } catch {
    return null;
  }
}

function build(torch, record) {
  let gyp;
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return { status: 'skipped', line: 'node-gyp is not installed; skipping the native backend' };
  }
  const compiler = compilerProblem();
  if (compiler) return { status: 'skipped', line: compiler };
  const version = torchVersion(torch.include);
  if (!version)
    return { status: 'skipped', line: `${torch.source} has no torch/version.h; skipping the native backend` };
  record.torchVersion = version.join('.');
  if (version[0] < 1 || (version[0] === 1 && version[1] < 13))
    return {
      status: 'skipped',
      line: `libtorch ${record.torchVersion} (${torch.source}) is older than 1.13; skipping the native backend`,
    };
  const cuda = hasCuda(torch);
  const headers = cuda ? cudaIncludes(torch) : { missing: 'cuda_runtime_api.h' };
  const cudaInclude = headers.dirs ?? null;
  const groups = processGroups(torch, cuda);
  Object.assign(record, {
    gloo: groups.gloo,
    nccl: groups.nccl,
    cuda,
    cudaHeaders: cudaInclude !== null,
    cudaInclude: cudaInclude?.join(' ') ?? '',
    abi: torch.abi,
  });
  // ATen's headers require C++20 from PyTorch 2.12 on; older ones were written for C++14/17.
  const std = version[0] > 2 || (version[0] === 2 && version[1] >= 12) ? 'c++20' : 'c++17';
  const nodePrefix = dirname(dirname(process.execPath));
  const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${nodePrefix}`] : [];
  const args = [
    gyp,
    'rebuild',
    `--directory=${here}`,
    `--jobs=${process.env.JOBS ?? 2}`,
    ...nodedir,
    '--',
    `-Dlibtorch_include=${torch.include}`,
    `-Dlibtorch_lib=${torch.lib}`,
    `-Dcxx11_abi=${torch.abi}`,
    `-Dwith_cuda=${cuda ? 1 : 0}`,
    `-Dcuda_headers=${cudaInclude !== null ? 1 : 0}`,
    `-Dcuda_include=${cudaInclude?.join(' ') ?? ''}`,
    `-Dcxx_std=${std}`,
    `-Dwith_gloo=${groups.gloo ? 1 : 0}`,
    `-Dlink_gloo=${groups.linkGloo ? 1 : 0}`,
    `-Dwith_nccl=${groups.nccl ? 1 : 0}`,
  ];
  mkdirSync(dirname(logPath), { recursive: true });
  const log = openSync(logPath, 'w');
  const started = Date.now();
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', log, log], timeout: 20 * 60 * 1000 });
  if (run.status !== 0) {
    const error = firstError();
    return {
      status: 'failed',
      line: `build against ${torch.source} failed${error ? `: ${error}` : ''} (full log: native/install.log); the other backends still work`,
    };
  }
  const addon = join(here, 'build', 'Release', 'epsilab_torch.node');
  const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (load.status !== 0) {
    const error =
      load.stderr
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? 'unknown error';
    const abiHint = /undefined symbol: .*(cxx11|Ss|basic_string)/.test(error)
      ? ` (a C++ ABI mismatch: rerun with LIBTORCH_CXX11_ABI=${torch.abi === '1' ? 0 : 1})`
      : '';
    return { status: 'failed', line: `built against ${torch.source} but does not load: ${error}${abiHint}` };
  }
  const gpu = !cuda
    ? ''
    : cudaInclude !== null
      ? ' with CUDA'
      : ` with CUDA but without CUDA graphs (${headers.missing} not found: set CUDA_HOME to a full CUDA toolkit and rebuild)`;
  const distributed = groups.gloo
    ? `, process groups: gloo${groups.nccl ? ', nccl' : ''}`
    : `, without data-parallel process groups (${groups.why})`;
  return {
    status: 'built',
    line: `built against libtorch ${record.torchVersion}, ${torch.source}${gpu}${distributed}, in ${Math.round((Date.now() - started) / 1000)} s`,
  };
}

/**
 * What the libtorch build depends on: this script, the addon's sources, the libtorch found (where, its ABI, its library
 * file's size and date), the variables that steer the build, and Node's module ABI.
 */
function buildInputs(torch) {
  const { size, mtimeMs } = statSync(join(torch.lib, 'libtorch_cpu.so'));
  const env = ['LIBTORCH_CXX11_ABI', 'CUDA_HOME', 'CUDA_PATH', 'CXX'].map((k) => process.env[k] ?? '');
  return fingerprint(
    here,
    ['install.mjs', 'fingerprint.mjs', 'binding.gyp', 'src'],
    [torch.include, torch.lib, torch.abi, size, mtimeMs, env],
  );
}

/** The last install's record when it built this very fingerprint and the addon is still there, else null. */
function unchangedBuild(print) {
  try {
    const last = JSON.parse(readFileSync(recordPath, 'utf8'));
    const built = last.status === 'built' && last.fingerprint === print;
    return built && existsSync(join(here, 'build', 'Release', 'epsilab_torch.node')) ? last : null;
  } catch {
    return null;
  }
}

/** Keeps what the install found, written whole or not at all. */
function writeRecord(record) {
  const tmp = `${recordPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ ...record, date: new Date().toISOString() }, null, 2)}\n`);
  renameSync(tmp, recordPath);
}

if (process.env.EPSILAB_SKIP_NATIVE) {
  const line = 'EPSILAB_SKIP_NATIVE is set; skipping the native backend';
  writeRecord({ status: 'skipped', line });
  say(line);
} else {
  const torch = findLibtorch();
  const print = torch.why ? null : buildInputs(torch);
  const last = print && unchangedBuild(print);
  if (last) say(`${last.line}; sources and libtorch unchanged since, not rebuilt`);
  else {
    const record = torch.why ? { status: 'skipped', line: torch.why } : { source: torch.source, fingerprint: print };
    if (!torch.why) Object.assign(record, build(torch, record));
    writeRecord(record);
    say(record.line);
  }
}

if (!process.env.EPSILAB_SKIP_NATIVE) {
  const { buildJpegAddon } = await import('./jpeg/build.mjs');
  console.log(`epsilab JPEG fast path: ${buildJpegAddon().line}`);
}
