"""PyTorch's side of `bench/time-to-accuracy.ts`: configs/fashion-mnist-resnet20.yaml's recipe in PyTorch.

The same pre-activation ResNet-20 (bench/pytorch_resnet20.py, one input channel), the same data (the Fashion-MNIST IDX
files), the same augmentation (2-pixel zero pad and a random crop at offsets 0..3, horizontal flip, minus the mean
training image, divided by 128), SGD with momentum 0.9 and weight decay 5e-4 on conv and FC kernels only, batch 128
with the last partial batch dropped, a cosine learning rate from 0.1 to 0 moved at every step, channels-last memory.
Prints one JSON line per epoch: {"epoch", "seconds" (since the script started), "test_accuracy"}.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_resnet20 import PreactResNet  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads; 0 leaves PyTorch's default")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    load = lambda name: idx(os.path.join(a.data, name))  # noqa: E731
    train_x = torch.from_numpy(load("train-images-idx3-ubyte.gz").astype(np.float32)).unsqueeze(1)
    train_y = torch.from_numpy(load("train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = torch.from_numpy(load("t10k-images-idx3-ubyte.gz").astype(np.float32)).unsqueeze(1)
    test_y = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    mean = train_x.mean(0, keepdim=True)
    test_x = ((test_x - mean) / 128).contiguous(memory_format=torch.channels_last)
    padded = F.pad(train_x, (2, 2, 2, 2))

    model = PreactResNet(in_channels=1).to(memory_format=torch.channels_last)
    # With one input channel a batch's strides read as NCHW as well as channels-last, and PyTorch then runs the whole
    # network in NCHW (several times slower on CPU here): the stem's output is made channels-last so the rest runs so.
    model.conv0.register_forward_hook(lambda module, inputs, out: out.contiguous(memory_format=torch.channels_last))
    kernels = [p for n, p in model.named_parameters() if p.dim() > 1]
    others = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0}], lr=0.1, momentum=0.9)
    steps = len(train_x) // a.batch
    total = steps * a.epochs
    n, h, w = len(train_x), train_x.shape[2], train_x.shape[3]
    for epoch in range(a.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(n))
        for i in range(steps):
            lr = 0.1 * (1 + math.cos(math.pi * (epoch * steps + i) / total)) / 2
            for g in opt.param_groups:
                g["lr"] = lr
            ids = order[i * a.batch : (i + 1) * a.batch]
            oy, ox = (torch.from_numpy(rng.integers(0, 4, size=len(ids))) for _ in range(2))
            batch = padded[ids]
            x = torch.empty(len(ids), 1, h, w)
            for dy in range(4):
                for dx in range(4):
                    at = (oy == dy) & (ox == dx)
                    x[at] = batch[at, :, dy : dy + h, dx : dx + w]
            flip = torch.from_numpy(rng.random(len(ids)) < 0.5)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            x = ((x - mean) / 128).contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), train_y[ids]).backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for j in range(0, len(test_x), 1000):
                correct += (model(test_x[j : j + 1000]).argmax(1) == test_y[j : j + 1000]).sum().item()
        print(json.dumps({"epoch": epoch + 1, "seconds": time.perf_counter() - START, "test_accuracy": correct / len(test_x)}), flush=True)


if __name__ == "__main__":
    main()
