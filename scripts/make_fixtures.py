#!/usr/bin/env python3
"""Writes the reference fixtures the Swift tests compare against.

Every fixture is a small safetensors file under Tests/TesseraTests/Fixtures/, produced
by PyTorch (the reference framework) or by the `safetensors` package. The tests never
need torch: run this script only to regenerate the committed files.

    pip install torch safetensors pillow tifffile imagecodecs
    python3 scripts/make_fixtures.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
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


def with_gradients(function, inputs, generator):
    """Runs `function` on leaf copies of `inputs`, back-propagates a random output
    gradient `grad_output`, and returns the output, `grad_output` and input gradients."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    output = function(**leaves)
    grad_output = torch.randn(output.shape, generator=generator)
    output.backward(grad_output)
    result = {"output": output.detach(), "grad_output": grad_output}
    result.update({f"grad_{k}": v.grad.clone() for k, v in leaves.items()})
    return result


def cases(file, builders):
    """Saves every case's tensors as `caseN.name`, its parameters as metadata `caseN`."""
    tensors, metadata = {}, {}
    for index, (parameters, values) in enumerate(builders):
        metadata[f"case{index}"] = json.dumps(parameters)
        tensors.update({f"case{index}.{k}": v.detach() for k, v in values.items()})
    metadata["count"] = str(len(builders))
    save(file, tensors, metadata)


def convolutions():
    g = torch.Generator().manual_seed(1)
    conv_cases = []
    for batch, cin, cout, k, stride, padding, dilation, h, w in [
        (1, 3, 4, 3, 1, 1, 1, 8, 8), (3, 2, 5, 3, 2, 1, 1, 9, 7), (2, 4, 3, 1, 1, 0, 1, 6, 5),
        (1, 2, 3, 5, 1, 2, 1, 7, 7), (2, 3, 2, 3, 1, 2, 2, 8, 6), (1, 1, 4, 1, 2, 0, 1, 7, 7),
    ]:
        inputs = {
            "input": torch.randn(batch, cin, h, w, generator=g),
            "weight": torch.randn(cout, cin, k, k, generator=g) * 0.3,
            "bias": torch.randn(cout, generator=g),
        }
        params = {"stride": stride, "padding": padding, "dilation": dilation}
        conv_cases.append((params, {**inputs, **with_gradients(
            lambda input, weight, bias: F.conv2d(input, weight, bias, stride, padding, dilation), inputs, g)}))
    cases("conv2d.safetensors", conv_cases)

    transposed = []
    for batch, cin, cout, k, stride, padding, output_padding, h, w in [
        (2, 4, 3, 2, 2, 0, 0, 4, 5), (1, 3, 2, 3, 2, 1, 1, 5, 4), (2, 2, 3, 3, 1, 1, 0, 6, 6),
    ]:
        inputs = {
            "input": torch.randn(batch, cin, h, w, generator=g),
            "weight": torch.randn(cin, cout, k, k, generator=g) * 0.3,
            "bias": torch.randn(cout, generator=g),
        }
        params = {"stride": stride, "padding": padding, "output_padding": output_padding}
        transposed.append((params, {**inputs, **with_gradients(
            lambda input, weight, bias: F.conv_transpose2d(input, weight, bias, stride, padding, output_padding),
            inputs, g)}))
    cases("conv_transpose2d.safetensors", transposed)


def pooling_and_resampling():
    g = torch.Generator().manual_seed(2)
    pools = []
    for kernel, stride, shape in [(2, 2, (2, 3, 8, 6)), (2, 2, (1, 2, 7, 9)), (3, 2, (1, 2, 9, 8))]:
        inputs = {"input": torch.randn(*shape, generator=g)}
        pools.append(({"kernel": kernel, "stride": stride}, {**inputs, **with_gradients(
            lambda input: F.max_pool2d(input, kernel, stride), inputs, g)}))
    cases("max_pool2d.safetensors", pools)

    upsamples = []
    for shape in [(2, 3, 4, 5), (1, 2, 1, 3), (1, 1, 7, 6)]:
        inputs = {"input": torch.randn(*shape, generator=g)}
        upsamples.append(({"factor": 2}, {**inputs, **with_gradients(
            lambda input: F.interpolate(input, scale_factor=2, mode="bilinear", align_corners=True), inputs, g)}))
    cases("upsample_bilinear2d.safetensors", upsamples)


