"""An animated GIF writer: one global palette, every frame its own LZW stream.

GIF frames are independent LZW streams under one header, so frames can be coded anywhere and joined. Each frame's
image block is Pillow's own GIF coder run straight on the frame's palette indices (`Image.tobytes("gif", ...)`),
with the same settings Pillow's `save` uses (8-bit code size, interlaced), so a block is byte-for-byte what
`save` writes for that frame, without `save`'s per-frame header work. Pillow's coder holds the GIL for the whole
frame, so the frames are coded one after another in the calling thread. The bytes depend only on the frames, the
palette and the timing.
"""

from __future__ import annotations

import io
import struct

import numpy as np

from serving.files.gif_blocks import Palette, frame_blocks


def _header(first) -> bytes:
    """Logical screen descriptor and global colour table, as Pillow writes them for the first frame."""
    buf = io.BytesIO()
    first.save(buf, format="GIF", optimize=False)
    data = buf.getvalue()
    pos = 13  # "GIF8?a" + logical screen descriptor
    flags = data[10]
    if flags & 0x80:
        pos += 3 * 2 ** ((flags & 7) + 1)
    return data[6:pos]


GIF_MAX_FPS = 50  # 2 cs a frame: browsers play a shorter delay as 10 cs; a recipe asking more for a GIF is refused


def frame_delays(count: int, fps: int) -> list[int]:
    """Each frame's delay in centiseconds (a GIF's only unit) so that the animation keeps `fps` on average: the
    frame times are rounded cumulatively (24 fps is 4, 4, 4, 5, 4, ... cs, not 4 cs = 25 fps). Browsers play a delay
    under 2 cs as 10 cs, so above 50 fps every frame gets 2 cs: 50 fps is as fast as a GIF plays."""
    if fps > GIF_MAX_FPS:
        return [2] * count
    edges = [int(100 * i / fps + 0.5) for i in range(count + 1)]
    return [max(2, b - a) for a, b in zip(edges, edges[1:])]


def write_gif(frames: np.ndarray, fps: int, loop: bool, palette: Palette | None = None) -> bytes:
    """Animated GIF of `frames` ([n, h, w, c] uint8) with one global palette (`Palette.for_frames` unless given).
    Loops forever when `loop`, else plays once. The frames are coded in the calling thread."""
    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    palette = palette or Palette.for_frames(frames)
    header = _header(next(palette.indexed(frames[:1])))
    blocks = frame_blocks(frames, palette)
    out = [b"GIF89a", header]
    if loop:
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # repeat forever
    for block, delay in zip(blocks, frame_delays(len(blocks), fps)):
        control = b"\x21\xf9\x04" + bytes([1 << 2]) + struct.pack("<H", delay) + b"\x00\x00"  # disposal 1: keep
        out += [control, block]
    out.append(b"\x3b")
    return b"".join(out)
