import numpy as np
import pytest

from serving.errors import InputError
from serving.latent.latents import class_mix, one_hot, parse_int_list, splitmix64, z_batch, z_from_seed
from serving.latent.paths import keyframe_path, math_path


def test_design_test_vectors():
    assert int(splitmix64(0, 1)[0]) == 16294208416658607535
    # DESIGN.md prints the vectors to 8 decimals (numpy's display precision), so compare to that precision.
    np.testing.assert_allclose(z_from_seed(0, 4), [-0.45275775, 0.20776604, 2.650606, -0.49042282], rtol=2e-7, atol=0)
    np.testing.assert_allclose(z_from_seed(1, 4), [-0.02824975, -1.0656177, -0.22791952, 0.08309417], rtol=2e-7, atol=0)


def test_z_is_standard_normal_and_prefix_stable():
    z = z_batch(list(range(2000)), 64)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    np.testing.assert_array_equal(z_from_seed(5, 7), z_from_seed(5, 8)[:7])
    np.testing.assert_allclose(z_batch([3], 8, psi=0.5)[0], 0.5 * z_from_seed(3, 8))


@pytest.mark.parametrize(
    "text, expected", [("0-3,9,7", [0, 1, 2, 3, 9, 7]), (" 5 ", [5]), ("4294967295", [4294967295])]
)
def test_parse_seeds(text, expected):
    assert parse_int_list(text) == expected


@pytest.mark.parametrize("text", ["", "a", "5-2", "-1", "4294967296", "0-100000", "1.5"])
def test_parse_seeds_rejects(text):
    with pytest.raises(InputError):
        parse_int_list(text)


def test_classes_and_morphs():
    np.testing.assert_array_equal(one_hot([2], 4), [[0, 0, 1, 0]])
    mix = class_mix(3, 8, [0.0, 0.25, 1.0], 10)
    np.testing.assert_allclose(mix.sum(1), 1.0)
    assert mix[1, 3] == pytest.approx(0.75) and mix[1, 8] == pytest.approx(0.25)
    with pytest.raises(InputError):
        one_hot([10], 10)


@pytest.mark.parametrize("kind", ["lerp", "slerp", "cubic"])
def test_loop_closes_without_repeat_or_jump(kind):
    keys = z_batch([1, 2, 3, 4], 16).astype(np.float64)
    path, weights = keyframe_path(keys, 12, kind, loop=True)
    assert len(path) == 48
    np.testing.assert_allclose(path[0], keys[0], atol=1e-9)
    steps = np.linalg.norm(np.diff(np.vstack([path, path[:1]]), axis=0), axis=1)
    assert steps.min() > 1e-6  # no repeated frame, including across the wrap
    assert steps[-1] < 2.0 * np.median(steps)  # the wrap step is an ordinary step, not a jump
    np.testing.assert_allclose(weights.sum(1), 1.0)


def test_open_path_ends_on_last_keyframe():
    keys = z_batch([1, 2, 3], 8).astype(np.float64)
    path, _ = keyframe_path(keys, 10, "cubic", loop=False, easing="ease-in-out")
    assert len(path) == 21
    np.testing.assert_allclose(path[-1], keys[-1], atol=1e-9)
    np.testing.assert_allclose(path[10], keys[1], atol=1e-9)


def test_slerp_keeps_norms():
    keys = z_batch([10, 20], 64).astype(np.float64)
    keys[1] *= np.linalg.norm(keys[0]) / np.linalg.norm(keys[1])
    path, _ = keyframe_path(keys, 30, "slerp", loop=False)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(keys[0]), rtol=1e-9)
    lerp, _ = keyframe_path(keys, 30, "lerp", loop=False)
    assert np.linalg.norm(lerp, axis=1).min() < 0.9 * np.linalg.norm(keys[0])  # lerp cuts the corner; slerp doesn't


@pytest.mark.parametrize("kind", ["circle", "lissajous", "spiral"])
def test_math_paths_are_exactly_periodic(kind):
    z0, z1 = z_batch([1, 2], 32)
    path = math_path(z0, z1, 40, kind)
    twice = math_path(z0, z1, 80, kind)
    np.testing.assert_allclose(twice[::2], path, atol=1e-12)  # frame j of 40 == frame 2j of 80: same closed curve
    steps = np.linalg.norm(np.diff(np.vstack([path, path[:1]]), axis=0), axis=1)
    assert steps.min() > 0 and steps[-1] < 3 * np.median(steps)


def test_parse_classes_by_index_range_or_name():
    from serving.latent.latents import parse_classes

    names = ("lissajous", "rose", "hypotrochoid", "julia", "clifford")
    assert parse_classes("rose, 3,0-1,Clifford", names) == [1, 3, 0, 1, 4]
    digits = tuple(str(i) for i in range(10))
    assert parse_classes("3,8,0,5", digits) == [3, 8, 0, 5]
    for bad, message in (("tulip", "unknown class"), ("7", "out of range"), (" , ", "empty")):
        with pytest.raises(InputError, match=message):
            parse_classes(bad, names)
    with pytest.raises(InputError, match="not conditional"):
        parse_classes("1", ())


def test_conditional_render_without_classes_uses_each_seeds_class():
    from serving.rendering.recipe import Recipe
    from serving.rendering.render import build_inputs

    z, y = build_inputs(Recipe(seeds=(5, 6, 7), path="lerp", frames=2, loop=False), latent_dim=8, num_classes=4)
    # Keyframes sit at frames 0, 2 and 4: classes 5%4, 6%4, 7%4; frame 1 is halfway between the first two.
    assert y.argmax(axis=1)[[0, 2, 4]].tolist() == [1, 2, 3]
    assert np.allclose(y[1], [0, 0.5, 0.5, 0])
