"""Rendering on every core: frames generated in slices (one onnxruntime session per core) and GIF frames coded in
helper processes give the same bytes as one thread does."""

import io
import logging

import numpy as np
import pytest
from PIL import Image

from serving import gif_helpers
from serving.generator import Generator
from serving.gif import Palette, frame_block, frame_blocks, write_gif
from serving.recipe import Recipe
from serving.render import render
from tests.conftest import REPO

MNIST = REPO / "exported" / "mnist-cdcgan"


def _pillow_block(image) -> bytes:
    """The image block Pillow's own `save` writes for a one-frame GIF (the descriptor up to the terminator)."""
    buf = io.BytesIO()
    image.save(buf, format="GIF", optimize=False)
    data = buf.getvalue()
    return data[data.index(b"\x2c", 13 + 3 * 2 ** ((data[10] & 7) + 1)) : -1]


@pytest.fixture
def helpers():
    gif_helpers.stop()
    assert gif_helpers.start(1) == 1
    yield gif_helpers._helpers
    gif_helpers.stop()


@pytest.mark.parametrize("shape", [(3, 40, 48, 1), (2, 8, 12, 1), (3, 33, 20, 3)])
def test_frame_blocks_are_the_blocks_pillow_writes(shape):
    """Pillow's coder called directly writes what `save` writes, interlaced from 16 rows as Pillow does."""
    frames = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    frames[:, : shape[1] // 2] //= 16  # runs as well as noise, so the LZW table grows and resets
    palette = Palette.for_frames(frames)
    for image, block in zip(palette.indexed(frames), frame_blocks(frames, palette)):
        assert block == frame_block(image) == _pillow_block(image)


def test_gif_is_the_same_bytes_on_every_core_and_on_one(helpers):
    """A 96-frame walk: 2 sessions and a helper process against 1 session and no helper, byte for byte."""
    recipe = Recipe(seeds=(1, 2, 3, 4), classes=(3, 8, 0, 5), path="cubic", frames=24, size=128)
    parallel = render(Generator.from_pretrained(MNIST, threads=2), recipe)
    assert helpers[0].frames_coded > 0  # the helper coded part of the frames
    gif_helpers.stop()
    alone = render(Generator.from_pretrained(MNIST, threads=1), recipe)
    assert parallel == alone
    gif = Image.open(io.BytesIO(parallel))
    assert gif.n_frames == 96 and gif.size == (128, 128)


def test_generator_slices_match_one_session():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((37, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 37)]
    one = Generator.from_pretrained(MNIST, threads=1)
    two = Generator.from_pretrained(MNIST, threads=2)
    assert len(two.sessions) == 2
    np.testing.assert_array_equal(one(z, y, batch_size=8, output="float"), two(z, y, batch_size=8, output="float"))


def test_a_failed_helper_is_dropped_and_its_frames_coded_here(helpers, caplog):
    frames = np.random.default_rng(2).integers(0, 256, size=(12, 24, 24, 1), dtype=np.uint8)
    expected = write_gif(frames, 10, True)  # with the helper
    assert helpers[0].frames_coded == 6
    helpers[0].proc.kill()
    helpers[0].proc.wait()
    with caplog.at_level(logging.WARNING, logger="serving.gif_helpers"):
        assert write_gif(frames, 10, True) == expected
    assert gif_helpers._helpers == [] and "GIF helper process failed" in caplog.text


def test_a_helper_answers_a_bad_message_with_an_error_and_goes_on():
    """Garbage on the pipe is an error message back (the parent then codes those frames), never code run."""
    frames = np.zeros((2, 16, 16, 1), dtype=np.uint8)
    good = b'{"shape": [2, 16, 16, 1], "gray_levels": 64, "colors": ""}\n' + frames.tobytes()
    stdin = io.BytesIO(b'{"shape": "cos(0)"}\n' + b"not json\n" + good)
    stdout = io.BytesIO()
    gif_helpers.serve(-1, stdin, stdout)
    stdout.seek(0)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            gif_helpers._read_blocks(stdout)
    assert gif_helpers._read_blocks(stdout) == frame_blocks(frames, Palette(gray_levels=64))
