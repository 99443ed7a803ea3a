#!/usr/bin/env node
// Re-runs every reduced config that states claims in its header and checks each claim on each run.
// Usage: node scripts/check-claims.mjs [config.yaml ...] [--seeds 0,1,2] [--backends libtorch,wasm] [--runs DIR] [--list]
//   With no config, every configs/reduced/*.yaml with a `# claims:` line. --seeds/--backends narrow the header's lists;
//   --runs holds the run folders (default results/claims): a run already done there is reused, not retrained;
//   --list prints the commands and the claims without running anything.
// Exit codes: 0 every claim holds, 1 a claim fails or a run fails, 2 bad arguments or a malformed claim.
//
// Header grammar (YAML comments, so the config itself is unchanged):
//   # claims: seeds 0 1 2; backends libtorch wasm; compress; baseline other-config.yaml
//   # claim: metrics.test_error = 0.152 ± 0.02                 each run's value within the stated value ± tolerance
//   # claim: compression.after.error = metrics.test_error ± 0.001   two values of the same run agree
//   # claim: metrics.test_error ≤ baseline.metrics.test_error + 0.02  at most the baseline's (same seed, backend) plus a margin
//   # claim: mean(metrics.test_error) ≤ mean(baseline.metrics.test_error) + 0.02   means over the seeds, once per backend
//   # claim on wasm: mean(metrics.test_error) = 0.22 ± 0.01    a claim that holds for one backend only
// A value is a dotted path into the run's result.json (`baseline.` reads the baseline run's); `compress` runs
// `epsilab compress` after each run; the baseline config (relative to the claiming one) runs with the same seeds and backends.
// A `mean(...)` claim takes means on both sides (a number stays a number) and is checked when every seed's run finished.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'epsilab.js');

class ClaimError extends Error {}

