#!/usr/bin/env python3
"""Projects data-parallel scaling of Tessera's benchmark configurations to N nodes.

A ring all-reduce moves 2(N-1)/N of the gradient bytes per node per step, plus 2(N-1)
latencies per bucket. Buckets (the first of 1 MB, then up to --bucket-mb, as DDP and
Tessera's DataParallel) are taken to become ready evenly over the backward pass (2/3 of
the step), and each starts once ready and once the one before has finished. Prints, per
configuration and node count, the ring time, the time not hidden behind the backward
pass without and with overlap, and the resulting scaling efficiency.

    python3 scripts/project_scaling.py --step-ms 267.5 1589.8 3125.8
"""
import argparse

MB = 2**20
PARAMETERS = {"i": 1_942_289, "ii": 7_762_465, "iii": 31_036_481}  # tessera summary --width 16/32/64


def exposed(gradient_bytes, step, nodes, bandwidth, latency, bucket, first, overlap):
    sizes, left, capacity = [], gradient_bytes, min(first, bucket)
    while left > 0:
        sizes.append(min(capacity, left))
        left -= sizes[-1]
        capacity = bucket
    backward, done, finish = step * 2 / 3, 0, 0.0
    for size in sizes:
        done += size
        ready = backward * done / gradient_bytes if overlap else backward
        cost = 2 * (nodes - 1) / nodes * size / bandwidth + 2 * (nodes - 1) * latency
        finish = max(ready, finish) + cost
    return max(0.0, finish - backward)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step-ms", type=float, nargs=3, required=True, help="measured step times of i, ii, iii")
    parser.add_argument("--bucket-mb", type=float, default=25)
    arguments = parser.parse_args()
    for gigabits, latency in [(10, 25e-6), (100, 5e-6)]:
        bandwidth = gigabits * 1e9 / 8
        print(f"\n{gigabits} Gb/s, {latency * 1e6:.0f} µs per message")
        print("| config | nodes | ring all-reduce ms | not hidden, no overlap ms (efficiency) | with overlap | with 1 MB buckets |")
        print("| --- | --- | --- | --- | --- | --- |")
        for (name, parameters), step_ms in zip(PARAMETERS.items(), arguments.step_ms):
            size, step = parameters * 4, step_ms / 1e3
            for nodes in (8, 32, 128):
                ring = 2 * (nodes - 1) / nodes * size / bandwidth
                cells = []
                for bucket, first, overlap in [(arguments.bucket_mb * MB, MB, False), (arguments.bucket_mb * MB, MB, True), (MB, MB, True)]:
                    hidden_not = exposed(size, step, nodes, bandwidth, latency, bucket, first, overlap)
                    cells.append(f"{hidden_not * 1e3:.1f} ({step / (step + hidden_not):.3f})")
                print(f"| {name} | {nodes} | {ring * 1e3:.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
