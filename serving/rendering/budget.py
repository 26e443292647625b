"""The work budget: what one render may cost, checked before any work, in one place for the CLI, library and Space.

Three figures bound a request: generator images (frames x grid cells: rows through onnxruntime), output pixels
(frames x height x width: the uint8 frames held for the encoder) and the encoded file's size (an upper estimate).
Float images are never held for a whole animation: `serving.rendering.render` streams frames through the generator in
chunks, so memory follows the output pixels, which the budget caps.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.errors import BudgetError

# Upper estimate of encoded bytes per output pixel: GIF is one palette index before LZW (which rarely grows it),
# WebP at quality 90 stays under one byte, a PNG strip is at most its raw channels, H.264 far less.
BYTES_PER_PIXEL = {"gif": 1.0, "webp": 1.0, "png": 3.0, "mp4": 0.5}


@dataclass(frozen=True)
class Budget:
    """Caps for one request; `where` names who set them in the refusal message."""

    where: str
    generator_images: int
    output_pixels: int
    encoded_bytes: int
    video_pixels: int  # an MP4 is streamed to its encoder a chunk at a time: its frames are never all held
    audio_seconds: float  # the longest song a music-driven walk may follow
    seconds: float | None = None  # the longest a request may take here, by its estimate (serving.rendering.cost)


@dataclass(frozen=True)
class Work:
    generator_images: int
    output_pixels: int
    encoded_bytes: int


# The command line and the library: a workstation's memory. Peak RSS is a few times the uint8 frames (the GIF
# writer copies them), so 200M pixels stay within a workstation's few GB.
# An MP4 holds one chunk of frames at a time, so its cap is on encoding time: ten minutes of 256 px video at 24 fps
# (0.94G pixels) fits.
CLI = Budget(
    "the command line",
    generator_images=262_144,
    output_pixels=200_000_000,
    encoded_bytes=1 << 30,
    video_pixels=2_000_000_000,
    audio_seconds=600.0,
)
# A shared CPU Space: R2 (256 frames of a 4x4 grid at 512x512: 4,096 images, 67M pixels) is the largest
# standard request and fits; 8x more generator images than R2 would hold the queue for minutes.
# A song: its first 30 s (720 frames at 24 fps, 47M pixels at 256 px).
# And about 10 s of this machine's time (serving.rendering.cost): R2 on the digit models fits, a 4x4 math-art grid
# of 256 frames does not.
SPACE = Budget(
    "this Space",
    generator_images=8_192,
    output_pixels=72_000_000,
    encoded_bytes=96 << 20,
    video_pixels=72_000_000,
    audio_seconds=30.0,
    seconds=10.0,
)


def work(frames: int, cells: int, height: int, width: int, fmt: str) -> Work:
    pixels = frames * height * width
    return Work(frames * cells, pixels, int(pixels * BYTES_PER_PIXEL.get(fmt, 3.0)))


def check(frames: int, cells: int, height: int, width: int, fmt: str, budget: Budget, streamed: bool = False) -> Work:
    """The request's work, or BudgetError naming the cap it passes and what to reduce. `streamed`: the frames go
    to the encoder a chunk at a time (an MP4 from serving.rendering.render.render), so the video cap applies."""
    w = work(frames, cells, height, width, fmt)
    pixel_cap = budget.video_pixels if streamed else budget.output_pixels
    if w.generator_images > budget.generator_images:
        raise BudgetError(
            f"this render needs {w.generator_images:,} generator images ({frames} frames x {cells} grid "
            f"cells); {budget.where} allows {budget.generator_images:,}: use fewer frames, seeds or "
            "grid cells"
        )
    if w.output_pixels > pixel_cap:
        raise BudgetError(
            f"this render would be {frames} frames of {width}x{height} = {w.output_pixels / 1e6:.0f}M "
            f"pixels; the limit in {budget.where} is {pixel_cap / 1e6:.0f}M: use fewer "
            "frames or seeds, or a smaller size"
        )
    if w.encoded_bytes > budget.encoded_bytes:
        raise BudgetError(
            f"this {fmt} could reach {w.encoded_bytes / 2**20:.0f} MiB; the limit in {budget.where} is "
            f"{budget.encoded_bytes / 2**20:.0f} MiB: use fewer frames, a smaller size or gif/webp"
        )
    return w