/** The claims block of a config file's header, or null when it states none. */
export function parseClaims(text, file) {
  const lines = text.split('\n').filter((l) => l.startsWith('#'));
  const header = lines.find((l) => /^#\s*claims:/.test(l));
  const claimLines = lines.filter((l) => /^#\s*claim(?:\s+on\s+[\w-]+)?:/.test(l));
  if (!header) {
    if (claimLines.length)
      throw new ClaimError(`${file}: claim lines without a '# claims:' line saying which runs they hold for`);
    return null;
  }
  const runs = { seeds: [0], backends: ['auto'], compress: false, baseline: null };
  for (const part of header
    .replace(/^#\s*claims:/, '')
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [word, ...rest] = part.split(/\s+/);
    if (word === 'seeds') runs.seeds = rest.map((s) => Number(s));
    else if (word === 'backends') runs.backends = rest;
    else if (word === 'compress' && rest.length === 0) runs.compress = true;
    else if (word === 'baseline' && rest.length === 1) runs.baseline = resolve(dirname(file), rest[0]);
    else
      throw new ClaimError(
        `${file}: '# claims:' part '${part}' is not one of: seeds N..., backends NAME..., compress, baseline FILE`,
      );
  }
  if (runs.seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new ClaimError(`${file}: seeds must be non-negative integers`);
  const claims = claimLines.map((l) => {
    const [, backend, text] = /^#\s*claim(?:\s+on\s+([\w-]+))?:(.*)$/.exec(l);
    if (backend && !runs.backends.includes(backend))
      throw new ClaimError(
        `${file}: a claim on ${backend}, which is not one of the '# claims:' backends (${runs.backends.join(' ')})`,
      );
    return { ...parseClaim(text.trim(), file), backend: backend ?? null };
  });
  if (!claims.length) throw new ClaimError(`${file}: a '# claims:' line but no '# claim:' line`);
  return { runs, claims };
}

const PATH = String.raw`[A-Za-z_][\w./-]*`;
const NUMBER = String.raw`(-?\d+(?:\.\d+)?(?:e-?\d+)?)`;
const VALUE = String.raw`(mean\(\s*${PATH}\s*\)|${PATH}|-?\d+(?:\.\d+)?(?:e-?\d+)?)`;

function parseClaim(text, file) {
  let claim;
  let m = new RegExp(String.raw`^${VALUE}\s*=\s*${VALUE}\s*(?:±|\+-)\s*${NUMBER}$`).exec(text);
  if (m) claim = { text, kind: 'equal', lhs: m[1], rhs: m[2], tolerance: Number(m[3]) };
  m = claim ? null : new RegExp(String.raw`^${VALUE}\s*(?:≤|<=)\s*${VALUE}(?:\s*\+\s*${NUMBER})?$`).exec(text);
  if (m) claim = { text, kind: 'at-most', lhs: m[1], rhs: m[2], margin: Number(m[3] ?? 0) };
  if (!claim)
    throw new ClaimError(
      `${file}: cannot read the claim '${text}': write 'PATH = VALUE ± TOLERANCE' or 'PATH ≤ VALUE [+ MARGIN]', a path as mean(PATH) for its mean over the seeds`,
    );
  const sides = [claim.lhs, claim.rhs].filter((v) => !isNumber(v));
  const means = sides.filter((v) => v.startsWith('mean('));
  if (means.length && means.length !== sides.length)
    throw new ClaimError(
      `${file}: the claim '${text}' compares a mean over the seeds with one run's value: write mean(...) on both sides`,
    );
  const unwrap = (v) => v.replace(/^mean\(\s*(.*?)\s*\)$/, '$1');
  return { ...claim, lhs: unwrap(claim.lhs), rhs: unwrap(claim.rhs), over: means.length ? 'seeds' : 'run' };
}

const isNumber = (value) => /^-?\d/.test(value);

function lookup(value, results) {
  if (isNumber(value)) return Number(value);
  const [source, path] = value.startsWith('baseline.') ? ['baseline', value.slice('baseline.'.length)] : ['run', value];
  let v = results[source];
  if (v === undefined)
    throw new ClaimError(`'${value}' reads a baseline run, but the '# claims:' line names no baseline`);
  for (const key of path.split('.')) v = v?.[key];
  return typeof v === 'number' ? v : undefined;
}

/** A value's mean over the seeds' results, or undefined when a run lacks it. */
function lookupMean(value, seedResults) {
  const values = seedResults.map((results) => lookup(value, results));
  return values.some((v) => v === undefined) ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Checks one claim: a per-run claim against one run's results ({run, baseline}), a mean claim against the list of every
 * seed's results. Returns {ok, lhs, rhs, why}.
 */
export function checkClaim(claim, results) {
  const value = (v) => (claim.over === 'seeds' ? lookupMean(v, results) : lookup(v, results));
  const lhs = value(claim.lhs);
  const rhs = value(claim.rhs);
  const show = (v) => (claim.over === 'seeds' && !isNumber(v) ? `mean(${v})` : v);
  if (lhs === undefined || rhs === undefined)
    return { ok: false, lhs, rhs, why: `${show(lhs === undefined ? claim.lhs : claim.rhs)}: not in every result.json` };
  if (claim.kind === 'equal')
    return {
      ok: Math.abs(lhs - rhs) <= claim.tolerance + 1e-12,
      lhs,
      rhs,
      why: `|${fmt(lhs)} − ${fmt(rhs)}| = ${fmt(Math.abs(lhs - rhs))}, tolerance ${claim.tolerance}`,
    };
  return { ok: lhs <= rhs + claim.margin + 1e-12, lhs, rhs, why: `${fmt(lhs)} ≤ ${fmt(rhs)} + ${claim.margin}` };
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(4));

function epsilab(args) {
  console.log(`$ npx epsilab ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status ?? 1;
}

function readJson(file) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/** Trains (or reuses) one run of `config` and compresses it when asked; its result.json, or null when it failed. */
function runOnce(config, seed, backend, runsDir, compress, list) {
  const dir = join(runsDir, basename(config, '.yaml'), `${backend}-seed${seed}`);
  const args = [
    'run',
    relative(root, config),
    '--set',
    `seed=${seed}`,
    '--set',
    `backend=${backend}`,
    '--run-dir',
    relative(root, dir),
  ];
  if (list) {
    console.log(`npx epsilab ${args.join(' ')}${compress ? ` && npx epsilab compress ${relative(root, dir)}` : ''}`);
    return null;
  }
  if (epsilab(args) !== 0) return null;
  let result = readJson(join(dir, 'result.json'));
  if (compress && !result?.compression) {
    if (epsilab(['compress', relative(root, dir)]) !== 0) return null;
    result = readJson(join(dir, 'result.json'));
  }
  return result;
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seeds: { type: 'string' },
      backends: { type: 'string' },
      runs: { type: 'string', default: 'results/claims' },
      list: { type: 'boolean', default: false },
    },
  });
  const configs = positionals.length
    ? positionals.map((p) => resolve(p))
    : readdirSync(join(root, 'configs', 'reduced'))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => join(root, 'configs', 'reduced', f));
  const runsDir = resolve(root, values.runs);
  const rows = [];
  let failed = 0;
  /** Checks one claim on `results` (a run's, or every seed's for a mean) unless a run it needs failed, and adds its row. */
  const record = (config, backend, seed, claim, missing, results) => {
    const check = missing ? { ok: false, why: missing } : checkClaim(claim, results);
    if (!check.ok) failed += 1;
    rows.push(
      `| ${basename(config)} | ${backend} | ${seed} | ${claim.backend ? `on ${claim.backend}: ` : ''}${claim.text} | ${check.ok ? 'holds' : '**fails**'}: ${check.why} |`,
    );
  };
  for (const config of configs) {
    if (!existsSync(config)) throw new ClaimError(`${config} does not exist`);
    const parsed = parseClaims(readFileSync(config, 'utf8'), config);
    if (!parsed) {
      if (positionals.length)
        throw new ClaimError(
          `${relative(root, config)} states no claims ('# claims:' and '# claim:' lines in its header)`,
        );
      continue;
    }
    const { runs, claims } = parsed;
    const seeds = values.seeds
      ? values.seeds
          .split(',')
          .map(Number)
          .filter((s) => runs.seeds.includes(s))
      : runs.seeds;
    const backends = values.backends
      ? values.backends.split(',').filter((b) => runs.backends.includes(b))
      : runs.backends;
    if (!seeds.length || !backends.length)
      throw new ClaimError(
        `${relative(root, config)}: its claims hold for seeds ${runs.seeds.join(' ')} on ${runs.backends.join(' ')}; --seeds/--backends leave none of them`,
      );
    if (values.list)
      console.log(
        `${relative(root, config)}:\n${claims.map((c) => `  claim${c.backend ? ` on ${c.backend}` : ''}: ${c.text}`).join('\n')}`,
      );
    for (const backend of backends) {
      const ours = claims.filter((c) => c.backend === null || c.backend === backend);
      const perSeed = [];
      for (const seed of seeds) {
        const results = { run: runOnce(config, seed, backend, runsDir, runs.compress, values.list) };
        if (runs.baseline) results.baseline = runOnce(runs.baseline, seed, backend, runsDir, false, values.list);
        if (values.list) continue;
        const missing =
          results.run === null
            ? 'the run failed'
            : runs.baseline && results.baseline === null
              ? 'the baseline run failed'
              : null;
        perSeed.push({ results, missing });
        for (const claim of ours.filter((c) => c.over === 'run'))
          record(config, backend, seed, claim, missing, results);
      }
      if (values.list) continue;
      const missing = perSeed.find((p) => p.missing)?.missing;
      const allSeeds = perSeed.map((p) => p.results);
      for (const claim of ours.filter((c) => c.over === 'seeds'))
        record(config, backend, `mean of ${seeds.join(' ')}`, claim, missing, allSeeds);
    }
  }
  if (values.list) return 0;
  console.log(['', '| config | backend | seed | claim | result |', '|---|---|---|---|---|', ...rows].join('\n'));
  console.log(failed ? `\n${failed} of ${rows.length} claim checks fail` : `\nall ${rows.length} claim checks hold`);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (err) {
    if (!(err instanceof ClaimError) && err?.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw err;
    console.error(`check-claims: ${err.message}`);
    process.exitCode = 2;
  }
}
