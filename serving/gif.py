"""An animated GIF writer: one global palette, every frame its own LZW stream, frames coded in parallel.

GIF frames are independent LZW streams under one header, so frames can be coded anywhere and joined. Each frame's
image block is Pillow's own GIF coder run straight on the frame's palette indices (`Image.tobytes("gif", ...)`),
with the same settings Pillow's `save` uses (8-bit code size, interlaced), so a block is byte-for-byte what
`save` writes for that frame, without `save`'s per-frame header work. Pillow's coder holds the GIL (about 0.5 ms
per 256x256 frame), so threads cannot share it out: `serving.gif_helpers` codes part of the frames in helper
processes. The bytes depend only on the frames, the palette and the timing, never on where a frame was coded.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

GRAY_LEVELS = 64  # grayscale GIFs: palette levels (error <= 2/255, invisible; half the bytes of 256 levels)
COLOR_MONTAGE_FRAMES = 16  # colour GIFs: the palette comes from up to this many evenly spaced frames
INTERLACE_FLAG = 0x40  # Pillow interlaces a frame unless a side is under 16 pixels; the blocks here match it


@dataclass(frozen=True)
class Palette:
    """How frames become palette indices: `gray_levels` evenly spaced grays for 1-channel frames, or `colors`
    (RGB triplets, as bytes) that colour frames are matched to without dithering."""

    gray_levels: int = 0
    colors: bytes = b""

    @classmethod
    def for_frames(cls, frames: np.ndarray) -> Palette:
        """The palette of an animation: exact grays, or a median-cut palette of a montage of evenly spaced
        frames, so colours stay put from frame to frame instead of flickering."""
        if frames.shape[3] == 1:
            return cls(gray_levels=GRAY_LEVELS)
        from PIL import Image

        step = max(1, len(frames) // COLOR_MONTAGE_FRAMES)
        montage = np.concatenate(frames[::step][:COLOR_MONTAGE_FRAMES], axis=0)
        quantized = Image.fromarray(montage).quantize(256, method=Image.Quantize.MEDIANCUT)
        return cls(colors=bytes(quantized.getpalette()))

    def indexed(self, frames: np.ndarray) -> Iterator:
        """One P-mode Pillow image per frame (the indices, with this palette), made as it is asked for, so only
        one frame's indices exist at a time."""
        from PIL import Image

        if self.gray_levels:
            levels = self.gray_levels
            ramp = [v for i in range(levels) for v in (round(i * 255 / (levels - 1)),) * 3]
            for frame in frames:
                # (v * (levels - 1) + 127) // 255 rounds each 0..255 value to its nearest level.
                image = Image.fromarray(((frame[..., 0].astype(np.uint16) * (levels - 1) + 127) // 255).astype(np.uint8))
                image.putpalette(ramp)  # mode L becomes P with this palette: no quantiser runs
                yield image
            return
        reference = Image.new("P", (1, 1))
        reference.putpalette(self.colors)
        for frame in frames:
            yield Image.fromarray(frame).quantize(palette=reference, dither=Image.Dither.NONE)


def frame_block(indexed) -> bytes:
    """The GIF image block of one P-mode frame that uses the global palette: descriptor, LZW code size,
    data sub-blocks and terminator, exactly as Pillow's `save` writes it."""
    width, height = indexed.size
    interlace = 1 if min(width, height) >= 16 else 0
    data = indexed.tobytes("gif", "P", 8, interlace)  # Pillow's GIF coder: 8-bit codes, sub-blocks included
    flags = INTERLACE_FLAG if interlace else 0
    return b"\x2c" + struct.pack("<4H", 0, 0, width, height) + bytes([flags, 8]) + data + b"\x00"


def frame_blocks(frames: np.ndarray, palette: Palette) -> list[bytes]:
    """Image blocks of `frames` ([n, h, w, c] uint8) under `palette`, in order."""
    return [frame_block(image) for image in palette.indexed(frames)]


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


def frame_delays(count: int, fps: int) -> list[int]:
    """Each frame's delay in centiseconds (a GIF's only unit) so that the animation keeps `fps` on average: the
    frame times are rounded cumulatively (24 fps is 4, 4, 4, 5, 4, ... cs, not 4 cs = 25 fps). Browsers play a delay
    under 2 cs as 10 cs, so above 50 fps every frame gets 2 cs: 50 fps is as fast as a GIF plays."""
    if fps > 50:
        return [2] * count
    edges = [int(100 * i / fps + 0.5) for i in range(count + 1)]
    return [max(2, b - a) for a, b in zip(edges, edges[1:])]


def write_gif(frames: np.ndarray, fps: int, loop: bool, palette: Palette | None = None) -> bytes:
    """Animated GIF of `frames` ([n, h, w, c] uint8) with one global palette (`Palette.for_frames` unless given).
    Loops forever when `loop`, else plays once. Helper processes code part of the frames when they are running."""
    from serving import gif_helpers

    if not len(frames):
        raise ValueError("a GIF needs at least one frame")
    palette = palette or Palette.for_frames(frames)
    header = _header(next(palette.indexed(frames[:1])))
    blocks = gif_helpers.encode(frames, palette)
    out = [b"GIF89a", header]
    if loop:
        out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # repeat forever
    for block, delay in zip(blocks, frame_delays(len(blocks), fps)):
        control = b"\x21\xf9\x04" + bytes([1 << 2]) + struct.pack("<H", delay) + b"\x00\x00"  # disposal 1: keep
        out += [control, block]
    out.append(b"\x3b")
    return b"".join(out)