def normalisation():
    g = torch.Generator().manual_seed(3)
    norms = []
    for training, shape in [(True, (4, 3, 5, 6)), (True, (2, 2, 3, 3)), (False, (3, 3, 4, 4))]:
        channels = shape[1]
        inputs = {
            "input": torch.randn(*shape, generator=g) * 2 + 0.5,
            "weight": torch.randn(channels, generator=g),
            "bias": torch.randn(channels, generator=g),
        }
        running_mean = torch.randn(channels, generator=g) * 0.1
        running_var = torch.rand(channels, generator=g) + 0.5
        mean_after, var_after = running_mean.clone(), running_var.clone()
        values = with_gradients(
            lambda input, weight, bias: F.batch_norm(
                input, mean_after, var_after, weight, bias, training=training, momentum=0.1, eps=1e-5),
            inputs, g)
        values.update(inputs)
        values.update({"running_mean": running_mean, "running_var": running_var,
                       "running_mean_after": mean_after, "running_var_after": var_after})
        norms.append(({"training": training}, values))
    cases("batch_norm.safetensors", norms)


def activations_and_losses():
    g = torch.Generator().manual_seed(4)
    softmaxes = []
    for log in [False, True]:
        inputs = {"input": torch.randn(2, 4, 3, 5, generator=g) * 3}
        function = (lambda input: F.log_softmax(input, 1)) if log else (lambda input: F.softmax(input, 1))
        softmaxes.append(({"log": log}, {**inputs, **with_gradients(function, inputs, g)}))
    cases("softmax.safetensors", softmaxes)

    tensors = {}
    logits = torch.randn(2, 1, 6, 5, generator=g) * 4
    targets = (torch.rand(2, 1, 6, 5, generator=g) > 0.6).float()
    leaf = logits.clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(leaf, targets)
    loss.backward()
    tensors.update({"bce.logits": logits, "bce.targets": targets, "bce.loss": loss.detach().reshape(1), "bce.grad": leaf.grad})

    logits = torch.randn(2, 4, 5, 3, generator=g) * 2
    labels = torch.randint(0, 4, (2, 5, 3), generator=g)
    labels[0, 0, :] = 255
    weights = torch.tensor([0.5, 1.0, 2.0, 1.5])
    for name, kwargs in [("ce", {}), ("ce_weighted", {"weight": weights, "ignore_index": 255})]:
        leaf = logits.clone().requires_grad_(True)
        safe_labels = labels if "ignore_index" in kwargs else labels.clamp(max=3)
        loss = F.cross_entropy(leaf, safe_labels, **kwargs)
        loss.backward()
        tensors.update({f"{name}.targets": safe_labels, f"{name}.loss": loss.detach().reshape(1), f"{name}.grad": leaf.grad})
    tensors.update({"ce.logits": logits, "ce_weighted.weights": weights})

    # Pytorch-UNet's dice_loss (utils/dice_score.py) on sigmoid probabilities, binary case.
    def dice_coeff(input, target, epsilon=1e-6):
        sum_dim = (-1, -2, -3)
        inter = 2 * (input * target).sum(dim=sum_dim)
        sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
        sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
        return ((inter + epsilon) / (sets_sum + epsilon)).mean()

    probabilities = torch.rand(3, 1, 4, 5, generator=g)
    masks = (torch.rand(3, 1, 4, 5, generator=g) > 0.5).float()
    leaf = probabilities.clone().requires_grad_(True)
    loss = 1 - dice_coeff(leaf.squeeze(1), masks.squeeze(1))
    loss.backward()
    tensors.update({"dice.probabilities": probabilities, "dice.targets": masks,
                    "dice.loss": loss.detach().reshape(1), "dice.grad": leaf.grad})
    save("losses.safetensors", tensors)


