#!/usr/bin/env bash
# The libtorch backend checked end to end on this machine's GPU (or, without one, on the CPU):
#   1. build   the addon against this machine's libtorch (a CUDA PyTorch where there is one) and report what it found
#   2. kernels every libtorch kernel test, a ResNet step and the memory tests on the device, against tfjs's cpu backend
#              (TF32 off through NVIDIA_TF32_OVERRIDE=0, so float32 tolerances hold)
#   3. train   configs/quickstart.yaml on the device and on the CPU, and compare their test error
#   4. bench   ResNet-20 training and inference img/s against PyTorch on the same device (eager NCHW, channels-last, CUDA graphs)
#   5. events  the run's event files (scalars, config text) and a sweep's HParams data through TensorBoard's own reader
# Ends with one summary table and a `N passed, N failed` line; exit 1 when a check failed. Logs stay in the output folder.
#
#   scripts/gpu-check.sh [--quick] [--cpu] [--out DIR] [--python PY]
#     --quick   what CI runs (under a minute on 2 cores): no rebuild where the addon exists, a kernel subset, a 1-epoch
#               tiny config against the wasm backend instead of the quickstart, no benchmark
#     --cpu     use the CPU even where a GPU is available
#     --out     where logs and runs go (default results/gpu-check/<UTC time>)
#     --pack    DIR made by scripts/gpu-pack.sh: unpack Node, node_modules and dist/ from it first (a GPU machine without Node)
#     --python  the Python whose PyTorch (and tensorboard) to use (default $PYTHON, else the first of python3 and
#               /usr/bin/python3 that imports torch, as `epsilab doctor` reports it)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 FORCE_CPU=0 OUT='' PACK='' PY=${PYTHON:-}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --cpu) FORCE_CPU=1 ;;
    --out) OUT=$2; shift ;;
    --python) PY=$2; shift ;;
    --pack) PACK=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$PACK" ]; then
  echo "gpu-check: unpacking Node, node_modules and dist/ from $PACK"
  mkdir -p .gpu-node/bin
  xz -dc "$PACK/node.xz" >.gpu-node/bin/node && chmod +x .gpu-node/bin/node
  tar -xJf "$PACK/runtime.tar.xz"
  export PATH="$ROOT/.gpu-node/bin:$PATH"
fi
command -v node >/dev/null || { echo "gpu-check: no Node on PATH (scripts/gpu-pack.sh packs one for --pack)" >&2; exit 2; }
OUT=${OUT:-results/gpu-check/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
EPSILAB=(node "$ROOT/bin/epsilab.js")
STARTED=$SECONDS

ROWS=() PASSED=0 FAILED=0 SKIPPED=0
# row CHECK DEVICE RESULT(ok|FAILED|skipped) DETAIL
row() {
  ROWS+=("| $1 | $2 | $3 | $4 |")
  case $3 in ok) PASSED=$((PASSED + 1)) ;; skipped) SKIPPED=$((SKIPPED + 1)) ;; *) FAILED=$((FAILED + 1)) ;; esac
  echo "gpu-check: $1 ($2): $3: $4"
}
# json FILE EXPRESSION: evaluates EXPRESSION over the JSON in FILE (bound to `j`) and prints it.
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : v);' "$1" "$2"; }

if [ ! -f dist/src/runner/cli.js ]; then
  echo "gpu-check: compiling the TypeScript (dist/ is missing)"
  npx tsc -p tsconfig.json >"$OUT/tsc.log" 2>&1 || { echo "gpu-check: tsc failed, see $OUT/tsc.log" >&2; exit 1; }
fi

