"""An animated GIF writer that encodes frames on every core: GIF frames are independent LZW streams.

Pillow's `save_all` encodes frames one after another on one core and compares each frame with the previous one
first. Here each frame is palette-mapped and LZW-encoded by Pillow on its own (Pillow's encoder releases the GIL,
so a thread pool runs them at once), and the frames' image blocks are joined under one header and one global
palette. The output is a standard GIF89a: same frames, same palette, same timing; bytes depend only on the
frames, the palette and the timing, never on the number of threads.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

WORKERS = max(1, min(4, os.cpu_count() or 1))


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
    def encode(frame: np.ndarray) -> bytes:
        return _single_frame_gif(to_indexed(frame))

    if len(frames) > 1 and WORKERS > 1:
        with ThreadPoolExecutor(WORKERS) as pool:
            singles = list(pool.map(encode, frames))
    else:
        singles = [encode(f) for f in frames]
    header, _ = _split(singles[0])
    delay = max(1, round(100 / fps))  # centiseconds, as Pillow rounds a duration of 1000/fps ms
    control = b"\x21\xf9\x04" + bytes([1 << 2]) + struct.pack("<H", delay) + b"\x00\x00"  # disposal 1: keep
    out = [b"GIF89a", header[6:]]
    if loop:
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # repeat forever
    for single in singles:
        out += [control, _split(single)[1]]
    out.append(b"\x3b")
    return b"".join(out)
