import numpy as np
import pytest
from PIL import Image

from serving.art import mathart
from serving.errors import InputError
from training.data import dataset_sha256, load_dataset, make_pipeline


def _disjoint(*parts: np.ndarray) -> bool:
    seen: set[bytes] = set()
    for part in parts:
        keys = {img.tobytes() for img in part}
        if keys & seen:
            return False
        seen |= keys
    return True


def test_mnist_sample_has_three_parts_that_never_mix():
    data = load_dataset("mnist-sample")
    assert data.images.shape[1:] == (28, 28, 1) and data.images.dtype == np.float32
    assert data.images.min() >= -1.0 and data.images.max() <= 1.0
    assert data.num_classes == 10 and set(np.unique(data.labels)) == set(range(10))
    assert (len(data.images), len(data.val_images), len(data.test_images)) == (4000, 500, 500)
    assert np.bincount(data.val_labels).tolist() == [50] * 10 == np.bincount(data.test_labels).tolist()
    # No image is in two parts: what is chosen on (validation) and judged on (test) is never trained on.
    assert _disjoint(data.images, data.val_images, data.test_images)
    assert dataset_sha256(data) == dataset_sha256(load_dataset("mnist-sample"))  # the name fixes the data


def test_full_mnist_is_its_own_name_and_fails_in_one_line_where_it_cannot_be_had(tmp_path, monkeypatch):
    # No cached copy and a host that refuses at once (a closed loopback port): the offline machine's case.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("training.data.DATASET_HOST", ("127.0.0.1", 9))
    with pytest.raises(InputError, match="mnist-sample") as err:
        load_dataset("mnist")
    assert "\n" not in str(err.value)


def test_mathart_pixel_dataset_is_drawn_from_accepted_parameters():
    images, labels = mathart.render_dataset(10, seed=0, size=32)
    assert images.shape == (10, 32, 32, 3) and np.bincount(labels).tolist() == [2] * 5
    params, same_labels = mathart.sample_accepted(10, seed=0)
    np.testing.assert_array_equal(labels, same_labels)
    np.testing.assert_array_equal(images[7], mathart.render(params[7], int(labels[7]), 32))
    for img in images:  # every image has visible structure, not a blank background
        assert img.std() > 0.02


def test_mathart_dataset_split_and_range():
    data = load_dataset("mathart", image_size=32, mathart_count=20)
    assert data.images.shape == (20, 32, 32, 3)
    assert -1.0 <= data.images.min() and data.images.max() <= 1.0
    assert data.class_names == list(mathart.FAMILIES)
    assert len(data.val_images) >= 5 and len(data.test_images) >= 5
    assert _disjoint(data.images, data.val_images, data.test_images)


def _write_images(folder, names, size=(40, 30), colour=(200, 10, 10)):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", size, colour).save(folder / name)


def test_folder_dataset_with_classes_and_unreadable_file(tmp_path, capsys):
    _write_images(tmp_path / "cats", [f"{i}.png" for i in range(6)])
    _write_images(tmp_path / "dogs" / "deep", [f"{i}.jpg" for i in range(5)], colour=(10, 200, 10))
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not an image")
    data = load_dataset(f"folder:{tmp_path}", image_size=32)
    assert data.class_names == ["cats", "dogs"]
    assert data.images.shape[1:] == (32, 32, 3)
    assert len(data.images) + len(data.val_images) + len(data.test_images) == 11
    assert "skipped 1 unreadable" in capsys.readouterr().out


@pytest.mark.parametrize(
    "spec, message",
    [("folder:/no/such/place", "does not exist"), ("imagenet", "unknown dataset"), ("folder:", "needs a path")],
)
def test_dataset_errors(spec, message):
    with pytest.raises(InputError, match=message):
        load_dataset(spec)


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(InputError, match="no .png"):
        load_dataset(f"folder:{tmp_path}")


def test_pipeline_order_is_fixed_by_seed_and_resumable(tiny_mnist_like):
    def first_labels(start_step, seed=3, steps=6):
        it = iter(make_pipeline(tiny_mnist_like, 8, seed, start_step))
        return [next(it)[1].numpy().tolist() for _ in range(steps)]

    full = first_labels(0)
    assert full == first_labels(0)
    assert first_labels(2, steps=4) == full[2:]  # a resumed stream continues where the first one stopped
    assert first_labels(0, seed=4) != full
