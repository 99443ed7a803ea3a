import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, homedir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendAttempt } from '../../backends/select.js';
import type { InstallRecord, TorchInfo } from '../../backends/info.js';
import { CORES_SHARED_BY } from '../../backends/threads.js';
import { builtinRegistry } from '../../components/index.js';
import { projectRoot } from '../../util/paths.js';
import { UsageError } from '../../util/errors.js';
import { EXIT, type Command } from '../command.js';

/** One GPU as the NVIDIA driver reports it. */
interface Gpu {
  index: number;
  name: string;
  memoryMiB: number;
  usedMiB: number;
  driver: string;
}

export interface DoctorReport {
  epsilab: string;
  node: string;
  platform: string;
  cpu: { model: string; cores: number; memoryGiB: number };
  backends: BackendAttempt[];
  /** What `backend: auto` takes here (with device cpu). */
  auto: string;
  libtorch: { addon: string | null; install: InstallRecord | null; info: TorchInfo | null; why?: string };
  gpus: { nvidiaSmi: string | null; devices: Gpu[]; why?: string };
  threads: Record<string, string | number>;
  pytorch: { python: string; version?: string; cuda?: string | null; devices?: number; why?: string };
  datasets: { root: string; fromEnv: boolean; found: Record<string, string> };
  slurm: Record<string, string | null>;
}

