#!/usr/bin/env python3
"""Converts a Pytorch-UNet checkpoint (.pth, as milesial/Pytorch-UNet's train.py saves
it) to safetensors, which `tessera predict`, `evaluate`, `summary`, `explain filters` and
`train --init-from` read directly: the U-Net's configuration is inferred from the tensor
names and shapes, and the 'mask_values' list the checkpoint carries becomes the class
mapping.

    pip install torch safetensors
    python3 scripts/convert_pytorch_unet.py checkpoint_epoch5.pth unet.safetensors
"""
import json
import sys

import torch
from safetensors.torch import save_file


def main(source, target):
    state = torch.load(source, map_location="cpu", weights_only=False)
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    metadata = {}
    mask_values = state.pop("mask_values", None) if isinstance(state, dict) else None
    if mask_values is not None:
        values = [int(v) if not isinstance(v, (list, tuple)) else None for v in mask_values]
        if None in values:
            sys.exit(f"{source}: mask_values {mask_values} are colours; give --class-values to tessera instead")
        metadata["mask_values"] = json.dumps(values)
    tensors = {name: value.detach().contiguous() for name, value in state.items() if isinstance(value, torch.Tensor)}
    skipped = sorted(name for name, value in state.items() if not isinstance(value, torch.Tensor))
    if not tensors:
        sys.exit(f"{source}: no tensors found (expected a state_dict)")
    save_file(tensors, target, metadata=metadata or None)
    print(f"wrote {target}: {len(tensors)} tensors" + (f", skipped {skipped}" if skipped else "")
          + (f", mask values {metadata['mask_values']}" if metadata else ""))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
