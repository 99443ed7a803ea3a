"""torchvision's ImageFolder + DataLoader with PIL and the transforms equivalent to epsilab's ImageNet training ones
(configs/_base/imagenet-preact.yaml): random-sized crop to 224 with bicubic resize, colour jitter in random order with
PCA lighting, horizontal flip, normalisation. Times `--batches` batches after one warm-up batch; prints one JSON line.

  python3 bench/data_torchvision.py <image-folder> --workers 2 --batch 64 --batches 10
"""
import argparse
import json
import os
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T

EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])


class Lighting:
    """AlexNet PCA lighting noise on a [0, 1] tensor (fb.resnet.torch), the step torchvision lacks."""

    def __init__(self, std):
        self.std = std

    def __call__(self, img):
        alpha = torch.randn(3) * self.std
        return img + (EIGVEC @ (alpha * EIGVAL)).view(3, 1, 1)


def cpu_seconds(pids):
    """User + system CPU time of these processes, from /proc (DataLoader workers are separate processes)."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0.0
    for pid in pids:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('folder')
    ap.add_argument('--workers', type=int, default=0)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--batches', type=int, default=10)
    a = ap.parse_args()
    transform = T.Compose([
        T.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(0.75, 1.333), interpolation=T.InterpolationMode.BICUBIC),
        # epsilab adds a brightness shift of up to ±30 of 255; torchvision scales instead (the same work per pixel).
        T.ColorJitter(brightness=0.12, contrast=0.2, saturation=0.4),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        Lighting(0.1),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    data = datasets.ImageFolder(a.folder, transform)
    loader = DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True, persistent_workers=a.workers > 0)
    images, made = 0, 0
    while made <= a.batches:
        it = iter(loader)
        for x, _ in it:
            if made == 0:
                pids = [os.getpid()] + [w.pid for w in getattr(it, '_workers', [])]
                start, cpu0 = time.perf_counter(), cpu_seconds(pids)
            else:
                images += x.shape[0]
            made += 1
            if made > a.batches:
                break
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(pids) - cpu0
    print(json.dumps({
        'engine': f'torchvision {__import__("torchvision").__version__} + PIL, torch {torch.__version__}',
        'workers': a.workers, 'batch_size': a.batch, 'batches': a.batches, 'images': images,
        'seconds': round(seconds, 3), 'cpu_seconds': round(cpu, 3), 'images_per_second': round(images / seconds, 1),
        'load_average_1m': os.getloadavg()[0],
    }))


if __name__ == '__main__':
    main()
