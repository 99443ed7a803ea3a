"""Reads epsilab's TensorBoard event files with TensorBoard's own reader and checks what a user would see.

    python3 scripts/read-events.py RUN_DIR [SWEEP_DIR]

RUN_DIR (a run folder): every scalar tag loads with finite values, and the run's config is a text summary.
SWEEP_DIR (a sweep folder, optional): the HParams plugin finds the experiment (hparams and metrics) in the sweep's root
and a session start with hparams in each trial. Prints one JSON line with what it read; exits 1 naming what is missing,
2 when the tensorboard package is not installed.
"""
import json
import math
import os
import sys

try:
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.util import tensor_util
except ImportError as e:
    print(json.dumps({"error": f"tensorboard is not installed ({e})"}))
    sys.exit(2)


def load(folder):
    acc = EventAccumulator(folder, size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def event_folders(root):
    return sorted({d for d, _, files in os.walk(root) if any(f.startswith("events.out.tfevents.") for f in files)})


def read_run(run_dir, problems):
    acc = load(run_dir)
    scalars = acc.PluginTagToContent("scalars")
    texts = acc.PluginTagToContent("text")
    out = {"scalar_tags": len(scalars), "points": 0, "text_tags": sorted(texts)}
    for tag in scalars:
        values = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]
        out["points"] += len(values)
        if not values or not all(math.isfinite(v) for v in values):
            problems.append(f"scalar {tag}: {len(values)} values, not all finite")
    if not scalars:
        problems.append(f"{run_dir}: no scalar summaries")
    config = [t for t in texts if t.endswith("config")]
    if not config:
        problems.append(f"{run_dir}: no config text summary")
    else:
        text = tensor_util.make_ndarray(acc.Tensors(config[0])[0].tensor_proto).item().decode("utf8")
        if "experiment:" not in text:
            problems.append(f"{run_dir}: the config text does not hold the config")
    return out


def read_sweep(sweep_dir, problems):
    experiments, sessions = [], 0
    for folder in event_folders(sweep_dir):
        for tag, content in load(folder).PluginTagToContent("hparams").items():
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            kind = data.WhichOneof("data")
            if kind == "experiment":
                experiments.append({"hparams": [h.name for h in data.experiment.hparam_infos], "metrics": [m.name.tag for m in data.experiment.metric_infos]})
            elif kind == "session_start_info" and data.session_start_info.hparams:
                sessions += 1
    if not experiments or not experiments[0]["hparams"] or not experiments[0]["metrics"]:
        problems.append(f"{sweep_dir}: no HParams experiment with hparams and metrics")
    if sessions == 0:
        problems.append(f"{sweep_dir}: no HParams session start with hparams")
    return {"experiments": experiments, "sessions": sessions}


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    problems = []
    result = {"run": read_run(sys.argv[1], problems)}
    if len(sys.argv) == 3:
        result["sweep"] = read_sweep(sys.argv[2], problems)
    result["problems"] = problems
    print(json.dumps(result))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
