#!/usr/bin/env python3
"""Writes the reference fixtures the Swift tests compare against.

Every fixture is a small safetensors file under Tests/TesseraTests/Fixtures/, produced
by PyTorch (the reference framework) or by the `safetensors` package. The tests never
need torch: run this script only to regenerate the committed files.

    pip install torch safetensors
    python3 scripts/make_fixtures.py
"""
import os
import sys

import torch
from safetensors.torch import save_file

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "TesseraTests", "Fixtures")


def save(name, tensors, metadata=None):
    path = os.path.join(FIXTURES, name)
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


def safetensors_interop():
    """A file written by Python's safetensors, as PyTorch writes a checkpoint."""
    weight = (torch.arange(24, dtype=torch.float32) * 0.25 - 3.0).reshape(2, 3, 2, 2)
    save(
        "python_written.safetensors",
        {
            "conv.weight": weight,
            "conv.bias": torch.tensor([1.5, -2.25], dtype=torch.float32),
            "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        },
        metadata={"format": "pt", "epoch": "3"},
    )


GROUPS = {"safetensors": safetensors_interop}

if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    for name in sys.argv[1:] or GROUPS:
        GROUPS[name]()
