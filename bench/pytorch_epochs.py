"""PyTorch's side of bench/run-defaults.ts: the benchmark's pre-activation ResNet-20 trained as a plain PyTorch script
would train it, at PyTorch's defaults (no thread or memory-format settings unless asked), on synthetic 32x32x3 images.

Each epoch shuffles the images and runs forward, softmax cross-entropy, backward and SGD (momentum 0.9, weight decay
5e-4) over them; one JSON line per epoch gives its training images/s (the loss is read once per epoch, as a training
script logs it).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from pytorch_resnet20 import PreactResNet


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--train-size", type=int, default=2048)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 leaves PyTorch's default")
    p.add_argument("--channels-last", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = PreactResNet().to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    images = torch.randn(a.train_size, 3, 32, 32).contiguous(memory_format=fmt)
    labels = torch.randint(0, 10, (a.train_size,))
    model.train()
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(a.train_size)
        steps = a.train_size // a.batch
        for s in range(steps):
            idx = order[s * a.batch : (s + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(images[idx].contiguous(memory_format=fmt)), labels[idx])
            loss.backward()
            opt.step()
        loss = loss.item()
        seconds = time.perf_counter() - start
        print(
            json.dumps(
                {
                    "engine": f"pytorch {torch.__version__}",
                    "threads": torch.get_num_threads(),
                    "epoch": epoch,
                    "images_per_sec": steps * a.batch / seconds,
                    "loss": loss,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