class TinyEncoderDecoder(torch.nn.Module):
    """Two levels with a skip connection; mirrored by the Swift test model of the same name."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(8, 4, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        e = self.enc(x)
        return self.out(self.dec(torch.cat([e, self.up(self.down(e))], 1)))


def tiny_loss(model, x, y):
    """BCE-with-logits plus Pytorch-UNet's soft Dice on the sigmoid, as Tessera's bce+dice."""
    logits = model(x)
    probabilities = torch.sigmoid(logits)
    inter = 2 * (probabilities * y).sum()
    sets = probabilities.sum() + y.sum()
    dice = (inter + 1e-6) / (sets + 1e-6)
    return F.binary_cross_entropy_with_logits(logits, y) + (1 - dice)


def training():
    torch.manual_seed(5)
    model = TinyEncoderDecoder()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 1, 8, 8, generator=g)
    y = (torch.rand(2, 1, 8, 8, generator=g) > 0.5).float()
    tensors = {f"initial.{k}": v for k, v in initial.items()}
    tensors.update({"input": x, "target": y})

    loss = tiny_loss(model, x, y)
    loss.backward()
    tensors["loss"] = loss.detach().reshape(1)
    tensors.update({f"grad.{k}": p.grad for k, p in model.named_parameters()})

    for name, make in [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3)),
        ("nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
        ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=1e-3)),
        # ε = 1e-3: the biases before batch norm get only rounding-noise gradients, which
        # Adam would blow up to full steps of arbitrary sign without weight decay in them.
        ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1, eps=1e-3)),
    ]:
        model.load_state_dict(initial)
        optimizer = make(model.parameters())
        for _ in range(3):
            optimizer.zero_grad()
            tiny_loss(model, x, y).backward()
            optimizer.step()
        tensors.update({f"{name}.{k}": v.clone() for k, v in model.state_dict().items()})
    save("tiny_training.safetensors", tensors)


def unet():
    """Parameter names and shapes of the reference U-Net, a forward pass of fixed weights
    in train and eval mode on an odd-sized input, and one SGD step."""
    sys.path.insert(0, os.path.dirname(__file__))
    from torch_unet import UNet
    names = {}
    for width, depth, bilinear in [(8, 3, False), (16, 4, False), (8, 3, True)]:
        model = UNet(1, 1, width, depth, bilinear)
        names[f"w{width}_d{depth}{'_bilinear' if bilinear else ''}"] = [
            [k, list(v.shape)] for k, v in model.state_dict().items()]
    path = os.path.join(FIXTURES, "unet_parameters.json")
    with open(path, "w") as f:
        json.dump(names, f, indent=0)
    print(f"wrote {os.path.relpath(path)}")

    for bilinear in [False, True]:
        torch.manual_seed(7)
        model = UNet(1, 2 if bilinear else 1, 4, 3, bilinear)
        g = torch.Generator().manual_seed(8)
        # Perturb batch-norm parameters and statistics so that eval mode is a real test.
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.weight.uniform_(0.5, 1.5, generator=g)
                    module.bias.uniform_(-0.2, 0.2, generator=g)
                    module.running_mean.uniform_(-0.1, 0.1, generator=g)
                    module.running_var.uniform_(0.5, 1.5, generator=g)
        x = torch.randn(2, 1, 36, 28, generator=g)
        tensors = {f"initial.{k}": v.clone() for k, v in model.state_dict().items()}
        tensors["input"] = x
        model.eval()
        with torch.no_grad():
            tensors["eval_output"] = model(x)
        model.train()
        if bilinear:
            target = torch.randint(0, 2, (2, 36, 28), generator=g)
            tensors["target"] = target
            loss_fn = lambda out: F.cross_entropy(out, target)
        else:
            target = (torch.rand(2, 1, 36, 28, generator=g) > 0.5).float()
            tensors["target"] = target
            loss_fn = lambda out: F.binary_cross_entropy_with_logits(out, target)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        output = model(x)
        loss = loss_fn(output)
        loss.backward()
        optimizer.step()
        tensors["train_output"] = output.detach()
        tensors["loss"] = loss.detach().reshape(1)
        tensors.update({f"stepped.{k}": v.clone() for k, v in model.state_dict().items()})
        save("unet_bilinear.safetensors" if bilinear else "unet.safetensors", tensors)


def png_bytes(width, height, bit_depth, color_type, rows, palette=None, trns=None, gamma=None, interlace=0):
    """A PNG file from raw scanlines (filter type 0), written with zlib alone."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace))
    if gamma is not None:
        body += chunk(b"gAMA", struct.pack(">I", gamma))
    if palette is not None:
        body += chunk(b"PLTE", bytes(palette))
    if trns is not None:
        body += chunk(b"tRNS", bytes(trns))
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pngs():
    """Small PNGs of every supported kind with known samples, and broken ones."""
    import struct
    folder = os.path.join(FIXTURES, "png")
    os.makedirs(folder, exist_ok=True)
    w, h = 5, 4
    gray = [[(x * 50 + y * 10) % 256 for x in range(w)] for y in range(h)]
    files = {
        "gray8.png": png_bytes(w, h, 8, 0, [bytes(r) for r in gray]),
        "gray16.png": png_bytes(w, h, 16, 0, [b"".join(struct.pack(">H", v * 257 + 1) for v in r) for r in gray]),
        "gray_alpha8.png": png_bytes(w, h, 8, 4, [bytes(sum(([v, 128] for v in r), [])) for r in gray]),
        "rgb8.png": png_bytes(w, h, 8, 2, [bytes(sum(([v, 255 - v, 7] for v in r), [])) for r in gray]),
        "rgba8.png": png_bytes(w, h, 8, 6, [bytes(sum(([v, 255 - v, 7, 0] for v in r), [])) for r in gray]),
        "rgb16.png": png_bytes(w, h, 16, 2, [b"".join(struct.pack(">HHH", v * 257, 65535 - v * 257, 1000) for v in r) for r in gray]),
        # Palette: index = (x + y) % 3, colours deliberately not sorted by index.
        "palette.png": png_bytes(w, h, 8, 3, [bytes((x + y) % 3 for x in range(w)) for y in range(h)],
                                 palette=[200, 0, 0, 0, 200, 0, 0, 0, 200]),
    }
    # Masks as users' tools write them: labels with a gAMA chunk (read as stored, never
    # gamma-corrected), 16-bit labels, 16-bit gray+alpha (never premultiplied).
    labels = [[(x + y) % 3 for x in range(w)] for y in range(h)]
    files["labels_gamma.png"] = png_bytes(w, h, 8, 0, [bytes(r) for r in labels], gamma=100000)
    values16 = [0, 1000, 65535]
    files["labels16.png"] = png_bytes(w, h, 16, 0, [b"".join(struct.pack(">H", values16[v]) for v in r) for r in labels])
    files["gray_alpha16.png"] = png_bytes(w, h, 16, 4, [b"".join(struct.pack(">HH", v * 257, 1000) for v in r) for r in gray])
    # A 16384×16384 RGBA16 header over a few bytes of data, and a chunk claiming 2 GiB.
    files["declared_huge.png"] = png_bytes(16384, 16384, 16, 6, [b""])
    files["chunk_2gib.png"] = png_bytes(w, h, 8, 0, [bytes(r) for r in gray])[:33] + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"\0" * 8
    good = files["gray8.png"]
    files["truncated.png"] = good[: len(good) - 20]
    files["not_a_png.png"] = b"this is a text file, not an image\n"
    files["empty.png"] = b""
    files["huge_dimensions.png"] = png_bytes(100000, 100000, 8, 0, [b""])[:33] + good[33:]
    files["bit_depth_4.png"] = png_bytes(w, h, 4, 0, [bytes([0x12, 0x34, 0x50]) for _ in range(h)])
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} PNG files to {os.path.relpath(folder)}")


