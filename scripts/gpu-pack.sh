#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has PyTorch, a compiler and Python but no Node and no
# package registry: this Node binary, the production node_modules (without the packages no check imports: ONNX Runtime,
# the tfjs umbrella, TypeScript, ESLint, Prettier), the compiled dist/ and the Node-API headers node-gyp builds against.
#
#   scripts/gpu-pack.sh [DIR]          (default gpu-pack/, ignored by git; about 40 MB)
#
# There, from a copy of the repository that holds DIR:   bash scripts/gpu-check.sh --pack DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-gpu-pack}
mkdir -p "$DIR"

npx tsc -p tsconfig.json
node_version=$(node -p process.version)
if [ ! -f "$DIR/node.xz" ] || [ "$(cat "$DIR/node.version" 2>/dev/null)" != "$node_version" ]; then
  echo "gpu-pack: compressing Node $node_version (xz -6, a minute or two)"
  xz -6 -T0 -c "$(command -v node)" >"$DIR/node.xz.tmp" && mv "$DIR/node.xz.tmp" "$DIR/node.xz"
  echo "$node_version" >"$DIR/node.version"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
headers=$(dirname "$(dirname "$(command -v node)")")/include/node
# node-gyp builds against <node prefix>/include/node; the Node-API headers are all the addon includes from there.
mkdir -p "$stage/.gpu-node/include/node"
for f in common.gypi config.gypi node_api.h node_api_types.h js_native_api.h js_native_api_types.h node_version.h; do
  if [ -f "$headers/$f" ]; then cp "$headers/$f" "$stage/.gpu-node/include/node/"; fi
done
[ -f "$stage/.gpu-node/include/node/common.gypi" ] || { echo "gpu-pack: no Node headers in $headers" >&2; exit 1; }
echo "gpu-pack: packing node_modules, dist/ and the Node-API headers"
tar -C "$stage" -cf "$DIR/runtime.tar" .gpu-node
tar -rf "$DIR/runtime.tar" --dereference --exclude='*.map' \
  --exclude='node_modules/onnxruntime-node' --exclude='node_modules/@tensorflow' --exclude='node_modules/core-js' \
  --exclude='node_modules/typescript' --exclude='node_modules/eslint' --exclude='node_modules/eslint-*' --exclude='node_modules/@eslint' \
  --exclude='node_modules/@typescript-eslint' --exclude='node_modules/typescript-eslint' --exclude='node_modules/prettier' \
  --exclude='node_modules/@types' node_modules dist
# Of each tfjs package, what Node loads: its package.json, its bundled Node build (package.json's main) and the wasm binaries.
node -e '
  const fs = require("fs"), path = require("path");
  for (const name of fs.readdirSync("node_modules/@tensorflow")) {
    const dir = path.join("node_modules/@tensorflow", name);
    const files = ["package.json", JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).main];
    for (const f of fs.readdirSync(path.join(dir, "dist"))) if (f.endsWith(".wasm")) files.push(path.join("dist", f));
    if (fs.existsSync(path.join(dir, "node_modules"))) files.push("node_modules");
    for (const f of files) console.log(path.join(dir, f));
  }' >"$stage/tfjs-files"
tar -rf "$DIR/runtime.tar" --dereference -T "$stage/tfjs-files"
xz -6 -T0 -f "$DIR/runtime.tar"
du -sh "$DIR"/node.xz "$DIR"/runtime.tar.xz
echo "gpu-pack: done; carry $DIR to the GPU machine and run: bash scripts/gpu-check.sh --pack $DIR"
