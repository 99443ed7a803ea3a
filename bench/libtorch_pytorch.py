"""PyTorch's side of `bench/libtorch.ts`: the benchmark's pre-activation ResNet-20 (bench/pytorch_resnet20.py) in NCHW or
channels-last memory (PyTorch's fastest layout with oneDNN on CPU, and the layout the libtorch backend uses), on the CPU
or a GPU; on a GPU optionally with each step captured once as a CUDA graph and replayed (PyTorch's notes/cuda.rst,
"whole-network capture": warm up on a side stream, capture forward, backward and optimizer step, then copy each new
batch into the captured input and replay).

Prints one JSON line saying what it runs, then serves commands from stdin, one per line: `train [B]` runs one training
step at batch B (default --batch; softmax cross-entropy, SGD with momentum 0.9 and weight decay 5e-4; a captured graph
only at --batch), `infer` one batch-1024 inference pass; each answers with the seconds it took and the CPU seconds the process used meanwhile.
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
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads; 0 leaves PyTorch's default")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--big-batch", type=int, default=1024)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--cuda-graph", action="store_true")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": f"this PyTorch ({torch.__version__}) sees no GPU"}), flush=True)
        return
    layout = torch.channels_last if a.channels_last else torch.contiguous_format
    model = PreactResNet().to(device=device, memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32, device=device).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (a.batch,), device=device)
    big = torch.randn(a.big_batch, 3, 32, 32, device=device).contiguous(memory_format=layout)

    batches = {a.batch: (x, y)}

    def train(batch=a.batch):
        if batch not in batches:
            batches[batch] = (torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=layout), torch.randint(0, 10, (batch,), device=device))
        bx, by = batches[batch]
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(bx), by)
        loss.backward()
        opt.step()
        loss.item()

    def infer():
        model.eval()
        with torch.no_grad():
            model(big).sum().item()

    if a.cuda_graph:
        train, infer = captured(model, opt, x, y, big)
    layout_name = "channels-last" if a.channels_last else "NCHW"
    where = f"{torch.cuda.get_device_name(device)}{', CUDA graphs' if a.cuda_graph else ''}" if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(json.dumps({"engine": f"PyTorch {torch.__version__} {layout_name}, {where}"}), flush=True)
    for line in sys.stdin:
        words = line.split()
        command = {"train": train, "infer": infer}.get(words[0] if words else "")
        if command is None:
            break
        start, cpu = time.perf_counter(), time.process_time()
        command(*[int(w) for w in words[1:]])
        print(time.perf_counter() - start, time.process_time() - cpu, flush=True)


def captured(model, opt, x, y, big):
    """The training step and the inference pass, each captured once as a CUDA graph; the callables replay them."""
    static_x, static_y, static_big = x.clone(), y.clone(), big.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        model.train()
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(static_x), static_y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    train_graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(train_graph):
        static_loss = F.cross_entropy(model(static_x), static_y)
        static_loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        model(static_big)
        infer_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(infer_graph):
            static_out = model(static_big).sum()

    def train(batch=x.shape[0]):
        if batch != x.shape[0]:
            raise ValueError(f"the CUDA graph was captured at batch {x.shape[0]}, not {batch}")
        static_x.copy_(x)
        static_y.copy_(y)
        train_graph.replay()
        static_loss.item()

    def infer():
        static_big.copy_(big)
        infer_graph.replay()
        static_out.item()

    return train, infer


if __name__ == "__main__":
    main()
