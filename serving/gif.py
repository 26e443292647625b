"""An animated GIF writer built from single-frame GIFs: GIF frames are independent LZW streams.

Pillow's `save_all` needs every frame before it starts and compares each frame with the one before. Here each
frame is palette-mapped and LZW-encoded by Pillow on its own and the frames' image blocks are joined under one
header and one global palette. Measured: the LZW coding itself (about 0.5 ms per 256x256 frame) is the cost either
way; Pillow's encoder holds the GIL, so encoding frames on a thread pool, or while onnxruntime makes the next
frames, gained nothing on 2 cores. The output is a standard GIF89a (no NETSCAPE loop block when the animation
plays once); its bytes depend only on the frames, the palette and the timing.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np


def _single_frame_gif(indexed) -> bytes:
    """One P-mode Pillow image saved as a whole GIF (header, palette, one image block)."""
    buf = io.BytesIO()
    indexed.save(buf, format="GIF", optimize=False)
    return buf.getvalue()


def _split(data: bytes) -> tuple[bytes, bytes]:
    """(header with its global colour table, the image block: descriptor, LZW code size and data sub-blocks)."""
    pos = 13  # "GIF8?a" + logical screen descriptor
    flags = data[10]
    if flags & 0x80:
        pos += 3 * 2 ** ((flags & 7) + 1)
    header = data[:pos]
    while pos < len(data):
        kind = data[pos]
        if kind == 0x21:  # an extension: label, then data sub-blocks
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif kind == 0x2C:  # the image: 10-byte descriptor, optional local table, code size, sub-blocks
            start = pos
            local = data[pos + 9]
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0) + 1
            while data[pos]:
                pos += data[pos] + 1
            return header, data[start:pos + 1]
        else:
            break
    raise ValueError("Pillow wrote a GIF without an image block")


def write_gif(frames: np.ndarray, to_indexed: Callable[[np.ndarray], object], fps: int, loop: bool) -> bytes:
    """Animated GIF of `frames` ([n, h, w, c] uint8); `to_indexed(frame)` gives the P-mode image of one frame,
    every frame with the same palette. Loops forever when `loop`, else plays once."""
    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    singles = [_split(_single_frame_gif(to_indexed(frame))) for frame in frames]
    delay = max(1, round(100 / fps))  # centiseconds, as Pillow rounds a duration of 1000/fps ms
    control = b"\x21\xf9\x04" + bytes([1 << 2]) + struct.pack("<H", delay) + b"\x00\x00"  # disposal 1: keep
    out = [b"GIF89a", singles[0][0][6:]]
    if loop:
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # repeat forever
    for _, block in singles:
        out += [control, block]
    out.append(b"\x3b")
    return b"".join(out)
