#!/usr/bin/env node
// Checks the layering of src/: an import (static, dynamic or type-only) may point only down the folder order
// below, no files import each other in a cycle, nothing outside src/backends reaches into one backend's own folder
// (it asks src/backends' interface for an ability), no import leaves src/, and a module path built at run time is
// imported only where RUNTIME_IMPORTS says. Exit 1 with each offending import, file:line, otherwise 0.
// `--root DIR` checks another tree (the tests plant violations in one).
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

/** Folders of src/backends that any layer may import: backend-independent wrappers of fused kernels. */
const SHARED_BACKEND_FOLDERS = ['fused'];

/** The only files that may import a module path built at run time, and why. */
const RUNTIME_IMPORTS = {
  'src/registry/modules.ts': "a config's plugins, and a worker thread finding a registered component again",
  'src/backends/select.ts': 'optional TensorFlow packages, which may not be installed',
};

const rootArg = process.argv.indexOf('--root');
const root = rootArg > 0 ? resolve(process.argv[rootArg + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), '..');
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

/** Lines of `import(x)` calls whose x is not a string literal. */
function runtimeImports(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = [];
  const walk = (node) => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      !(node.arguments.length && ts.isStringLiteralLike(node.arguments[0]))
    )
      lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    ts.forEachChild(node, walk);
  };
  walk(source);
  return lines;
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
  const at = (line) => `${relative(root, file)}:${line}`;
  for (const { target, line } of imports) {
    if (relative(src, target).startsWith('..')) {
      problems.push(`${at(line)}: imports ${relative(root, target)}, outside src/ (src/ ships alone)`);
      continue;
    }
    const [targetLayer, backendFolder, ...rest] = relative(src, target).split('/');
    if (
      from !== 'backends' &&
      targetLayer === 'backends' &&
      rest.length > 0 &&
      !SHARED_BACKEND_FOLDERS.includes(backendFolder)
    )
      problems.push(
        `${at(line)}: imports ${relative(root, target)}, inside one backend's folder: ask src/backends/*.ts for the ability instead`,
      );
    const to = layerOf(target);
    if (to !== from && LAYERS.indexOf(to) > LAYERS.indexOf(from))
      problems.push(
        `${relative(root, file)}:${line}: src/${from} imports src/${to}, a layer above it (${relative(root, target)})`,
      );
  }
}

for (const file of files) {
  if (RUNTIME_IMPORTS[relative(root, file)]) continue;
  for (const line of runtimeImports(file))
    problems.push(
      `${relative(root, file)}:${line}: imports a module path built at run time; only ${Object.keys(RUNTIME_IMPORTS).join(' and ')} may`,
    );
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
