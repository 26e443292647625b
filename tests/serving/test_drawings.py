"""Drawings become math art: a line traced from any pen, ink and paper; a curve family's equation fitted to it; the
latent whose parameters draw it; a plain word on how well it fits. On the shipped mathart-params bundle and real
onnxruntime sessions; the drawings are made here with Pillow, as a person's pen would make them."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from serving import cli
from serving.art.mathart import FAMILIES, MID, NAMES
from serving.art.mathart_render import curve_xy
from serving.bundle.generator import Generator
from serving.bundle.params_graph import output_subgraph
from serving.errors import InputError
from serving.latent.latents import one_hot
from serving.picture import curve_fit
from serving.picture.line import trace
from serving.picture.project import prepare, project

MATH = "exported/mathart-params"


@pytest.fixture(scope="module")
def gen():
    return Generator.from_pretrained(MATH)


def dials(**values) -> np.ndarray:
    vec = MID.copy()
    for name, value in values.items():
        vec[NAMES.index(name)] = value
    return vec


ROSE5 = dials(rose_k=5.0, rose_offset=0.0, rose_rotation=0.3)
HYPO = dials(hypo_lobes=7.0, hypo_loops=2.0, hypo_pen=0.9, hypo_rotation=0.2)


def drawn(params, family, width=5, ink=(20, 20, 40), paper=(245, 240, 228), scale=0.9, wobble=1.0, seed=0):
    """A curve drawn by a hand on paper: the equation's points, a little tremor, a pen `width` px wide at 256."""
    rng = np.random.default_rng(seed)
    x, y = curve_xy(family, dict(zip(NAMES, params.tolist())), 2000)
    t = np.linspace(0, 1, x.size)
    dx = wobble * np.sin(2 * np.pi * (5 * t + rng.uniform())) + rng.normal(0, wobble / 4, x.size)
    dy = wobble * np.cos(2 * np.pi * (7 * t + rng.uniform())) + rng.normal(0, wobble / 4, x.size)
    image = Image.new("RGB", (1024, 1024), paper)
    pts = [
        (float((a * scale * 0.5 + 0.5) * 256 + u) * 4, float((0.5 - b * scale * 0.5) * 256 + v) * 4)
        for a, b, u, v in zip(x, y, dx, dy)
    ]
    ImageDraw.Draw(image).line(pts, fill=ink, width=width * 4, joint="curve")
    return image.resize((256, 256), Image.Resampling.BOX)


def test_the_line_is_the_same_whatever_the_pen_ink_and_paper():
    thick_dark = trace(drawn(ROSE5, "rose", width=7)).points
    thin_light = trace(drawn(ROSE5, "rose", width=1, ink=(250, 250, 240), paper=(20, 30, 25))).points
    blurred_colour = trace(drawn(ROSE5, "rose", width=3, ink=(200, 30, 30)).filter(ImageFilter.GaussianBlur(1))).points
    truth = np.stack(curve_xy("rose", dict(zip(NAMES, ROSE5.tolist())), 4000), axis=1) * 0.9
    for points in (thick_dark, thin_light, blurred_colour):
        # Every traced point lies on the true curve (within 2.5 px at 256: the tremor and a pixel of tracing)...
        d = np.sqrt(((points[:, None] - truth[None]) ** 2).sum(-1)).min(axis=1) * 128
        assert np.median(d) < 1.5 and np.percentile(d, 95) < 2.5
        # ... and the curve is covered: no part of it is missing from the line.
        back = np.sqrt(((truth[::8, None] - points[None]) ** 2).sum(-1)).min(axis=1) * 128
        assert np.percentile(back, 95) < 3.0


def test_a_blank_page_is_refused_in_one_line():
    with pytest.raises(InputError, match="looks blank"):
        trace(Image.new("RGB", (200, 200), (240, 238, 230)))


def test_the_fit_finds_the_family_and_its_dials():
    fits = curve_fit.fit(trace(drawn(ROSE5, "rose", width=4)).points)
    assert fits[0].family == "rose"
    k = fits[0].params[NAMES.index("rose_k")]
    assert abs(k - 5.0) < 0.2  # five petals, not four or six
    fits = curve_fit.fit(trace(drawn(HYPO, "hypotrochoid", width=3)).points)
    assert fits[0].family == "hypotrochoid"
    assert curve_fit.frame_distance_px(fits[0].params, "hypotrochoid", HYPO * 1, "hypotrochoid") < 4.0


