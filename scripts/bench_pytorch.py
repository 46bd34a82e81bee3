#!/usr/bin/env python3
"""PyTorch's side of `tessera bench --compare-pytorch`: the same U-Net (scripts/torch_unet.py,
Pytorch-UNet's architecture), loss (BCE with logits) and optimizer (Adam) on the same
input shapes and thread count; prints one JSON object like `tessera bench step --json`.

    python3 scripts/bench_pytorch.py --config i --threads 2 [--im2col]

`--im2col` disables oneDNN (mkldnn) so that PyTorch convolves with its own im2col + GEMM
path (the algorithm family Tessera uses).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_unet import UNet  # noqa: E402

CONFIGS = {"i": (16, 4, 128, 4), "ii": (32, 4, 256, 2), "iii": (64, 4, 256, 1)}


def median_ms(body, warmup, runs):
    for _ in range(warmup):
        body()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", choices=CONFIGS, default="i")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--im2col", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.im2col:
        torch.backends.mkldnn.enabled = False
    width, depth, size, batch = CONFIGS[args.config]
    torch.manual_seed(0)
    model = UNet(1, 1, width, depth, False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, size, size)
    y = (torch.rand(batch, 1, size, size) > 0.5).float()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(model(x), y).backward()
        optimizer.step()

    model.train()
    train = median_ms(train_step, warmup=3, runs=args.runs)
    model.eval()
    with torch.no_grad():
        infer = median_ms(lambda: model(x), warmup=2, runs=args.runs)
    print(json.dumps({
        "config": args.config, "framework": "pytorch-im2col" if args.im2col else "pytorch",
        "version": torch.__version__, "width": width, "depth": depth, "size": size, "batch": batch,
        "train_ms_per_step": round(train, 2), "infer_ms_per_batch": round(infer, 2),
        "images_per_second": round(batch / train * 1e3, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": args.threads,
    }))


if __name__ == "__main__":
    main()
