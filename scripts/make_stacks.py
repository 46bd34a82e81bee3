#!/usr/bin/env python3
"""Writes a dataset folder (images/ + masks/, PNGs) as a pair of multi-page TIFF stacks,
pages in sorted file-name order, as the ISBI 2012 challenge ships its data
(train-volume.tif + train-labels.tif).

    pip install tifffile pillow numpy
    python3 scripts/make_stacks.py data/isbi2012/train runs/stacks/train-volume.tif runs/stacks/train-labels.tif
    tessera train --images runs/stacks/train-volume.tif --masks runs/stacks/train-labels.tif …
"""
import os
import sys

import numpy as np
import tifffile
from PIL import Image


def main(folder, images_path, masks_path):
    names = sorted(n for n in os.listdir(os.path.join(folder, "images")) if n.lower().endswith(".png"))
    if not names:
        sys.exit(f"{folder}/images: no PNG files")
    images = np.stack([np.asarray(Image.open(os.path.join(folder, "images", n))) for n in names])
    masks = np.stack([np.asarray(Image.open(os.path.join(folder, "masks", n))) for n in names])
    for path in (images_path, masks_path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tifffile.imwrite(images_path, images, photometric="minisblack")
    tifffile.imwrite(masks_path, masks, photometric="minisblack")
    print(f"wrote {images_path} and {masks_path}: {len(names)} pages of {images.shape[1]}×{images.shape[2]}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