def image_formats():
    """TIFF, JPEG and GIF files as other tools write them (tifffile, Pillow): pages,
    bit depths, compressions, strips and tiles, palettes, a Carvana-like pair and damaged
    files. The expected pixels go in image_formats.json."""
    import numpy as np
    import tifffile
    from PIL import Image
    folder = os.path.join(FIXTURES, "images")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(21)
    h, w = 12, 10
    gray8 = rng.integers(0, 256, (h, w), dtype=np.uint8)
    gray16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    rgb8 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    stack16 = rng.integers(0, 65536, (3, h, w), dtype=np.uint16)
    labels = rng.integers(0, 3, (3, h, w), dtype=np.uint8) * 100
    expected = {}

    def path(name):
        return os.path.join(folder, name)

    tifffile.imwrite(path("gray8_none.tif"), gray8)
    tifffile.imwrite(path("gray16_lzw.tif"), gray16, compression="lzw")
    tifffile.imwrite(path("rgb8_deflate.tif"), rgb8, photometric="rgb", compression="zlib")
    tifffile.imwrite(path("gray8_packbits.tif"), gray8, compression="packbits")
    big = rng.integers(0, 65536, (40, 36), dtype=np.uint16)
    tifffile.imwrite(path("gray16_tiled.tif"), big, tile=(16, 16), compression="zlib")
    pages = {"photometric": "minisblack"}
    tifffile.imwrite(path("stack16.tif"), stack16, compression="lzw", **pages)
    tifffile.imwrite(path("labels_stack.tif"), labels, **pages)
    tifffile.imwrite(path("stack_short.tif"), stack16[:2], **pages)
    tifffile.imwrite(path("stack_odd_page.tif"), stack16[:2], **pages)
    tifffile.imwrite(path("stack_odd_page.tif"), rng.integers(0, 65536, (h + 1, w), dtype=np.uint16), append=True, **pages)
    palette = Image.fromarray((gray8 % 3).astype(np.uint8), mode="P")
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    palette.save(path("palette.tif"))
    expected["gray8"] = gray8.flatten().tolist()
    expected["gray16"] = gray16.flatten().tolist()
    expected["rgb8"] = rgb8.flatten().tolist()
    expected["gray16_tiled"] = big.flatten().tolist()
    expected["stack16"] = stack16.reshape(3, -1).tolist()
    expected["labels_stack"] = labels.reshape(3, -1).tolist()
    expected["palette_indices"] = (gray8 % 3).flatten().tolist()

    # JPEG is lossy: the test compares with Pillow's own decoding of the same file.
    Image.fromarray(rgb8).save(path("rgb.jpg"), quality=95)
    Image.fromarray(gray8).save(path("gray.jpg"), quality=95)
    expected["rgb_jpg_pillow"] = np.asarray(Image.open(path("rgb.jpg")).convert("RGB")).flatten().tolist()
    expected["gray_jpg_pillow"] = np.asarray(Image.open(path("gray.jpg"))).flatten().tolist()

    mask = (gray8 > 127).astype(np.uint8)
    gif = Image.fromarray(mask, mode="P")
    gif.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    gif.save(path("mask.gif"))
    interlaced = Image.fromarray((gray8 % 4).astype(np.uint8), mode="P")
    interlaced.putpalette([0, 0, 0, 80, 80, 80, 160, 160, 160, 240, 240, 240] + [0] * 756)
    interlaced.save(path("interlaced.gif"), interlace=True)
    expected["gif_mask"] = mask.flatten().tolist()
    expected["gif_interlaced"] = (gray8 % 4).flatten().tolist()

    with open(path("gray8_none.tif"), "rb") as f:
        tiff = f.read()
    with open(path("truncated.tif"), "wb") as f:
        f.write(tiff[: len(tiff) // 2])
    with open(path("rgb.jpg"), "rb") as f:
        jpeg = f.read()
    with open(path("truncated.jpg"), "wb") as f:
        f.write(jpeg[: len(jpeg) // 2])
    with open(path("mask.gif"), "rb") as f:
        gif_bytes = f.read()
    with open(path("truncated.gif"), "wb") as f:
        f.write(gif_bytes[: len(gif_bytes) - 12])
    # A GIF whose screen claims 65535×65535 pixels: refused before any allocation.
    with open(path("huge_screen.gif"), "wb") as f:
        f.write(gif_bytes[:6] + bytes([0xFF, 0xFF, 0xFF, 0xFF]) + gif_bytes[10:])
    # A 130-byte TIFF claiming 16000×16000 pixels of 16-bit samples (512 MB decoded), within
    # the pixel limit: refused by the file-size check before any allocation.
    import struct
    entries = [(256, 4, 1, 16000), (257, 4, 1, 16000), (258, 3, 1, 16), (259, 3, 1, 8), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 16000), (279, 4, 1, 8)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, count, value, 0)
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    with open(path("bomb.tif"), "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", 16) + b"\x00" * 8 + ifd)

    # A Carvana-like dataset: imgs as JPEG, masks as GIF with a _mask suffix.
    carvana = os.path.join(folder, "carvana")
    for sub in ["images", "masks"]:
        os.makedirs(os.path.join(carvana, sub), exist_ok=True)
    for index in range(3):
        picture = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(picture).save(os.path.join(carvana, "images", f"car{index}.jpg"), quality=90)
        car = Image.fromarray((picture[..., 0] > 127).astype(np.uint8), mode="P")
        car.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
        car.save(os.path.join(carvana, "masks", f"car{index}_mask.gif"))

    with open(os.path.join(FIXTURES, "image_formats.json"), "w") as f:
        json.dump(expected, f)
    print(f"wrote image fixtures to {os.path.relpath(folder)}")


def pytorch_state_dicts():
    """Plain state_dicts of the reference U-Net as `safetensors.torch.save_file` writes
    them (no metadata), with an input and PyTorch's eval-mode output."""
    sys.path.insert(0, os.path.dirname(__file__))
    from torch_unet import UNet
    for name, (channels, classes, width, depth, bilinear) in {
        "pytorch_unet_state_dict": (1, 1, 4, 3, False),
        "pytorch_unet_bilinear_state_dict": (3, 3, 4, 2, True),
    }.items():
        torch.manual_seed(11)
        model = UNet(channels, classes, width, depth, bilinear)
        g = torch.Generator().manual_seed(12)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.uniform_(-0.1, 0.1, generator=g)
                    module.running_var.uniform_(0.5, 1.5, generator=g)
        model.eval()
        x = torch.rand(1, channels, 24, 32, generator=g)
        with torch.no_grad():
            y = model(x)
        save(f"{name}.safetensors", model.state_dict())
        save(f"{name}_io.safetensors", {"input": x, "output": y})


def tensor_operations():
    """Operations a library user composes models from: pooling, reductions along axes,
    broadcasting arithmetic, permutes, row selection and vector products."""
    g = torch.Generator().manual_seed(7)
    ops = []

    def case(parameters, function, **shapes):
        inputs = {k: torch.randn(*v, generator=g) for k, v in shapes.items()}
        ops.append((parameters, {**inputs, **with_gradients(function, inputs, g)}))

    for kernel, shape in [(2, (2, 3, 8, 6)), (3, (1, 2, 7, 8))]:
        case({"op": "avg_pool2d", "kernel": kernel}, lambda input: F.avg_pool2d(input, kernel), input=shape)
    case({"op": "global_avg_pool_flatten"}, lambda input: F.adaptive_avg_pool2d(input, 1).flatten(1), input=(2, 3, 5, 4))
    for axis in range(3):
        case({"op": "sum", "axis": axis}, lambda input: input.sum(axis), input=(3, 4, 5))
        case({"op": "mean", "axis": axis}, lambda input: input.mean(axis), input=(3, 4, 5))
        case({"op": "max", "axis": axis}, lambda input: input.max(axis).values, input=(3, 4, 5))
    for symbol, function in [("+", torch.add), ("-", torch.sub), ("*", torch.mul)]:
        case({"op": symbol}, lambda lhs, rhs: function(lhs, rhs), lhs=(2, 1, 3), rhs=(4, 1))
    case({"op": "/"}, lambda lhs, rhs: lhs / (rhs * rhs + 1), lhs=(4, 3), rhs=(3,))
    case({"op": "permute", "axes": [2, 0, 1]}, lambda input: input.permute(2, 0, 1), input=(2, 3, 4))
    case({"op": "rows", "indices": [2, 0, 2]}, lambda input: input.index_select(0, torch.tensor([2, 0, 2])), input=(3, 2, 2))
    case({"op": "matmul"}, lambda lhs, rhs: lhs @ rhs, lhs=(3, 4), rhs=(4,))
    case({"op": "matmul"}, lambda lhs, rhs: lhs @ rhs, lhs=(4,), rhs=(4, 2))
    case({"op": "mT"}, lambda input: input.mT, input=(2, 3, 4))
    case({"op": "exp"}, torch.exp, input=(3, 4))
    case({"op": "log"}, lambda input: torch.log(input * input + 0.5), input=(3, 4))
    case({"op": "tanh"}, torch.tanh, input=(3, 4))
    case({"op": "sigmoid"}, torch.sigmoid, input=(3, 4))
    case({"op": "leaky_relu"}, lambda input: F.leaky_relu(input, 0.1), input=(3, 4))
    case({"op": "gelu"}, F.gelu, input=(3, 4))
    case({"op": "cat", "axis": 0}, lambda lhs, rhs: torch.cat([lhs, rhs], 0), lhs=(2, 3, 2), rhs=(1, 3, 2))
    case({"op": "cat", "axis": 2}, lambda lhs, rhs: torch.cat([lhs, rhs], 2), lhs=(2, 3, 2), rhs=(2, 3, 4))
    for axis in [0, 2]:
        case({"op": "softmax", "axis": axis}, lambda input: F.softmax(input * 3, axis), input=(2, 3, 4))
        case({"op": "log_softmax", "axis": axis}, lambda input: F.log_softmax(input * 3, axis), input=(2, 3, 4))
    for groups, shape in [(2, (2, 4, 3, 5)), (3, (3, 3, 4)), (1, (2, 4, 2, 2))]:
        case({"op": "group_norm", "groups": groups},
             lambda input, weight, bias: F.group_norm(input * 2 + 1, groups, weight, bias, eps=1e-5),
             input=shape, weight=(shape[1],), bias=(shape[1],))
    for normalized in [[5], [3, 5]]:
        case({"op": "layer_norm", "normalized_shape": normalized},
             lambda input, weight, bias: F.layer_norm(input * 2 + 1, normalized, weight, bias, eps=1e-5),
             input=(2, 3, 5), weight=normalized, bias=normalized)
    cases("tensor_operations.safetensors", ops)


GROUPS = {
    "pngs": pngs,
    "image_formats": image_formats,
    "state_dicts": pytorch_state_dicts,
    "unet": unet,
    "training": training,
    "safetensors": safetensors_interop,
    "convolutions": convolutions,
    "pooling": pooling_and_resampling,
    "normalisation": normalisation,
    "losses": activations_and_losses,
    "tensor_operations": tensor_operations,
}

if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    os.makedirs(FIXTURES, exist_ok=True)
    for name in sys.argv[1:] or GROUPS:
        GROUPS[name]()
