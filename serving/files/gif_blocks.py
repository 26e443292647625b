"""A GIF's frames as image blocks: the global palette, and each frame's own LZW stream.

Each frame's image block is Pillow's own GIF coder run straight on the frame's palette indices
(`Image.tobytes("gif", ...)`), with the settings Pillow's `save` uses (8-bit code size, interlaced), so a block is
byte-for-byte what `save` writes for that frame. The bytes depend only on the frame and the palette:
serving.files.gif joins them into the file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

GRAY_LEVELS = 64  # grayscale GIFs: palette levels (error <= 2/255, docs/rendering.md; half the bytes of 256 levels)
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
            ramp = bytes(v for i in range(levels) for v in (round(i * 255 / (levels - 1)),) * 3)
            for frame in frames:
                # (v * (levels - 1) + 127) // 255 rounds each 0..255 value to its nearest level.
                image = Image.fromarray(
                    ((frame[..., 0].astype(np.uint16) * (levels - 1) + 127) // 255).astype(np.uint8)
                )
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
