import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const USAGE = `node dist/bench/data.js [options]
  The ImageNet training input pipeline (configs/_base/imagenet-preact.yaml: random-sized crop to 224 with cubic
  resize, colour jitter with lighting, flip, normalise) on generated ImageNet-like JPEGs (quality 90): epsilab
  bench-data against torchvision's ImageFolder + DataLoader with PIL and the same transforms, each pinned to the same
  cores (taskset) with as many worker threads or processes as cores (none on one core), alternating, in the same
  sitting. Prints medians of images/s, images/s per core and images per CPU-second (the per-core figure that holds on a
  busy machine), and epsilab's CPU milliseconds per image by stage of its JPEG fast path.
  --images N      JPEGs to generate (default 640)
  --size WxH      their size (default 500x375, a typical ImageNet photograph; 1280x960 shows DCT scaling)
  --libvips       epsilab decodes through libvips (its general path) instead of the JPEG fast path
  --batch N       batch size (default 64)
  --batches N     timed batches per measurement, after one warm-up batch (default 8)
  --rounds N      alternating rounds per core count (default 3)
  --cores a,b     core counts to pin to (default 1,<all>)
  --json FILE     also write every measurement as JSON`;

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '640' },
    size: { type: 'string', default: '500x375' },
    libvips: { type: 'boolean', default: false },
    batch: { type: 'string', default: '64' },
    batches: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    cores: { type: 'string', default: `1,${availableParallelism()}` },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const [W, H] = args.size.split('x').map(Number);

/** A photograph-like RGB image: overlapping colour waves plus sensor-like noise (500×375: about 90 KB as a quality-90 JPEG). */
function photoLike(i: number): Buffer {
  const [w, h] = [W, H];
  const px = Buffer.alloc(w * h * 3);
  let s = i * 9301 + 49297;
  const r = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const f = Array.from({ length: 6 }, () => 0.005 + r() * 0.04);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++) {
        const v =
          128 + 60 * Math.sin(x * f[k] + y * f[k + 3] + k) + 40 * Math.cos(x * y * 0.0003 * (k + 1)) + (r() - 0.5) * 60;
        px[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, v));
      }
    }
  }
  return px;
}

const dir = mkdtempSync(join(tmpdir(), 'epsilab-bench-data-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const n = Number(args.images);
for (let i = 0; i < n; i++) {
  const cls = join(dir, 'train', `n${String(i % 10).padStart(8, '0')}`);
  mkdirSync(cls, { recursive: true });
  mkdirSync(join(dir, 'val', `n${String(i % 10).padStart(8, '0')}`), { recursive: true });
  await sharp(photoLike(i), { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(join(cls, `${i}.jpg`));
}
writeFileSync(
  join(dir, 'val', 'n00000000', '0.jpg'),
  await sharp(photoLike(0), { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer(),
);
const config = join(dir, 'imagenet.yaml');
writeFileSync(
  config,
  `experiment: bench-data
extends: ${JSON.stringify(join(ROOT, 'configs/_base/imagenet-preact.yaml'))}
dataset: { type: image-folder, path: ${JSON.stringify(dir)} }
model: { type: preact-resnet-imagenet, depth: 18 }
train: { batch_size: ${Number(args.batch)} }
`,
);

interface Figures {
  fast_path_ms_per_image?: Record<string, number>;
  images: number;
  seconds: number;
  cpu_seconds: number;
  images_per_second: number;
  load_average_1m: number;
}

function run(cmd: string[], cores: number): Figures {
  const pinned = ['taskset', '-c', `0-${cores - 1}`, ...cmd];
  const r = spawnSync(pinned[0], pinned.slice(1), { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`${pinned.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, unknown>[] = [];
console.log(
  `${n} JPEGs in ${dir}; load average before: ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
for (const cores of args.cores.split(',').map(Number)) {
  const epsilab = [
    process.execPath,
    join(ROOT, 'bin/epsilab.js'),
    'bench-data',
    config,
    '--batches',
    args.batches,
    '--workers',
    String(cores > 1 ? cores : 0),
    '--json',
    ...(args.libvips ? ['--libvips'] : []),
  ];
  const torchvision = [
    PYTHON,
    join(ROOT, 'bench/data_torchvision.py'),
    join(dir, 'train'),
    '--workers',
    String(cores > 1 ? cores : 0),
    '--batch',
    args.batch,
    '--batches',
    args.batches,
  ];
  const got: Record<string, Figures[]> = { epsilab: [], torchvision: [] };
  for (let round = 0; round < Number(args.rounds); round++) {
    // Alternate which engine goes first, so a change in the machine's load falls on both.
    const order = round % 2 === 0 ? (['epsilab', 'torchvision'] as const) : (['torchvision', 'epsilab'] as const);
    for (const engine of order) got[engine].push(run(engine === 'epsilab' ? epsilab : torchvision, cores));
  }
  for (const engine of ['epsilab', 'torchvision'] as const) {
    const f = got[engine];
    const row = {
      engine,
      cores,
      workers: cores > 1 ? cores : 0,
      images_per_second: median(f.map((x) => x.images_per_second)),
      images_per_second_per_core: median(f.map((x) => x.images_per_second / cores)),
      images_per_cpu_second: median(f.map((x) => x.images / x.cpu_seconds)),
      spread_images_per_second: [
        Math.min(...f.map((x) => x.images_per_second)),
        Math.max(...f.map((x) => x.images_per_second)),
      ],
      load_average_1m: f.map((x) => x.load_average_1m),
      ...(f[0].fast_path_ms_per_image
        ? {
            fast_path_ms_per_image: Object.fromEntries(
              Object.keys(f[0].fast_path_ms_per_image).map((k) => [
                k,
                median(f.map((x) => x.fast_path_ms_per_image![k])),
              ]),
            ),
          }
        : {}),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}
console.log(
  `load average after: ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