# 1. build ------------------------------------------------------------------------------------------------------------
has_gpu=0
if [ $FORCE_CPU = 0 ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then has_gpu=1; fi
addon=native/build/Release/epsilab_torch.node
if [ $QUICK = 1 ] && [ -f "$addon" ]; then
  build_note="not rebuilt (quick mode)"
else
  PYTHON=$PY JOBS=${JOBS:-$(( $(nproc) > 8 ? 8 : $(nproc) ))} node native/install.mjs >"$OUT/build.log" 2>&1
  build_note="rebuilt"
fi
if [ -f native/install.json ]; then
  status=$(json native/install.json 'j.status'); line=$(json native/install.json 'j.line')
else
  status=missing; line='npm install has not recorded a build (native/install.json)'
fi
PYTHON=$PY "${EPSILAB[@]}" doctor --json >"$OUT/doctor.json" 2>"$OUT/doctor.log"
[ -z "$PY" ] && PY=$(json "$OUT/doctor.json" 'j.pytorch.python' 2>/dev/null || echo python3)
cuda_devices=$(json "$OUT/doctor.json" 'j.libtorch.info ? (j.libtorch.info.cudaDevices ?? 0) : 0' 2>/dev/null || echo 0)
gpu_name=$(json "$OUT/doctor.json" 'j.gpus.devices.length ? j.gpus.devices[0].name : ""' 2>/dev/null || echo '')
if [ -f "$addon" ] && [ "$status" = built ]; then row build - ok "$build_note: $line"
elif [ -f "$addon" ]; then row build - ok "$build_note; the addon is there, npm install said: $line"
elif [ $QUICK = 1 ]; then row build - skipped "no libtorch addon here (the libtorch tests skip too): $line"
else row build - FAILED "$line"; fi

DEV=cpu
if [ $has_gpu = 1 ] && [ "$cuda_devices" -gt 0 ] 2>/dev/null; then DEV=cuda
elif [ $has_gpu = 1 ]; then echo "gpu-check: this machine has a GPU ($gpu_name) but the libtorch addon sees none: checking on the CPU (see $OUT/doctor.json)"; fi
where=$DEV; [ $DEV = cuda ] && where="cuda ($gpu_name)"

# 2. kernels ----------------------------------------------------------------------------------------------------------
if [ ! -f "$addon" ]; then
  row kernels "$where" skipped "no libtorch addon"
else
  tests=(dist/test/backends/libtorch/{kernels,resnet-step,memory}.test.js) pattern=()
  [ $QUICK = 1 ] && tests=(dist/test/backends/libtorch/kernels.test.js) pattern=(--test-name-pattern 'conv2d (3x3 s1 same|gradients 3x3 s2)|maxPool 3x3 s2 same even|batch norm|matMul|softmax|sum|relu')
  EPSILAB_TORCH_DEVICE=$DEV NVIDIA_TF32_OVERRIDE=0 node --test "${pattern[@]}" "${tests[@]}" >"$OUT/kernels.log" 2>&1
  pass=$(sed -n 's/^# pass //p' "$OUT/kernels.log"); fail=$(sed -n 's/^# fail //p' "$OUT/kernels.log"); skip=$(sed -n 's/^# skipped //p' "$OUT/kernels.log")
  detail="${pass:-0} passed, ${fail:-0} failed$([ $QUICK = 1 ] && echo ' (quick subset)'), against the cpu backend; log kernels.log"
  # Outside quick mode nothing may be skipped (a skip there means the backend did not load on the device).
  if [ "${fail:-1}" = 0 ] && [ "${pass:-0}" -gt 0 ] && { [ $QUICK = 1 ] || [ "${skip:-0}" = 0 ]; }; then row kernels "$where" ok "$detail"; else row kernels "$where" FAILED "$detail"; fi
fi

# 3. train ------------------------------------------------------------------------------------------------------------
# train NAME CONFIG SETS...: runs `epsilab run` into $OUT/NAME; prints nothing, leaves NAME.log and NAME/result.json.
train() {
  local name=$1 config=$2; shift 2
  local sets=(); for s in "$@"; do sets+=(--set "$s"); done
  local t0=$SECONDS
  "${EPSILAB[@]}" run "$config" "${sets[@]}" --run-dir "$OUT/$name" --force >"$OUT/$name.log" 2>&1
  echo $((SECONDS - t0)) >"$OUT/$name.seconds"
}
metric() { json "$OUT/$1/result.json" "j.metrics.$2" 2>/dev/null || echo NaN; }
if [ ! -f "$addon" ]; then
  row train "$where" skipped "no libtorch addon"
else
  if [ $QUICK = 1 ]; then
    config=$OUT/tiny.yaml
    cat >"$config" <<EOF
experiment: gpu-check-tiny
seed: 0
dataset: { type: synthetic, num_classes: 4, train_size: 128, test_size: 64, height: 8, width: 8 }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum, momentum: 0.9, weight_decay: 0.0002 }
schedule: { type: cosine, initial: 0.05, final: 0.001 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 32, eval_batch_size: 64 }
output: { root: $OUT/results }
EOF
    ref_name=wasm ref_sets=(backend=wasm) tol=0.0005 what='tiny config, 1 epoch'
  else
    config=configs/quickstart.yaml
    if [ $DEV = cuda ]; then ref_name=libtorch-cpu ref_sets=(backend=libtorch device=cpu); else ref_name=wasm ref_sets=(backend=wasm); fi
    tol=0.03 what='quickstart'
  fi
  train "run-$DEV" "$config" backend=libtorch "device=$DEV"
  train "run-$ref_name" "$config" "${ref_sets[@]}"
  a_err=$(metric "run-$DEV" test_error); b_err=$(metric "run-$ref_name" test_error)
  a_loss=$(metric "run-$DEV" train_loss); b_loss=$(metric "run-$ref_name" train_loss)
  verdict=$(node -e '
    const [ae, be, al, bl, tol, quick] = process.argv.slice(1).map(Number);
    const ok = [ae, be, al, bl].every(Number.isFinite) && (quick ? Math.abs(al - bl) <= tol * Math.abs(bl) && Math.abs(ae - be) <= 2 / 64 : Math.abs(ae - be) <= tol);
    console.log(ok ? "ok" : "FAILED");' "$a_err" "$b_err" "$a_loss" "$b_loss" "$tol" "$QUICK")
  pct() { node -e 'const v = Number(process.argv[1]); console.log(Number.isFinite(v) ? (100 * v).toFixed(2) + "%" : "none")' "$1"; }
  row train "$where vs $ref_name" "$verdict" "$what: test error $(pct "$a_err") vs $(pct "$b_err"), last train loss $a_loss vs $b_loss ($(cat "$OUT/run-$DEV.seconds") s vs $(cat "$OUT/run-$ref_name.seconds") s); allowed difference $([ $QUICK = 1 ] && echo "train loss ${tol} relative" || echo "$(pct "$tol") test error")"
fi

# 4. bench ------------------------------------------------------------------------------------------------------------
if [ $QUICK = 1 ]; then
  row bench "$where" skipped "quick mode (run scripts/gpu-check.sh without --quick)"
elif [ ! -f "$addon" ]; then
  row bench "$where" skipped "no libtorch addon"
else
  steps=$([ $DEV = cuda ] && echo 30 || echo 10)
  if node dist/bench/libtorch.js --device "$DEV" --python "$PY" --steps "$steps" --infer-steps 5 --skip-wasm --json "$OUT/bench.json" >"$OUT/bench.md" 2>"$OUT/bench.log"; then
    summary=$(node -e '
      const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
      const rate = (e, key, n) => (e && e.seconds[key] && e.seconds[key].length ? n / med(e.seconds[key]) : NaN);
      const byLabel = (l) => b.engines.find((e) => e.label === l);
      const [eager, graphs] = [byLabel("PyTorch channels-last"), byLabel("PyTorch channels-last CUDA graphs")];
      const vs = (x, ref, what) => (Number.isFinite(x) && Number.isFinite(ref) ? `, ${(x / ref).toFixed(2)}x ${what}` : "");
      console.log(b.engines.map((e) => {
        const [train, infer] = [rate(e, "train", 128), rate(e, "infer", 1024)];
        const mine = e.label.startsWith("tfjs") ? `${vs(train, rate(eager, "train", 128), "PyTorch eager")}${vs(train, rate(graphs, "train", 128), "PyTorch CUDA graphs")}` : "";
        return `${e.label} ${train.toFixed(0)} img/s train${mine}, ${infer.toFixed(0)} infer`;
      }).join("; "));' "$OUT/bench.json")
    row bench "$where" ok "ResNet-20, batch-128 training and batch-1024 inference (medians of $steps turns): $summary; full table in bench.md"
  else
    row bench "$where" FAILED "see bench.log"
  fi
fi

# 5. events -----------------------------------------------------------------------------------------------------------
if ! "$PY" -c 'import tensorboard' >/dev/null 2>&1; then
  row events - skipped "the tensorboard Python package is not installed for $PY (pip install tensorboard)"
elif [ ! -d "$OUT/run-$DEV" ]; then
  row events - skipped "no run to read"
else
  sweep_file=$OUT/sweep.yaml sweep_config=$OUT/sweep-base.yaml
  cat >"$sweep_config" <<EOF
experiment: gpu-check-sweep-trial
seed: 0
dataset: { type: synthetic, num_classes: 4, train_size: 128, test_size: 64, height: 8, width: 8 }
model: { type: preact-resnet, depth: 8 }
optimizer: { type: momentum }
schedule: { type: step, initial: 0.05 }
loss: { type: cross-entropy }
train: { epochs: 1, batch_size: 32, eval_batch_size: 64 }
output: { root: $OUT/results }
EOF
  cat >"$sweep_file" <<EOF
sweep: gpu-check-sweep
base: $sweep_config
grid: { schedule.initial: [0.05, 0.1] }
seeds: [0]
executor: { type: local, max_parallel: 2 }
EOF
  "${EPSILAB[@]}" sweep "$sweep_file" >"$OUT/sweep.log" 2>&1
  if "$PY" scripts/read-events.py "$OUT/run-$DEV" "$OUT/results/gpu-check-sweep" >"$OUT/events.json" 2>"$OUT/events.log"; then
    row events - ok "$(json "$OUT/events.json" '`${j.run.scalar_tags} scalar tags (${j.run.points} points), text ${j.run.text_tags.join(", ")}; HParams: ${j.sweep.experiments[0].hparams.length} hparams, ${j.sweep.experiments[0].metrics.length} metrics, ${j.sweep.sessions} sessions`')"
  else
    row events - FAILED "$(cat "$OUT/events.json" "$OUT/events.log" | tail -c 400)"
  fi
fi

echo
echo "## gpu-check $(date -u +%Y-%m-%dT%H:%MZ): $([ $DEV = cuda ] && echo "$gpu_name" || echo "CPU only ($(nproc) cores)"), $((SECONDS - STARTED)) s, logs in $OUT"
echo
echo '| check | device | result | detail |'
echo '|---|---|---|---|'
printf '%s\n' "${ROWS[@]}"
echo
# A count line only where a check ran: test-log readers take `0 passed` for a run that tested nothing.
if [ $((PASSED + FAILED)) -gt 0 ]; then echo "gpu-check: $PASSED passed, $FAILED failed, $SKIPPED skipped"; else echo "gpu-check: every check was skipped (reasons above)"; fi
[ $FAILED = 0 ]
