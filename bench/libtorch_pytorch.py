"""PyTorch's side of `bench/libtorch.ts`: the benchmark's pre-activation ResNet-20 (bench/pytorch_resnet20.py) trained
and run for inference in NCHW or in channels-last memory (PyTorch's fastest layout with oneDNN on CPU, and the layout the
libtorch backend uses). Prints one JSON line with images/s (median step after warm-up).
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_resnet20 import PreactResNet, median_seconds  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--big-batch", type=int, default=1024)
    p.add_argument("--steps", type=int, default=5)
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

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    def infer():
        with torch.no_grad():
            model(big).sum().item()

    model.train()
    train_s = median_seconds(train_step, 2, a.steps)
    model.eval()
    infer_s = median_seconds(infer, 1, 3)
    print(json.dumps({
        "engine": f"PyTorch {torch.__version__} {'channels-last' if a.channels_last else 'NCHW'}",
        "threads": torch.get_num_threads(),
        "train_img_s": a.batch / train_s,
        "infer_big_img_s": a.big_batch / infer_s,
    }))


if __name__ == "__main__":
    main()
