"""The benchmark's pre-activation ResNet-20 in PyTorch, for the ratio `npm run bench` prints.

Same network as epsilab's `preact-resnet` (depth 20): conv0 + BN-ReLU, three stages of three basic pre-activation blocks
(16, 32, 64 channels), option-A shortcuts (2x2 average pool, zero channels), BN-ReLU, global average pool, FC.
Same step: softmax cross-entropy, SGD with momentum 0.9 and weight decay 5e-4, random 32x32x3 data.
Prints one JSON line: training and inference images/s (median step time after warm-up).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def option_a(x):
    ch = x.shape[1]
    return F.pad(F.avg_pool2d(x, 2, 2), (0, 0, 0, 0, ch // 2, ch // 2))


class Block(nn.Module):
    def __init__(self, cin, cout, stride, preact):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(cin, momentum=0.1, eps=1e-5) if preact else None
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.increase = cout != cin

    def forward(self, x):
        a = F.relu(self.bn0(x)) if self.bn0 is not None else x
        f = self.conv2(F.relu(self.bn1(self.conv1(a))))
        return f + (option_a(x) if self.increase else x)


class PreactResNet(nn.Module):
    def __init__(self, depth=20, classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv0 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn0 = nn.BatchNorm2d(16, momentum=0.1, eps=1e-5)
        blocks, ch = [], 16
        for stage, width in enumerate([16, 32, 64]):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(Block(ch, width, stride, preact=not (stage == 0 and i == 0)))
                ch = width
        self.blocks = nn.Sequential(*blocks)
        self.bnlast = nn.BatchNorm2d(ch, momentum=0.1, eps=1e-5)
        self.linear = nn.Linear(ch, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn0(self.conv0(x))))
        return self.linear(F.relu(self.bnlast(x)).mean((2, 3)))


def median_seconds(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--big-batch", type=int, default=1024, help="inference batch for the large-batch figure; 0 skips it")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = PreactResNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    def infer(batch):
        with torch.no_grad():
            model(batch).sum().item()

    model.train()
    train_s = median_seconds(train_step, 2, a.steps)
    model.eval()
    infer_s = median_seconds(lambda: infer(x), 2, a.steps)
    result = {
        "engine": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "train_img_s": a.batch / train_s,
        "infer_img_s": a.batch / infer_s,
        "params": sum(t.numel() for t in model.parameters()),
    }
    if a.big_batch > 0:
        big = torch.randn(a.big_batch, 3, 32, 32)
        result["infer_big_img_s"] = a.big_batch / median_seconds(lambda: infer(big), 1, 3)
        result["big_batch"] = a.big_batch
    print(json.dumps(result))


if __name__ == "__main__":
    main()
