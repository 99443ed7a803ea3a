"""PyTorch's side of `bench/ddp.ts`: the benchmark's pre-activation ResNet-20 (bench/pytorch_resnet20.py) trained with
DistributedDataParallel over Gloo, one process per rank as torchrun starts them (`python3 -m torch.distributed.run
--nproc_per_node N bench/ddp_pytorch.py`), or in one process without DDP when started alone. Each rank trains on its
part of a global batch of random data (softmax cross-entropy, SGD with momentum 0.9 and weight decay 5e-4) in
channels-last memory; after --warmup steps, every rank prints one JSON line with the wall and CPU seconds of --steps
steps.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_resnet20 import PreactResNet  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=128, help="the global batch, split evenly over the ranks")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    torch.manual_seed(rank)
    model = PreactResNet().to(memory_format=torch.channels_last)
    if world > 1:
        dist.init_process_group("gloo")
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    per = a.batch // world
    x = torch.randn(per, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (per,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    for _ in range(a.warmup):
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}), flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
