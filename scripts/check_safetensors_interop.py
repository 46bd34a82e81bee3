#!/usr/bin/env python3
"""Loads the safetensors file that Tessera's writer produced (the committed fixture
Tests/TesseraTests/Fixtures/swift_written.safetensors, which a Swift test re-encodes
byte for byte) with the Python `safetensors` package and checks every value."""
import json
import os
import sys

import numpy as np
from safetensors import safe_open

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "Tests", "TesseraTests", "Fixtures", "swift_written.safetensors")

with safe_open(path, framework="numpy") as f:
    metadata = f.metadata()
    weight = f.get_tensor("conv.weight")
    counter = f.get_tensor("bn.num_batches_tracked")
    empty = f.get_tensor("empty")

expected_weight = (np.arange(24, dtype=np.float32) * 0.5 - 3.0).reshape(2, 3, 2, 2)
assert weight.dtype == np.float32 and np.array_equal(weight, expected_weight), weight
assert counter.dtype == np.int64 and counter.shape == () and int(counter) == 7, counter
assert empty.shape == (0, 4), empty.shape
assert metadata == {"config": json.dumps({"width": 16}), "epoch": "3"}, metadata
print(f"ok: Python safetensors reads {os.path.relpath(path)} exactly")