const SLURM_COMMANDS = ['sbatch', 'squeue', 'scontrol', 'sacct', 'sinfo', 'scancel'];
/** Folders a distribution's dataset packages install into (Debian's dataset-fashion-mnist uses the first). */
const SYSTEM_DATASETS = ['/usr/share/datasets'];

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'What epsilab found on this machine and why: backends, libtorch and CUDA, GPUs, threads, datasets, Slurm',
  usage: `epsilab doctor [--json]

The first command to run on a new machine. Reports Node and the CPU; every backend, whether it loads and why not;
the libtorch addon (what npm install built it against, libtorch version, CPU or CUDA build, CUDA graphs, process
groups, threads); the GPUs the NVIDIA driver and libtorch see; the PyTorch that benchmarks compare against; where
datasets are looked for and which are there; and which Slurm commands are installed.
  --json   the same as one JSON object
Exit codes: 0 reported.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false } },
    });
    if (positionals.length > 0) throw new UsageError('doctor takes no arguments');
    const report = await diagnose();
    console.log(values.json ? JSON.stringify(report, null, 2) : format(report));
    return EXIT.ok;
  },
};

async function diagnose(): Promise<DoctorReport> {
  const root = projectRoot();
  // Loaded here, not at the top: TensorFlow.js takes a third of a second that `epsilab --help` need not pay.
  const { probeBackends } = await import('../../backends/select.js');
  const { libtorchReport, libtorchThreading } = await import('../../backends/info.js');
  const backends = await probeBackends();
  const libtorch = libtorchReport();
  const info = libtorch.info;
  const threading = libtorchThreading();
  const dataRoot = process.env.EPSILAB_DATA || join(homedir(), '.cache', 'epsilab');
  return {
    epsilab: `${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version}${gitCommit(root)}`,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: {
      model: cpus()[0]?.model.trim() ?? 'unknown',
      cores: availableParallelism(),
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
    backends,
    auto: backends.find((b) => b.ok)?.backend ?? 'none',
    libtorch,
    gpus: nvidiaGpus(),
    threads: {
      cores: availableParallelism(),
      ...(info && threading
        ? {
            libtorch: info.threads,
            'libtorch threads, why': threading.threads_why,
            'OpenMP wait policy': `${threading.wait_policy} (${threading.wait_policy_why})`,
          }
        : {}),
      ...Object.fromEntries(
        ['EPSILAB_TORCH_THREADS', CORES_SHARED_BY, 'OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'CUDA_VISIBLE_DEVICES']
          .filter((k) => process.env[k] !== undefined)
          .map((k) => [k, process.env[k]!]),
      ),
    },
    pytorch: pytorch(),
    datasets: { root: dataRoot, fromEnv: Boolean(process.env.EPSILAB_DATA), found: datasets(dataRoot) },
    slurm: Object.fromEntries(SLURM_COMMANDS.map((c) => [c, which(c)])),
  };
}

function gitCommit(root: string): string {
  const git = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return git.status === 0 ? ` (commit ${git.stdout.trim()})` : '';
}

/** A command's full path on PATH, or null. */
function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return null;
}

function nvidiaGpus(): DoctorReport['gpus'] {
  const smi = which('nvidia-smi');
  if (!smi) return { nvidiaSmi: null, devices: [], why: 'nvidia-smi not found (no NVIDIA driver on this machine)' };
  const q = spawnSync(
    smi,
    ['--query-gpu=index,name,memory.total,memory.used,driver_version', '--format=csv,noheader,nounits'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (q.status !== 0)
    return {
      nvidiaSmi: smi,
      devices: [],
      why: `nvidia-smi failed: ${(q.stderr || q.stdout || String(q.error ?? '')).trim().split('\n')[0]}`,
    };
  const devices = q.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [index, name, total, used, driver] = line.split(',').map((s) => s.trim());
      return { index: Number(index), name, memoryMiB: Number(total), usedMiB: Number(used), driver };
    });
  return { nvidiaSmi: smi, devices };
}

/** The PyTorch that the benchmarks and scripts/gpu-check.sh compare against: the first of $PYTHON, python3, /usr/bin/python3 that imports torch. */
function pytorch(): DoctorReport['pytorch'] {
  const code =
    'import json, torch; print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "devices": torch.cuda.device_count() if torch.cuda.is_available() else 0}))';
  let first: DoctorReport['pytorch'] | null = null;
  for (const python of [
    ...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p))),
  ]) {
    const probe = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status === 0) {
      try {
        return {
          python,
          ...(JSON.parse(probe.stdout.trim().split('\n').pop()!) as {
            version: string;
            cuda: string | null;
            devices: number;
          }),
        };
      } catch {
        first ??= { python, why: `unexpected answer: ${probe.stdout.trim().slice(0, 120)}` };
        continue;
      }
    }
    first ??= {
      python,
      why: probe.error ? `${python} not found` : `import torch failed: ${probe.stderr.trim().split('\n').pop()}`,
    };
  }
  return first!;
}

/** Which built-in datasets are in the data root or a system folder (configs can also name any folder with `path`). */
function datasets(dataRoot: string): Record<string, string> {
  const found: Record<string, string> = {};
  const names = builtinRegistry
    .list('dataset')
    .map((c) => c.type)
    .filter((t) => t !== 'synthetic' && t !== 'image-folder');
  for (const name of names) {
    const place = [join(dataRoot, name), ...SYSTEM_DATASETS.map((d) => join(d, name))].find(
      (d) => existsSync(d) && readdirSync(d).length > 0,
    );
    if (place) found[name] = place;
  }
  return found;
}

const yes = (b: boolean | undefined) => (b ? 'yes' : 'no');

function format(r: DoctorReport): string {
  const lines: string[] = [];
  const section = (title: string) => lines.push('', title);
  const item = (label: string, value: string) => lines.push(`  ${label.padEnd(18)} ${value}`);
  lines.push(`epsilab ${r.epsilab} on Node ${r.node} (${r.platform})`);
  lines.push(`CPU: ${r.cpu.model}, ${r.cpu.cores} cores, ${r.cpu.memoryGiB} GiB memory`);

  section(`Backends (backend: auto tries them in this order and takes the first that loads: here ${r.auto})`);
  for (const b of r.backends) item(b.backend, `${b.ok ? 'loads' : 'no'}: ${b.why}`);

  section('libtorch addon');
  const install = r.libtorch.install;
  item(
    'npm install said',
    install ? install.line : 'nothing recorded (npm install has not run here, or ran before this was recorded)',
  );
  item('addon', r.libtorch.addon ?? `not built${r.libtorch.why ? ` (${r.libtorch.why})` : ''}`);
  const info = r.libtorch.info;
  if (info) {
    item(
      'libtorch',
      `${info.version}${install?.source ? `, ${install.source}` : ''}${install?.abi !== undefined ? `, C++ ABI ${install.abi}` : ''}`,
    );
    item(
      'build',
      (info.cudaBuild ?? info.cuda)
        ? `CUDA (cuDNN ${yes(info.cudnn)}, CUDA graphs ${info.cudaHeaders ? 'possible' : 'off: built without the CUDA runtime headers'})`
        : 'CPU only (device: cuda needs a CUDA build: install PyTorch with CUDA and rerun npm install)',
    );
    item('GPUs it sees', String(info.cudaDevices ?? (info.cuda ? '1 or more' : 0)));
    item('oneDNN', yes(info.mkldnn));
    item(
      'process groups',
      info.gloo
        ? `gloo${info.nccl ? ', nccl' : ' (no nccl: device: cuda ranks need a CUDA PyTorch with ProcessGroupNCCL)'}`
        : 'none: data-parallel training needs libgloo-dev at build time (install it, then node native/install.mjs)',
    );
  }

  section('GPUs (NVIDIA driver)');
  if (r.gpus.devices.length === 0) item('none', r.gpus.why ?? 'nvidia-smi lists no GPU');
  for (const g of r.gpus.devices)
    item(
      `cuda:${g.index}`,
      `${g.name}, ${(g.memoryMiB / 1024).toFixed(1)} GiB (${(g.usedMiB / 1024).toFixed(1)} GiB in use), driver ${g.driver}`,
    );

  section('Threads');
  for (const [k, v] of Object.entries(r.threads)) item(k, String(v));

  section('PyTorch (what the benchmarks and scripts/gpu-check.sh compare against)');
  item(
    r.pytorch.python,
    r.pytorch.why ??
      `torch ${r.pytorch.version}, ${r.pytorch.cuda ? `CUDA ${r.pytorch.cuda}, ${r.pytorch.devices} GPU${r.pytorch.devices === 1 ? '' : 's'} visible` : 'CPU only'}`,
  );

  section(
    `Datasets (a config's path, else ${r.datasets.root}/<name>${r.datasets.fromEnv ? ' from EPSILAB_DATA' : ' (set EPSILAB_DATA to move it)'}, else ${SYSTEM_DATASETS.join(', ')}/<name>)`,
  );
  const found = Object.entries(r.datasets.found);
  if (found.length === 0)
    item(
      'found',
      'none yet (the quickstart uses the subset that ships in data/; others download on first use where online)',
    );
  for (const [name, dir] of found) item(name, dir);

  section('Slurm (epsilab sweep with executor slurm)');
  const missing = Object.entries(r.slurm)
    .filter(([, p]) => p === null)
    .map(([c]) => c);
  item(
    'commands',
    missing.length === 0
      ? `all found (${Object.values(r.slurm)[0]} ...)`
      : missing.length === SLURM_COMMANDS.length
        ? 'none found: sweeps run locally'
        : `missing ${missing.join(', ')}`,
  );
  return lines.join('\n');
}
