import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BACKENDS } from '../registry/experiment.js';
import { UnavailableError } from '../util/errors.js';
import { registerFastGradients } from './gradients/index.js';
import { tf } from './tfjs.js';

export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was skipped, or what was loaded (SIMD, threads, gradient overrides). */
  why: string;
}

export interface SelectedBackend {
  /** The backend in use, as a config names it. */
  name: BackendName;
  /** The one tfjs-core namespace the project uses, now bound to that backend. */
  tf: typeof tf;
  /** Every backend tried, fastest first, with the reason each faster one was not taken. */
  attempts: BackendAttempt[];
}

export interface SelectOptions {
  /** Receives what tfjs would print on the console (banners, warnings) and one line per attempt. */
  log?: (line: string) => void;
  /** Register the project's gradients and kernels where tfjs's are missing or slow, and release intermediate gradients early (default true). */
  fastGradients?: boolean;
  /** Device of the libtorch backend ('cpu', 'cuda', 'cuda:N'). */
  device?: string;
  /** Intra-op threads of the libtorch backend (train.threads; default: see src/backends/threads.ts). */
  threads?: number;
}

/** Raised when an explicitly requested backend (or any backend for a GPU device) cannot load: the user's choice, not our bug. */
export class BackendUnavailableError extends UnavailableError {
  override name = 'BackendUnavailableError';
  constructor(
    readonly requested: string,
    readonly attempts: BackendAttempt[],
    advice = '',
  ) {
    super(
      (attempts.length > 0
        ? `backend '${requested}' is not available: ${attempts[attempts.length - 1].why}`
        : `unknown backend '${requested}' (choose one of: ${BACKENDS.join(', ')})`) + advice,
    );
  }
}

/** `auto` tries these in order: the fastest that loads wins. */
export const AUTO_ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'libtorch', 'wasm', 'cpu'];
/** With a GPU device only these can honour it; `auto` never falls back to the CPU behind the user's back. */
export const GPU_BACKENDS: BackendName[] = ['tensorflow-gpu', 'libtorch'];

const onGpu = (device: string | undefined) => device !== undefined && device !== 'cpu';

const require = createRequire(import.meta.url);
const NEEDS_INTERNET = 'its install step downloads libtensorflow, which needs the internet';
/** What the opt-in TensorFlow packages run: tfjs-node 4.22 downloads libtensorflow 2.9.1, whose GPU build needs CUDA 11.2 and cuDNN 8.1. */
const TENSORFLOW_BUILD: Record<string, string> = {
  '@tensorflow/tfjs-node-gpu': 'libtensorflow 2.9.1 for NVIDIA GPUs, which needs CUDA 11.2 and cuDNN 8.1 installed',
  '@tensorflow/tfjs-node': 'libtensorflow 2.9.1 for the CPU',
};

/** Loads the requested backend (or the fastest available for 'auto') and makes it tfjs's current backend. */
export async function selectBackend(requested: BackendRequest, opts: SelectOptions = {}): Promise<SelectedBackend> {
  const log = opts.log ?? (() => {});
  if (!(BACKENDS as readonly string[]).includes(requested)) throw new BackendUnavailableError(requested, []);
  const order = requested !== 'auto' ? [requested] : onGpu(opts.device) ? GPU_BACKENDS : AUTO_ORDER;
  const attempts: BackendAttempt[] = [];
  for (const backend of order) {
    const attempt = await withConsoleRouted(log, () => tryBackend(backend, opts));
    attempts.push({ backend, ...attempt });
    log(`backend ${backend}: ${attempt.ok ? 'selected' : 'skipped'}: ${attempt.why}`);
    if (!attempt.ok) continue;
    if (opts.fastGradients ?? true) {
      const replaced = registerFastGradients(backend);
      if (replaced.length > 0) attempts[attempts.length - 1].why += `; project ${replaced.join('; ')}`;
    }
    return { name: backend, tf, attempts };
  }
  if (requested !== 'auto') throw new BackendUnavailableError(requested, attempts, await advice(requested, opts));
  const reasons = attempts.map((a) => `${a.backend}: ${a.why}`).join('; ');
  if (onGpu(opts.device))
    throw new UnavailableError(
      `device ${opts.device}: no backend here can use a GPU (${reasons}); train on the CPU with device: cpu, or build libtorch with CUDA (native/README.md)`,
    );
  throw new Error(`no backend could be loaded: ${reasons}`);
}

/** What to do instead of an unavailable backend: the ones that do load here (with the same device), found by trying each. */
async function advice(requested: BackendName, opts: SelectOptions): Promise<string> {
  const others = (onGpu(opts.device) ? GPU_BACKENDS : AUTO_ORDER).filter((b) => b !== requested);
  const available: BackendName[] = [];
  for (const backend of others)
    if (
      (
        await withConsoleRouted(
          () => {},
          () => tryBackend(backend, opts),
        )
      ).ok
    )
      available.push(backend);
  const where = onGpu(opts.device) ? ` with device ${opts.device}` : '';
  const choice =
    available.length > 0
      ? `available here${where}: ${available.join(', ')} (backend: auto takes the first)`
      : `no other backend is available here${where}`;
  return `. ${choice[0].toUpperCase()}${choice.slice(1)}; \`epsilab doctor\` says why each one loads or not`;
}

