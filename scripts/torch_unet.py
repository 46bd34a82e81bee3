#!/usr/bin/env python3
"""The PyTorch reference for Tessera's U-Net, and a check that Tessera checkpoints load
into it.

The model follows milesial/Pytorch-UNet's architecture (DoubleConv, Down, Up, OutConv;
the same module and parameter names), generalised to any base width and depth.

Check a checkpoint (needs `pip install torch safetensors numpy pillow`):

    tessera predict --model RUN/best.safetensors --input IMAGE.png --out OUT --save-probabilities
    python3 scripts/torch_unet.py RUN/best.safetensors IMAGE.png OUT/IMAGE.npy

loads the checkpoint with `load_state_dict(strict=True)`, runs the image through the
PyTorch model and prints the largest difference from Tessera's probabilities.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, mid=None):
        super().__init__()
        mid = mid or cout
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout, bilinear):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(cin, cout, cin // 2)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(cin, cout)

    def forward(self, x, skip):
        x = self.up(x)
        dy, dx = skip.size(2) - x.size(2), skip.size(3) - x.size(3)
        x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, input_channels=1, classes=1, width=16, depth=4, bilinear=False):
        super().__init__()
        self.depth = depth
        factor = 2 if bilinear else 1
        self.inc = DoubleConv(input_channels, width)
        for level in range(1, depth + 1):
            cout = (width << level) // (factor if level == depth else 1)
            setattr(self, f"down{level}", Down(width << (level - 1), cout))
        for step in range(1, depth + 1):
            cin = width << (depth - step + 1)
            cout = (width << (depth - step)) // (1 if step == depth else factor)
            setattr(self, f"up{step}", Up(cin, cout, bilinear))
        self.outc = OutConv(width, classes)

    def forward(self, x):
        skips = [self.inc(x)]
        for level in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{level}")(skips[-1]))
        x = skips.pop()
        for step in range(1, self.depth + 1):
            x = getattr(self, f"up{step}")(x, skips.pop())
        return self.outc(x)


def load_tessera_checkpoint(path):
    """The reference model with a Tessera checkpoint's weights (strict loading)."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(path, framework="pt") as f:
        config = json.loads(f.metadata()["model"])
    model = UNet(config["inputChannels"], config["classes"], config["width"], config["depth"], config["bilinear"])
    model.load_state_dict(load_file(path), strict=True)
    return model.eval(), config


def main(checkpoint, image_path, tessera_probabilities):
    import numpy as np
    model, config = load_tessera_checkpoint(checkpoint)
    expected = torch.from_numpy(np.load(tessera_probabilities))
    image = read_image(image_path, config["inputChannels"])
    multiple = 1 << config["depth"]
    h, w = image.shape[1:]
    padded = F.pad(image[None], [0, (-w) % multiple, 0, (-h) % multiple])
    with torch.no_grad():
        logits = model(padded)[0, :, :h, :w]
    probabilities = torch.sigmoid(logits) if config["classes"] == 1 else torch.softmax(logits, 0)
    difference = (probabilities - expected).abs().max().item()
    print(f"loaded {checkpoint} with load_state_dict(strict=True); "
          f"max |PyTorch − Tessera| probability on {image_path}: {difference:.3g}")


def read_image(path, channels):
    """A PNG as a float tensor [C, H, W] scaled to [0, 1], as Tessera reads it (needs pillow)."""
    import numpy as np
    from PIL import Image
    array = np.asarray(Image.open(path).convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    scale = 65535.0 if array.max() > 255 else 255.0
    array = array / scale
    return torch.from_numpy(array[None] if channels == 1 else array.transpose(2, 0, 1)).float()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
