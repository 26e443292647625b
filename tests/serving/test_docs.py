"""docs/format.md states facts the code must keep: the seed test vectors and the recipe's fields and defaults."""

import dataclasses
import json
import re

import numpy as np

from serving.latent.latents import z_from_seed
from serving.rendering.recipe import Recipe
from tests.conftest import REPO

DOC = (REPO / "docs" / "format.md").read_text()


def _table(after: str) -> list[list[str]]:
    """The rows of the first table after the text `after`, without its header."""
    section = DOC[DOC.index(after) + len(after) :]
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]  # without the header


def test_seed_test_vectors_are_what_z_from_seed_gives():
    rows = _table("Test vectors")
    assert len(rows) >= 4
    for seed, values in rows:
        expected = np.asarray([float(v) for v in values.split(",")], dtype=np.float32)
        np.testing.assert_array_equal(z_from_seed(int(seed), 4), expected)


def test_recipe_table_lists_every_field_with_its_default():
    rows = {r[0].strip("`"): r for r in _table("## Recipes")}
    defaults = json.loads(json.dumps(dataclasses.asdict(Recipe())))  # every field, also those to_json leaves out
    assert set(rows) == {f.name for f in dataclasses.fields(Recipe)}
    for name, row in rows.items():
        assert json.loads(row[2]) == defaults[name], name


def test_config_table_names_the_bounds_the_loader_uses():
    from serving.bundle import config

    assert f"1..{config.MAX_LATENT_DIM}" in DOC and f"0..{config.MAX_CLASSES:,}" in DOC
    assert re.search(rf"each 1\.\.{config.MAX_IMAGE_SIDE}", DOC)