/** Tries every backend on its own (not stopping at the first that loads), for `epsilab doctor`; the last one tried stays current. */
export async function probeBackends(opts: SelectOptions = {}): Promise<BackendAttempt[]> {
  const attempts: BackendAttempt[] = [];
  for (const backend of AUTO_ORDER)
    attempts.push({ backend, ...(await withConsoleRouted(opts.log ?? (() => {}), () => tryBackend(backend, opts))) });
  return attempts;
}

async function tryBackend(backend: BackendName, opts: SelectOptions): Promise<{ ok: boolean; why: string }> {
  try {
    switch (backend) {
      case 'tensorflow-gpu':
        return await loadNodeBinding('@tensorflow/tfjs-node-gpu');
      case 'tensorflow':
        return await loadNodeBinding('@tensorflow/tfjs-node');
      case 'libtorch':
        return await loadLibtorch(opts);
      case 'wasm':
        return await loadWasm();
      case 'cpu':
        return await activate('cpu', 'pure JavaScript kernels (slow: for tests and tiny models)');
    }
  } catch (err) {
    return { ok: false, why: describeError(err) };
  }
}

/** tfjs-node(-gpu) registers a backend named 'tensorflow'; both are opt-in: a project adds one with npm install. */
async function loadNodeBinding(pkg: string): Promise<{ ok: boolean; why: string }> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    await import(pkg);
  } catch (err) {
    if (isModuleNotFound(err, pkg))
      return {
        ok: false,
        why: `not installed (opt-in: \`npm install ${pkg}@${tf.version_core}\` adds ${TENSORFLOW_BUILD[pkg]}; ${NEEDS_INTERNET})`,
      };
    if (/tfjs_binding\.node\) can not be found/.test(describeError(err)))
      return {
        ok: false,
        why: `installed without its native binding (${NEEDS_INTERNET}; online, \`npm rebuild ${pkg}\` fetches it)`,
      };
    return { ok: false, why: `${pkg} failed to load: ${describeError(err)}` };
  }
  return activate('tensorflow', `${pkg} (libtensorflow)`);
}

async function loadLibtorch({ device, threads }: SelectOptions): Promise<{ ok: boolean; why: string }> {
  const modulePath = new URL('./libtorch/index.js', import.meta.url);
  let mod: {
    registerLibtorchBackend?: (opts: { device?: string; threads?: number }) => Promise<{ ok: boolean; why: string }>;
  };
  try {
    mod = await import('./libtorch/index.js');
  } catch (err) {
    if (isModuleNotFound(err, fileURLToPath(modulePath)))
      return { ok: false, why: 'not built into this copy of epsilab' };
    return { ok: false, why: `libtorch module failed to load: ${describeError(err)}` };
  }
  if (typeof mod.registerLibtorchBackend !== 'function')
    return { ok: false, why: 'libtorch module exports no registerLibtorchBackend' };
  const registered = await mod.registerLibtorchBackend({ device, threads });
  if (!registered.ok) return registered;
  return activate('libtorch', registered.why);
}

async function loadWasm(): Promise<{ ok: boolean; why: string }> {
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  const result = await activate('wasm', '');
  if (!result.ok) return result;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  return {
    ok: true,
    why: `SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'} (tfjs runs wasm single-threaded in Node)`,
  };
}

/** Makes a registered backend current and runs one op on it, so init failures and first-use banners happen here. */
async function activate(name: string, detail: string): Promise<{ ok: boolean; why: string }> {
  if (tf.findBackendFactory(name) == null) return { ok: false, why: `no tfjs backend named '${name}' is registered` };
  if (!(await tf.setBackend(name))) return { ok: false, why: `tfjs could not initialise the '${name}' backend` };
  tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
  return { ok: true, why: detail };
}

/**
 * Runs `fn` with console.log/warn/info sent to `log`, since tfjs prints banners and warnings straight to the console.
 * Repeated "kernel already registered" warnings (a half-loaded tfjs-node) are counted into one line.
 */
async function withConsoleRouted<T>(log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, warn: console.warn, info: console.info };
  const reregistered = new Map<string, number>();
  const route = (...args: unknown[]) => {
    Object.assign(console, saved);
    try {
      for (const raw of args.map(String).join(' ').split('\n')) {
        const line = raw.trim();
        const again = /^The kernel '.+' for backend '(.+)' is already registered$/.exec(line);
        if (again) reregistered.set(again[1], (reregistered.get(again[1]) ?? 0) + 1);
        else if (line !== '' && !/^=+$/.test(line)) log(`tfjs: ${line}`);
      }
    } finally {
      console.log = console.warn = console.info = route;
    }
  };
  console.log = console.warn = console.info = route;
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
    for (const [backend, n] of reregistered) log(`tfjs: ${n} kernels for backend '${backend}' were registered twice`);
  }
}

function isModuleNotFound(err: unknown, name: string): boolean {
  const code = (err as { code?: string } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(name)
  );
}

function describeError(err: unknown): string {
  const message =
    err instanceof Error
      ? err.message
      : typeof err === 'object' && err != null && 'message' in err
        ? String((err as { message: unknown }).message)
        : String(err);
  return message.split('\n')[0];
}
