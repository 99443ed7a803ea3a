#!/usr/bin/env node
// Checks the layering of src/: an import (static, dynamic or type-only) may point only down the folder order
// below, and no files import each other in a cycle. Exit 1 with each offending import, file:line, otherwise 0.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** src/'s top-level folders, bottom (imported by everything) to top (imports anything below). */
export const LAYERS = [
  'util',
  'tensorboard',
  'registry',
  'backends',
  'data',
  'models',
  'run',
  'train',
  'components',
  'config',
  'sweep',
  'tables',
  'app',
  'runner',
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file, resolved to the .ts file they name, with the line they are on. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const lineOf = (pos) => text.slice(0, pos).split('\n').length;
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.filter((f) => f.fileName.startsWith('.'))
    .map((f) => ({ target: resolve(dirname(file), f.fileName.replace(/\.js$/, '.ts')), line: lineOf(f.pos) }));
}

const layerOf = (file) => relative(src, file).split('/')[0];
const files = sources(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const problems = [];

for (const [file, imports] of graph) {
  const from = layerOf(file);
  if (!LAYERS.includes(from))
    problems.push(
      `${relative(root, file)}: src/${from} is not a layer (add it to LAYERS in scripts/check-layers.mjs and the README)`,
    );
  for (const { target, line } of imports) {
    const to = layerOf(target);
    if (to !== from && LAYERS.indexOf(to) > LAYERS.indexOf(from))
      problems.push(
        `${relative(root, file)}:${line}: src/${from} imports src/${to}, a layer above it (${relative(root, target)})`,
      );
  }
}

// File cycles (type-only imports included) by Tarjan's strongly connected components.
let index = 0;
const indices = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function visit(v) {
  indices.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const { target: w } of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!indices.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
  }
  if (low.get(v) !== indices.get(v)) return;
  const component = [];
  for (let w; w !== v; ) {
    w = stack.pop();
    onStack.delete(w);
    component.push(w);
  }
  if (component.length > 1)
    problems.push(
      `import cycle between files: ${component
        .map((f) => relative(root, f))
        .sort()
        .join(', ')}`,
    );
}
for (const f of files) if (!indices.has(f)) visit(f);

for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`check-layers: ${problems.length} problem(s); src/ folders, bottom to top: ${LAYERS.join(', ')}`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, ${LAYERS.length} layers, imports point down, no cycles`);
