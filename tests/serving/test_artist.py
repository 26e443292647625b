"""For artists (issue 50): curves as SVG, prints at any size, and breeding, on the shipped mathart-params bundle."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from serving.cli import main
from tests.conftest import REPO

BUNDLE = str(REPO / "exported" / "mathart-params")


@pytest.fixture(scope="module")
def gen():
    from serving.bundle.generator import Generator

    return Generator.from_pretrained(BUNDLE)


def _params(gen, seed, family):
    from serving.rendering.still import Still, still_params

    return still_params(gen, Still(gen.config.name, gen.config.sha256, seed=seed, class_index=family))


def _line_pixels(points: np.ndarray, size: int = 256) -> np.ndarray:
    """The pixels the polyline passes through (sampled every 0.1 px): the SVG drawn at `size` px, in numpy."""
    steps = np.maximum(1, np.ceil(np.hypot(*np.diff(points, axis=0).T) / 0.1)).astype(int)
    dense = np.concatenate(
        [a + (b - a) * np.linspace(0, 1, n, endpoint=False)[:, None] for a, b, n in zip(points[:-1], points[1:], steps)]
    )
    mask = np.zeros((size, size), bool)
    ij = np.clip(np.floor(dense).astype(int), 0, size - 1)
    mask[ij[:, 1], ij[:, 0]] = True
    return mask


def _farthest(a: np.ndarray, b: np.ndarray) -> float:
    """The largest distance (px) from a pixel of mask `a` to the nearest pixel of mask `b`."""
    pa, pb = np.argwhere(a).astype(float), np.argwhere(b).astype(float)
    return max(
        float(np.sqrt(((pa[i : i + 512, None] - pb[None]) ** 2).sum(-1)).min(1).max()) for i in range(0, len(pa), 512)
    )


@pytest.mark.parametrize(("seed", "family"), [(3, 0), (3, 1), (5, 2)])
def test_svg_is_valid_follows_the_renderers_points_and_lies_within_1px_of_the_png(gen, seed, family):
    from serving.art.mathart import NAMES, render
    from serving.art.mathart_render import CURVE_POINTS, palette
    from serving.art.mathart_svg import SVG_NS, path_points, svg_points, to_svg

    params = _params(gen, seed, family)
    svg = to_svg(params, family, 256, '{"a": "<&>"}')
    root = ET.fromstring(svg)  # the standard library's parser
    assert root.tag == f"{{{SVG_NS}}}svg" and root.find(f"{{{SVG_NS}}}rect") is not None
    assert root.find(f"{{{SVG_NS}}}metadata")[0].text == '{"a": "<&>"}'
    line = path_points(svg)
    assert len(line) == CURVE_POINTS  # one unbroken line: the segments share their ends
    np.testing.assert_allclose(line, svg_points(params, family), atol=5e-4)  # the renderer's points, in order
    png = render(params, family, 256).astype(np.float64)
    _, background = palette(dict(zip(NAMES, params.tolist())))
    ink = np.abs(png - background).max(-1) > 0.1
    drawn = _line_pixels(line)
    assert ink.sum() > 500 and drawn.sum() > 500
    assert _farthest(ink, drawn) <= 1.0 and _farthest(drawn, ink) <= 1.0


def test_an_svg_renders_again_from_its_recipe_and_julia_says_it_is_no_line(tmp_path, capsys):
    svg, again = tmp_path / "rose.svg", tmp_path / "again.svg"
    assert main(["sample", "--bundle", BUNDLE, "--seeds", "3", "--classes", "rose", "--out", str(svg)]) == 0
    assert main(["sample", "--bundle", BUNDLE, "--recipe", str(svg), "--out", str(again)]) == 0
    assert svg.read_bytes() == again.read_bytes()
    assert main(["render", "--bundle", BUNDLE, "--recipe", str(svg), "--out", str(tmp_path / "x.gif")]) == 2
    assert "sample --recipe" in capsys.readouterr().err
    assert (
        main(["sample", "--bundle", BUNDLE, "--seeds", "3", "--classes", "julia", "--out", str(tmp_path / "j.svg")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not lines" in err and not (tmp_path / "j.svg").exists()


def test_a_print_at_256_is_the_render_and_bands_do_not_change_it(gen, monkeypatch):
    from serving.art import mathart_print
    from serving.art.mathart import render
    from serving.files.grid import to_uint8

    for family in range(5):
        params = _params(gen, 11, family)
        assert np.array_equal(mathart_print.render_print(params, family, 256), to_uint8(render(params, family, 256)))
    params = _params(gen, 4, 2)
    whole = mathart_print.render_print(params, 2, 768)
    monkeypatch.setattr(mathart_print, "BAND_BYTES", 1)  # 16-row bands
    assert mathart_print.band_rows(768) == 16
    assert np.array_equal(mathart_print.render_print(params, 2, 768), whole)


def _downscaled_gap(gen, seed, family, size):
    from serving.art.mathart import render
    from serving.art.mathart_print import render_print
    from serving.files.grid import to_uint8

    params = _params(gen, seed, family)
    big = render_print(params, family, size).astype(np.float64)
    k = size // 256
    down = big.reshape(256, k, 256, k, 3).mean(axis=(1, 3))
    return np.abs(down - to_uint8(render(params, family, 256))).mean() / 255


@pytest.mark.parametrize(("seed", "family"), [(3, 0), (3, 1), (3, 2)])
def test_a_print_downscaled_matches_the_256px_render(gen, seed, family):
    assert _downscaled_gap(gen, seed, family, 1024) <= 2 / 255


@pytest.mark.slow
def test_the_4096px_print_from_the_cli_matches_the_256px_render(gen, tmp_path):
    out = tmp_path / "print.png"
    cmd = [
        "sample",
        "--bundle",
        BUNDLE,
        "--seeds",
        "3",
        "--classes",
        "hypotrochoid",
        "--size",
        "4096",
        "--out",
        str(out),
    ]
    assert main(cmd) == 0
    assert Image.open(out).size == (4096, 4096)
    from serving.files.recipe_file import recipe_in_file

    assert json.loads(recipe_in_file(str(out)))["size"] == 4096
    assert _downscaled_gap(gen, 3, 2, 4096) <= 2 / 255


def test_print_sizes_are_bounded():
    from serving.art.mathart import sample_prior
    from serving.art.mathart_print import render_print
    from serving.errors import InputError

    with pytest.raises(InputError, match="8..8192"):
        render_print(sample_prior(1, np.random.default_rng(0)), 1, 8193)


def _parents(gen):
    from serving.rendering.breed import parent_from_recipe
    from serving.rendering.still import Still

    c = gen.config
    return [
        parent_from_recipe(Still(c.name, c.sha256, seed=s, class_index=k).to_json(), c) for s, k in ((3, 1), (8, 2))
    ]


def test_children_are_reproducible_and_render_again_byte_identical(gen, tmp_path):
    from serving.rendering.breed import breed, breed_sheet
    from serving.rendering.still import Still, still_bytes

    parents = _parents(gen)
    kids = breed(parents, gen.config, 6, seed=1, mutation=0.3)
    assert breed_sheet(kids) == breed_sheet(breed(parents, gen.config, 6, seed=1, mutation=0.3))
    assert breed_sheet(kids) != breed_sheet(breed(parents, gen.config, 6, seed=2, mutation=0.3))
    assert {k.class_index for k in kids} == {1, 2}  # either parent's class
    for kid in kids:
        assert kid.breed.parents == (parents[0].identity, parents[1].identity) and kid.breed.seed == 1
        again = Still.from_dict(json.loads(kid.to_json()))
        assert still_bytes(gen, again) == still_bytes(gen, kid)


def test_children_are_nearer_their_parents_than_random_samples(gen):
    from serving.latent.latents import z_from_seed
    from serving.rendering.breed import breed, children_images
    from serving.rendering.still import Still, still_image

    parents = _parents(gen)
    kids = breed(parents, gen.config, 8, seed=5, mutation=0.3)
    genes = np.stack([p.z for p in parents])

    def latent_gap(z):
        return np.linalg.norm(genes - z, axis=1).min()

    randoms = [z_from_seed(1000 + i, gen.latent_dim) for i in range(8)]
    assert np.mean([latent_gap(np.asarray(k.latent)) for k in kids]) < 0.8 * np.mean([latent_gap(z) for z in randoms])
    c = gen.config

    def coarse(img):  # 16x16 blocks: the picture's layout and colours, not where a thin line falls exactly
        return img.astype(float).reshape(16, 16, 16, 16, 3).mean(axis=(1, 3))

    pics = [coarse(still_image(gen, Still(c.name, c.sha256, seed=s, class_index=k))) for s, k in ((3, 1), (8, 2))]

    def picture_gap(img):
        return min(np.abs(coarse(img) - p).mean() for p in pics)

    strangers = [still_image(gen, Still(c.name, c.sha256, seed=1000 + i, class_index=(1, 2)[i % 2])) for i in range(8)]
    kid_gap = np.mean([picture_gap(img) for img in children_images(gen, kids)])
    assert kid_gap < np.mean([picture_gap(img) for img in strangers])


def test_breed_cli_from_files_then_from_its_own_children(tmp_path, capsys):
    a, b, grid, sheet = (tmp_path / n for n in ("a.gif", "b.png", "children.png", "children.json"))
    assert (
        main(
            [
                "render",
                "--bundle",
                BUNDLE,
                "--seeds",
                "3,4",
                "--classes",
                "rose,rose",
                "--frames",
                "2",
                "--size",
                "64",
                "--out",
                str(a),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "sample",
                "--bundle",
                BUNDLE,
                "--seeds",
                "8",
                "--classes",
                "hypotrochoid",
                "--size",
                "256",
                "--out",
                str(b),
            ]
        )
        == 0
    )
    args = ["breed", "--bundle", BUNDLE, "--parents", f"{a},{b}", "--children", "4", "--seed", "1"]
    assert main([*args, "--out", str(grid), "--save-recipes", str(sheet)]) == 0
    children = json.loads(sheet.read_text())["children"]
    assert len(children) == 4 and all(c["breed"]["seed"] == 1 for c in children)
    one, two = tmp_path / "c2.png", tmp_path / "c2b.png"
    assert main(["sample", "--bundle", BUNDLE, "--recipe", f"{sheet}#2", "--out", str(one)]) == 0
    assert main(["sample", "--bundle", BUNDLE, "--recipe", f"{grid}#2", "--out", str(two)]) == 0
    assert one.read_bytes() == two.read_bytes()
    assert (
        main(["breed", "--bundle", BUNDLE, "--parents", f"{sheet}#0,{sheet}#3", "--out", str(tmp_path / "n.png")]) == 0
    )
    assert main(["breed", "--bundle", BUNDLE, "--parents", str(a), "--out", str(tmp_path / "x.png")]) == 2
    assert "two or more" in capsys.readouterr().err


def test_a_parent_entry_beyond_a_shorter_list_is_one_line_not_a_traceback(gen, tmp_path, capsys):
    from serving.errors import InputError
    from serving.rendering.breed import parent_from_recipe
    from serving.rendering.sample import sample, sample_recipe

    c = gen.config
    walk = {"bundle": c.name, "bundle_sha256": c.sha256}
    bad = {
        "classes.json": {**walk, "seeds": [1, 2], "classes": [0, 1, 2]},  # more classes than seeds
        "latents.json": {**walk, "seeds": [1, 2, 3], "latents": [[0.0] * c.latent_dim]},  # latents shorter
        "sheet.json": json.loads(sample_recipe(c, [1, 2, 3], [0, 1], 1.0)),  # a sheet with fewer classes
    }
    for name, raw in bad.items():
        with pytest.raises(InputError):
            parent_from_recipe(json.dumps(raw), c, 2)
        (tmp_path / name).write_text(json.dumps(raw))
        other = tmp_path / "other.json"
        other.write_text(json.dumps({**walk, "seeds": [4, 5]}))
        args = [
            "breed",
            "--bundle",
            BUNDLE,
            "--parents",
            f"{tmp_path / name}#2,{other}",
            "--out",
            str(tmp_path / "x.png"),
        ]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # One class for all keyframes is cycled, as rendering does; a sheet without classes labels entry i with class
    # i mod num_classes, as `sample` draws it (not the seed's own class).
    assert parent_from_recipe(json.dumps({**walk, "seeds": [5], "classes": [1, 2, 3]}), c, 2).class_index == 3
    assert parent_from_recipe(json.dumps({**walk, "seeds": [1, 2, 3], "classes": [4]}), c, 2).class_index == 4
    sheet = sample_recipe(c, [7, 8], None, 1.0)
    assert parent_from_recipe(sheet, c, 1).class_index == sample(gen, [7, 8]).labels[1] == 1


def test_a_parent_is_named_by_its_recipe_not_by_how_its_json_is_spaced(gen, tmp_path):
    from serving.rendering.breed import breed, breed_sheet, parent_from_recipe
    from serving.rendering.still import Still

    c = gen.config
    raw = json.loads(Still(c.name, c.sha256, seed=3, class_index=1).to_json())
    pretty, compact = json.dumps(raw, indent=2), json.dumps(raw, separators=(",", ":"))
    assert parent_from_recipe(pretty, c).identity == parent_from_recipe(compact, c).identity
    assert parent_from_recipe(compact, c, 0).identity != parent_from_recipe(json.dumps({**raw, "seed": 4}), c).identity
    # A breed sheet's child, picked from the sheet (the CLI's sheet#N) or pasted alone (the Space), is one parent.
    sheet = json.loads(breed_sheet(breed(_parents(gen), c, 3, seed=2)))
    child = sheet["children"][1]
    assert (
        parent_from_recipe(json.dumps(sheet, indent=1), c, 1).identity
        == parent_from_recipe(json.dumps(child), c).identity
    )


def test_size_with_a_sample_sheets_recipe_is_refused_not_ignored(gen, tmp_path, capsys):
    from serving.rendering.sample import sample_recipe

    sheet = tmp_path / "sheet.json"
    sheet.write_text(sample_recipe(gen.config, [0, 1], None, 1.0))
    args = ["sample", "--bundle", BUNDLE, "--recipe", str(sheet), "--size", "512", "--out", str(tmp_path / "x.png")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--size is for one picture" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
