"""PyTorch's side of `bench/libtorch.ts`: the benchmark's pre-activation ResNet-20 (bench/pytorch_resnet20.py) in NCHW or
channels-last memory (PyTorch's fastest layout with oneDNN on CPU, and the layout the libtorch backend uses).

Prints one JSON line saying what it runs, then serves commands from stdin, one per line: `train` runs one training step
at the given batch (softmax cross-entropy, SGD with momentum 0.9 and weight decay 5e-4), `infer` one batch-1024
inference pass; each answers with the seconds it took.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_resnet20 import PreactResNet  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--big-batch", type=int, default=1024)
    p.add_argument("--channels-last", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layout = torch.channels_last if a.channels_last else torch.contiguous_format
    model = PreactResNet().to(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (a.batch,))
    big = torch.randn(a.big_batch, 3, 32, 32).contiguous(memory_format=layout)

    def train():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    def infer():
        model.eval()
        with torch.no_grad():
            model(big).sum().item()

    layout_name = "channels-last" if a.channels_last else "NCHW"
    print(json.dumps({"engine": f"PyTorch {torch.__version__} {layout_name}, {torch.get_num_threads()} threads"}), flush=True)
    for line in sys.stdin:
        command = {"train": train, "infer": infer}.get(line.strip())
        if command is None:
            break
        start = time.perf_counter()
        command()
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
