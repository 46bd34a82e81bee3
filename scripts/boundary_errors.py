#!/usr/bin/env python3
"""Where a segmentation's wrong pixels lie: how many are within 0, 1 or 2 px of the true
mask's boundary between foreground and background.

    tessera predict --model runs/isbi/best.safetensors --input data/isbi2012/val/images --out /tmp/pred
    python3 scripts/boundary_errors.py /tmp/pred data/isbi2012/val/masks

Needs numpy, scipy and pillow (pip install scikit-learn pillow); Tessera's tests do not.
"""
import pathlib
import sys

import numpy as np
from PIL import Image
from scipy import ndimage


def main(predicted_folder: str, masks_folder: str) -> None:
    pixels = errors = 0
    within = {0: 0, 1: 0, 2: 0}
    for mask_path in sorted(pathlib.Path(masks_folder).glob("*.png")):
        predicted_path = pathlib.Path(predicted_folder) / mask_path.name
        if not predicted_path.exists():
            sys.exit(f"{predicted_path}: no prediction for the mask {mask_path}")
        truth = np.array(Image.open(mask_path)) > 127
        predicted = np.array(Image.open(predicted_path)) > 127
        if truth.shape != predicted.shape:
            sys.exit(f"{predicted_path}: {predicted.shape} pixels, the mask {mask_path} has {truth.shape}")
        wrong = truth != predicted
        # Boundary pixels: either side of a change between foreground and background.
        boundary = (truth & ~ndimage.binary_erosion(truth, border_value=1)) | (~truth & ~ndimage.binary_erosion(~truth, border_value=1))
        distance = ndimage.distance_transform_edt(~boundary)
        pixels += truth.size
        errors += int(wrong.sum())
        for reach in within:
            within[reach] += int((wrong & (distance <= reach + 0.5)).sum())
    if pixels == 0:
        sys.exit(f"{masks_folder}: no PNG masks")
    print(f"pixel accuracy {1 - errors / pixels:.4f} ({errors} wrong of {pixels})")
    for reach, count in within.items():
        print(f"wrong pixels within {reach} px of the true boundary: {count / max(errors, 1):.1%}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: boundary_errors.py PREDICTED_FOLDER MASKS_FOLDER")
    main(sys.argv[1], sys.argv[2])
