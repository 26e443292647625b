"""Rendering on every core: frames generated in slices (one onnxruntime session per core) give the same bytes as
one thread does, GIF frames included."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from serving.bundle.generator import Generator
from serving.files.gif_blocks import Palette, frame_block, frame_blocks
from serving.rendering.recipe import Recipe
from serving.rendering.render import render
from tests.conftest import REPO

MNIST = REPO / "exported" / "mnist-cdcgan"
MATHART = REPO / "exported" / "mathart-params"


def _pillow_block(image) -> bytes:
    """The image block Pillow's own `save` writes for a one-frame GIF (the descriptor up to the terminator)."""
    buf = io.BytesIO()
    image.save(buf, format="GIF", optimize=False)
    data = buf.getvalue()
    return data[data.index(b"\x2c", 13 + 3 * 2 ** ((data[10] & 7) + 1)) : -1]


def _two_threads(path) -> Generator:
    """A generator on two threads whatever the core count."""
    one = Generator.from_pretrained(path, threads=1)
    return Generator(one.bundle_dir, one.config, one.session, one.source, threads=2)


def _frames(shape, seed=0) -> np.ndarray:
    frames = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    frames[:, : shape[1] // 2] //= 16  # runs as well as noise, so the LZW table grows and resets
    return frames


@pytest.mark.parametrize("shape", [(3, 40, 48, 1), (2, 8, 12, 1), (2, 40, 12, 1), (3, 33, 20, 3)])
def test_frame_blocks_are_the_blocks_pillow_writes(shape):
    """Pillow's coder called directly writes what `save` writes, interlaced unless a side is under 16 pixels."""
    frames = _frames(shape)
    palette = Palette.for_frames(frames)
    for image, block in zip(palette.indexed(frames), frame_blocks(frames, palette)):
        assert block == frame_block(image) == _pillow_block(image)


def test_gif_is_the_same_bytes_on_every_core_and_on_one():
    """A 96-frame walk: 2 threads against 1 thread, byte for byte."""
    recipe = Recipe(seeds=(1, 2, 3, 4), classes=(3, 8, 0, 5), path="cubic", frames=24, size=128)
    parallel = render(_two_threads(MNIST), recipe)
    alone = render(Generator.from_pretrained(MNIST, threads=1), recipe)
    assert parallel == alone
    gif = Image.open(io.BytesIO(parallel))
    assert gif.n_frames == 96 and gif.size == (128, 128)


@pytest.mark.parametrize("bundle, rows", [(MNIST, 37), (MATHART, 9)])
def test_generator_slices_match_one_session(bundle, rows):
    one = Generator.from_pretrained(bundle, threads=1)
    two = _two_threads(bundle)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((rows, one.latent_dim)).astype(np.float32)
    y = np.eye(one.num_classes, dtype=np.float32)[rng.integers(0, one.num_classes, rows)]
    np.testing.assert_array_equal(one(z, y, batch_size=4, output="float"), two(z, y, batch_size=4, output="float"))


def test_in_parallel_raises_only_after_every_run_ended():
    gen = _two_threads(MNIST)
    finished = []

    def work(item):
        if item == 0:
            raise ValueError("first run fails")
        threading.Event().wait(0.2)
        finished.append(item)

    with pytest.raises(ValueError, match="first run fails"):
        gen.in_parallel(work, [0, 1])
    assert finished == [1]  # the other run had ended before the error reached the caller


def test_concurrent_renders_get_their_own_frames():
    gen = _two_threads(MNIST)
    recipes = [Recipe(seeds=(s, s + 1), frames=16, size=64) for s in range(1, 7)]
    expected = [render(gen, r) for r in recipes]
    got = [None] * len(recipes)

    def one(i):
        got[i] = render(gen, recipes[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(recipes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert got == expected


def test_a_thread_in_the_heavy_lane_keeps_its_work_on_itself(monkeypatch):
    """serving.bundle.lanes.on_this_thread: the same bytes, with no generator pool and no resize threads (each would take
    a core from the short renders beside it)."""
    from serving.bundle import lanes
    from serving.rendering import resize

    recipe = Recipe(seeds=(1, 2), classes=(3, 8), frames=12, size=128)
    gen = _two_threads(MNIST)
    expected = render(gen, recipe)
    monkeypatch.setattr(gen._pool, "submit", lambda *a, **k: pytest.fail("the generator's pool was used"))
    real_pool = resize.ThreadPoolExecutor
    monkeypatch.setattr(resize, "ThreadPoolExecutor", lambda *a, **k: pytest.fail("resize threads were used"))
    with lanes.on_this_thread():
        assert render(gen, recipe) == expected
        frames = _frames((8, 40, 40, 3))
        assert resize.resize_frames(frames, 64, 64, "lanczos").shape == (8, 64, 64, 3)
    monkeypatch.setattr(resize, "ThreadPoolExecutor", real_pool)


def test_every_group_of_frames_keeps_every_thread_busy(monkeypatch):
    """When the memory cap cuts a walk into more spans than threads, the spans are cut evenly into a multiple of
    the threads: no group is left for one thread to draw alone. The frames are those of one uncut call."""
    from serving.rendering import render as render_mod

    gen = _two_threads(MNIST)
    recipe = Recipe(seeds=(1, 2, 3), classes=(3, 8, 0), frames=8, size=64)  # 24 frames
    whole = render_mod.render_frames(gen, recipe)
    image_bytes = 28 * 28 * 4
    monkeypatch.setattr(render_mod, "CHUNK_BYTES", 5 * image_bytes * 2)  # 5 frames per span on two threads
    groups = []
    in_parallel = gen.in_parallel

    def spy(work, items):  # the render's groups of spans (the generator's own row slices go through it too)
        if isinstance(items[0], tuple):
            groups.append(list(items))
        return in_parallel(work, items)

    monkeypatch.setattr(gen, "in_parallel", spy)
    cut = render_mod.render_frames(gen, recipe)
    assert len(groups) == 3 and all(len(g) == 2 for g in groups)  # 24 frames: 6 spans of 4, not 5, 5, 5, 5, 4
    assert all(b - a == 4 for g in groups for a, b in g)
    np.testing.assert_array_equal(cut, whole)


def test_resizing_a_few_frames_at_a_time_is_the_same_as_all_at_once(monkeypatch):
    """The dense Lanczos resize works through the frames a cache-sized block at a time: one frame per block gives
    the bytes of one block for all."""
    from serving.rendering import resize

    frames = np.random.default_rng(2).random((7, 28, 28, 3), dtype=np.float32)
    monkeypatch.setattr(resize, "CACHE_BYTES", 1 << 30)
    whole = resize.resize_frames(frames, 200, 130, "lanczos")
    monkeypatch.setattr(resize, "CACHE_BYTES", 1)
    np.testing.assert_array_equal(resize.resize_frames(frames, 200, 130, "lanczos"), whole)
    assert whole.shape == (7, 200, 130, 3) and whole.dtype == np.uint8


@pytest.mark.parametrize(
    "shape, height, width",
    [((48, 28, 28, 1), 256, 256), ((5, 28, 28, 3), 200, 130), ((3, 64, 64, 4), 256, 96), ((2, 28, 28, 1), 14, 14)],
)
def test_the_block_resize_makes_the_bytes_of_one_product_over_the_batch(shape, height, width):
    """Against the formula the resize had before it worked a block at a time: one product over every frame's
    columns, quantised as a whole."""
    from serving.rendering.resize import lanczos_matrix, resize_frames

    frames = np.random.default_rng(3).random(shape, dtype=np.float32)
    n, h, w, c = shape
    wy, wx = lanczos_matrix(h, height), lanczos_matrix(w, width)
    rows = (np.moveaxis(frames, 3, 1).reshape(n * c * h, w) @ wx.T).reshape(n * c, h, width)
    cols = (wy @ np.ascontiguousarray(rows.transpose(1, 0, 2)).reshape(h, n * c * width)).reshape(height, n, c, width)
    expected = np.clip(cols * 255.0 + 0.5, 0.0, 255.0).transpose(1, 0, 3, 2).astype(np.uint8)
    np.testing.assert_array_equal(resize_frames(frames, height, width, "lanczos"), expected)
