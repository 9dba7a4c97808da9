"""A PNG decoder on the standard library (zlib) and NumPy, so that
image_dataset_from_directory reads PNG files without Pillow.

Covers what PNG files hold in practice: bit depths 1, 2, 4, 8 and 16
(16-bit samples keep their high byte), grayscale, RGB, palette (with its
tRNS transparency), gray + alpha and RGBA, the five scanline filters.
Interlaced (Adam7) files are refused with an error that names Pillow.

Invariant: a malformed file raises ValueError naming the file and the
problem (bad signature, truncated chunk, wrong CRC, sizes that do not
add up), never an IndexError from deep inside, and never allocates more
than its header's image size (capped) says.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_MAX_PIXELS = 1 << 28  # refuse headers claiming more (decompression bombs)


def _fail(name, what):
    return ValueError(f"Cannot decode PNG {name}: {what}")


def _chunks(data: bytes, name):
    at = len(_SIGNATURE)
    while at < len(data):
        if at + 8 > len(data):
            raise _fail(name, "the file is truncated (a chunk header).")
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length or at + 12 + length > len(data):
            raise _fail(name, f"the file is truncated (chunk {kind!r}).")
        crc = struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise _fail(name, f"chunk {kind!r} has a wrong CRC (corrupt?).")
        yield kind, body
        at += 12 + length
        if kind == b"IEND":
            return


def _unfilter(raw: np.ndarray, height: int, stride: int, bpp: int, name):
    """The scanlines of `raw` (filter byte + stride bytes each) with
    their filters undone, as a uint8 (height, stride) array."""
    if raw.size != height * (stride + 1):
        raise _fail(name, f"the image data holds {raw.size} bytes, the "
                    f"header implies {height * (stride + 1)}.")
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prior = np.zeros(stride, np.int32)
    for y in range(height):
        f, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: a running sum per byte of a pixel
            pad = (-stride) % bpp
            cur = np.concatenate([line, np.zeros(pad, np.int32)]).reshape(
                -1, bpp).cumsum(axis=0).reshape(-1)[:stride] & 0xFF
        elif f == 2:  # Up
            cur = (line + prior) & 0xFF
        elif f in (3, 4):  # Average, Paeth: sequential along the row
            cur = np.zeros(stride, np.int32)
            for x in range(0, stride, bpp):
                sl = slice(x, min(x + bpp, stride))
                up = prior[sl]
                if x == 0:
                    left = np.zeros_like(up)
                    corner = np.zeros_like(up)
                else:
                    left = cur[x - bpp:x - bpp + len(up)]
                    corner = prior[x - bpp:x - bpp + len(up)]
                if f == 3:
                    pred = (left + up) >> 1
                else:
                    p = left + up - corner
                    pa, pb, pc = np.abs(p - left), np.abs(p - up), \
                        np.abs(p - corner)
                    pred = np.where((pa <= pb) & (pa <= pc), left,
                                    np.where(pb <= pc, up, corner))
                cur[sl] = (line[sl] + pred) & 0xFF
        else:
            raise _fail(name, f"row {y} has an unknown filter type {f}.")
        out[y] = cur
        prior = cur.astype(np.int32)
    return out


def decode_png(data: bytes, name="<bytes>") -> np.ndarray:
    """A PNG file's pixels as uint8 (height, width, channels): 1 (gray),
    2 (gray + alpha), 3 (RGB; palettes expand to it) or 4 (RGBA;
    palettes with transparency)."""
    if not data.startswith(_SIGNATURE):
        raise _fail(name, "it does not start with the PNG signature.")
    header = None
    palette = trns = None
    idat = []
    for kind, body in _chunks(data, name):
        if kind == b"IHDR":
            if len(body) != 13:
                raise _fail(name, "its IHDR chunk is not 13 bytes.")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            trns = np.frombuffer(body, np.uint8)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise _fail(name, "it has no IHDR chunk.")
    width, height, depth, color, _, _, interlace = header
    if color not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise _fail(name, f"color type {color} with bit depth {depth} is "
                    "not a valid PNG format.")
    if interlace:
        raise _fail(name, "it is interlaced (Adam7), which this decoder "
                    "does not read; install Pillow (graphkeras[images]).")
    if width == 0 or height == 0 or width * height > _MAX_PIXELS:
        raise _fail(name, f"its size {width}x{height} is not decodable.")
    channels = _CHANNELS[color]
    bits = channels * depth
    stride = (width * bits + 7) // 8
    try:
        raw = zlib.decompressobj().decompress(
            b"".join(idat), height * (stride + 1) + 1)
    except zlib.error as e:
        raise _fail(name, f"its image data does not inflate ({e}).") \
            from None
    rows = _unfilter(np.frombuffer(raw, np.uint8), height, stride,
                     max(1, bits // 8), name)
    if depth == 16:
        px = rows.reshape(height, width * channels, 2)[:, :, 0]
    elif depth == 8:
        px = rows
    else:  # 1, 2, 4 bits: unpack the samples of each row
        bitsv = np.unpackbits(rows, axis=1)[:, :width * channels * depth]
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
        px = (bitsv.reshape(height, -1, depth) * weights).sum(
            axis=2).astype(np.uint8)
        if color == 0:  # scale gray levels to 0..255
            px = (px.astype(np.int32) * 255 // ((1 << depth) - 1)).astype(
                np.uint8)
    img = px.reshape(height, width, channels)
    if color == 3:
        if palette is None:
            raise _fail(name, "it is a palette image without a palette.")
        idx = img[:, :, 0]
        if idx.max(initial=0) >= len(palette):
            raise _fail(name, "a pixel indexes past the end of the palette.")
        rgb = palette[idx]
        if trns is not None and len(trns):
            alpha = np.full(len(palette), 255, np.uint8)
            alpha[:len(trns)] = trns[:len(palette)]
            return np.concatenate([rgb, alpha[idx][:, :, None]], axis=2)
        return rgb
    return img


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """An image with 1, 2, 3 or 4 channels converted to `channels` (1, 3
    or 4): gray by ITU-R 601-2 luma (Pillow's "L"), alpha dropped or set
    to 255."""
    c = img.shape[2]
    if c == channels:
        return img
    color = img[:, :, :3] if c >= 3 else np.repeat(img[:, :, :1], 3, axis=2)
    alpha = img[:, :, -1:] if c in (2, 4) else np.full(
        img.shape[:2] + (1,), 255, np.uint8)
    if channels == 1:
        r, g, b = (color[:, :, i].astype(np.int64) for i in range(3))
        gray = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
        return gray.astype(np.uint8)[:, :, None]
    if channels == 3:
        return color
    return np.concatenate([color, alpha], axis=2)