def test_the_chamfer_distance_grows_with_the_misfit():
    x, y = curve_xy("rose", dict(zip(NAMES, ROSE5.tolist())), 4000)
    along = np.concatenate([[0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    even = np.linspace(0, along[-1], 300)  # evenly along the line, as a traced line's pixels are
    line = curve_fit.target(np.stack([np.interp(even, along, x), np.interp(even, along, y)], axis=1), 300)
    rotated = [dials(rose_k=5.0, rose_offset=0.0, rose_rotation=0.3 + a) for a in (0.0, 0.05, 0.15, 0.3)]
    d = curve_fit.chamfer(*curve_fit.curves("rose", np.stack(rotated), 400), line)
    assert d[0] < 0.02 and np.all(np.diff(d) > 0)  # the exact curve: only the spacing of the points


def test_the_params_head_gives_the_whole_models_numbers(gen):
    z = np.random.default_rng(3).standard_normal((40, gen.latent_dim)).astype(np.float32)
    y = one_hot(np.arange(40) % gen.num_classes, gen.num_classes)
    whole = np.empty((40, len(gen.config.param_names)), np.float32)
    gen._run("params", z, y, 16, whole)  # the whole graph: the params output beside the renderer's images
    assert np.array_equal(gen.params(z, y), whole)
    head = output_subgraph((gen.bundle_dir / "model.onnx").read_bytes(), "params")
    assert len(head) < len((gen.bundle_dir / "model.onnx").read_bytes()) / 2  # the renderer is left out


@pytest.mark.parametrize("params, family", [(ROSE5, "rose"), (HYPO, "hypotrochoid")])
def test_a_drawing_comes_back_as_its_family_and_a_curve_on_it(gen, params, family):
    found = project(gen, drawn(params, family, width=5))
    assert FAMILIES[found.class_index] == family and found.fits
    assert found.fit_px < 8.0 and "Found the curve" in found.verdict
    assert set(found.equation) == {n for n in NAMES if n.startswith(family[:4])}  # its own dials, no palette
    redrawn = gen.params(found.latent[None], one_hot([found.class_index], gen.num_classes))[0]
    assert curve_fit.frame_distance_px(redrawn, family, params, family) < 8.0  # the model's line on the true one
    assert found.overlay.shape == (256, 256, 3)
    again = project(gen, drawn(params, family, width=5))
    assert np.array_equal(again.latent, found.latent)  # seeded: the same drawing, the same answer


def test_a_class_hint_keeps_the_answer_in_that_family(gen):
    found = project(gen, drawn(ROSE5, "rose", width=4), class_index=FAMILIES.index("hypotrochoid"))
    assert FAMILIES[found.class_index] == "hypotrochoid"


def test_a_photo_is_not_called_a_fit(gen):
    rng = np.random.default_rng(0)
    # A photo's worth of edges: many blobs of texture at many scales.
    photo = rng.uniform(0, 255, (64, 64, 3)).astype(np.uint8)
    picture = Image.fromarray(photo).resize((256, 256), Image.Resampling.BICUBIC)
    found = project(gen, picture)
    assert not found.fits and "does not look like" in found.verdict


def test_a_julia_render_still_comes_back_as_julia(gen):
    z = np.random.default_rng(1).standard_normal((1, gen.latent_dim)).astype(np.float32)
    y = one_hot([FAMILIES.index("julia")], gen.num_classes)
    found = project(gen, Image.fromarray(gen(z, y)[0]))
    assert FAMILIES[found.class_index] == "julia" and found.fit_px is None and found.fits


def test_thick_and_thin_pens_prepare_to_the_same_digit():
    def seven(width, ink, paper):
        image = Image.new("RGB", (200, 200), paper)
        ImageDraw.Draw(image).line([(50, 40), (150, 40), (85, 170)], fill=ink, width=width)
        return image

    thick = prepare(seven(24, (0, 0, 0), (255, 255, 255)), (28, 28), 1)
    thin = prepare(seven(4, (255, 255, 255), (0, 0, 0)), (28, 28), 1)
    assert np.mean(np.abs(thick - thin)) < 0.03  # the pen's width is redrawn as MNIST's


def test_the_cli_prints_the_equation_and_previews_the_curve_on_the_drawing(tmp_path, capsys):
    path = tmp_path / "drawn-rose.png"
    drawn(ROSE5, "rose", width=4).save(path)
    preview = tmp_path / "preview.png"
    code = cli.main(["project", "--bundle", MATH, "--image", str(path), "--preview", str(preview)])
    out = capsys.readouterr()
    assert code == 0
    found = json.loads(out.out)
    assert found["class"] == FAMILIES.index("rose") and found["fits"] and abs(found["equation"]["rose_k"] - 5) < 0.2
    assert "Found the curve" in out.err
    assert Image.open(preview).size[0] >= 3 * Image.open(preview).size[1] - 8  # three panels: seen, drawn, laid over


def test_a_sparse_cloud_of_dots_is_projected_by_pixels_not_refused(gen):
    rng = np.random.default_rng(2)
    dots = np.zeros((256, 256, 3), np.uint8)
    ys, xs = rng.integers(20, 236, 150), rng.integers(20, 236, 150)
    dots[ys, xs] = 255  # single bright pixels: too little ink to trace a line
    found = project(gen, Image.fromarray(dots))
    assert found.fit_px is None and found.image.shape == (256, 256, 3)


def test_a_small_drawing_is_fitted_in_the_frame_it_is_shown_in(gen):
    small = drawn(ROSE5, "rose", width=4).resize((96, 96), Image.Resampling.LANCZOS)
    found = project(gen, small)
    assert FAMILIES[found.class_index] == "rose" and found.fits
    # The overlay's curve lies on the prepared picture's strokes: where the overlay is yellow, the picture has ink.
    yellow = (found.overlay[..., 0] > 200) & (found.overlay[..., 1] > 150) & (found.overlay[..., 2] < 80)
    ink = found.prepared.max(axis=2) > 60
    near = np.zeros_like(ink)
    for dy in range(-4, 5):
        for dx in range(-4, 5):
            near |= np.roll(np.roll(ink, dy, 0), dx, 1)
    assert yellow.sum() > 200 and near[yellow].mean() > 0.9
