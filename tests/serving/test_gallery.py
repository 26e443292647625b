import dataclasses
import sqlite3

import pytest

from serving.bundle.generator import Generator
from serving.cli import main
from serving.galleries.gallery import Gallery, random_recipe, recipe_hash, run_batch
from serving.rendering.recipe import Recipe
from serving.rendering.render import render


@pytest.fixture(scope="module")
def gen(tiny_bundles):
    return Generator.from_pretrained(tiny_bundles["cgan"])


def _small(recipe: Recipe) -> Recipe:
    return dataclasses.replace(recipe, size=32, frames=3, grid=(1, 1))


def test_batch_resumes_without_duplicates_and_shards_split_the_work(gen, tmp_path, monkeypatch):
    import serving.galleries.gallery as gallery_mod

    original = gallery_mod.random_recipe
    monkeypatch.setattr(gallery_mod, "random_recipe", lambda *a, **k: _small(original(*a, **k)))
    db = tmp_path / "g.sqlite"
    with Gallery(db, tmp_path / "files") as g:
        assert run_batch(gen, g, 6, shard=0, shards=2, log=lambda s: None) == (3, 0)
        assert run_batch(gen, g, 6, shard=1, shards=2, log=lambda s: None) == (3, 0)
        # A re-run of the whole batch finds everything stored: nothing rendered, nothing duplicated.
        assert run_batch(gen, g, 6, log=lambda s: None) == (0, 6)
        assert g.count() == 6
        names = sorted(e.recipe.name for e in g.latest(100))
    assert names == [f"batch 0:{i}" for i in range(6)]
    rows = sqlite3.connect(db).execute("SELECT COUNT(DISTINCT recipe_hash), COUNT(*) FROM renders").fetchone()
    assert rows == (6, 6)
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_random_recipes_are_fixed_by_index_and_valid(gen):
    from serving.rendering.render import validate

    a = [random_recipe(i, gen.config.sha256, gen.num_classes) for i in range(20)]
    assert a == [random_recipe(i, gen.config.sha256, gen.num_classes) for i in range(20)]
    assert len({recipe_hash(r) for r in a}) == 20
    for r in a:
        validate(r, gen.latent_dim, gen.num_classes)


def test_sql_in_a_recipe_name_is_stored_verbatim(gen, tmp_path):
    evil = "'); DROP TABLE renders; --"
    recipe = Recipe(seeds=(1, 2), classes=(0,), frames=2, size=32, name=evil, bundle_sha256=gen.config.sha256)
    with Gallery(tmp_path / "g.sqlite") as g:
        entry = g.add(recipe, render(gen, recipe), 1.0)
        assert g.get(entry.id).recipe.name == evil
        assert g.add(recipe, b"ignored", 1.0).id == entry.id  # same recipe: the stored row, not a second one
        assert g.count() == 1


def test_cli_batch_list_show_regenerate(tiny_bundles, tmp_path, capsys, monkeypatch):
    import serving.galleries.gallery as gallery_mod

    original = gallery_mod.random_recipe
    monkeypatch.setattr(gallery_mod, "random_recipe", lambda *a, **k: _small(original(*a, **k)))
    bundle, db = str(tiny_bundles["cgan"]), str(tmp_path / "g.sqlite")
    assert (
        main(["batch", "--bundle", bundle, "--count", "3", "--db", db, "--out", str(tmp_path / "files"), "--quiet"])
        == 0
    )
    files = ["--files", str(tmp_path / "files")]  # where batch --out wrote them
    assert main(["gallery", "list", "--db", db, *files]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 4  # summary line + three rows
    assert main(["gallery", "show", "2", "--db", db, *files]) == 0
    assert '"recipe"' in capsys.readouterr().out
    assert (
        main(
            ["gallery", "regenerate", "2", "--db", db, *files, "--bundle", bundle, "--out", str(tmp_path / "again.gif")]
        )
        == 0
    )
    assert "byte-identical" in capsys.readouterr().out
    with Gallery(db, tmp_path / "files") as g:
        assert (tmp_path / "again.gif").read_bytes() == g.get(2).path.read_bytes()
        g.get(2).path.write_bytes(b"tampered")
    assert main(["gallery", "regenerate", "2", "--db", db, *files, "--bundle", bundle]) == 1
    capsys.readouterr()
    for argv in (
        ["gallery", "show", "99", "--db", db],
        ["gallery", "list", "--db", str(tmp_path / "none.sqlite")],
        ["batch", "--bundle", bundle, "--count", "3", "--db", db, "--shard", "2/2"],
        ["batch", "--bundle", bundle, "--count", "0", "--db", db],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1


def test_shards_opening_one_new_sqlite_gallery_at_once_all_succeed(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    code = "import sys; from serving.galleries.gallery import Gallery; g = Gallery(sys.argv[1]); print(g.count())"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "g.sqlite")],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), p.stdout.read().strip(), p.stderr.read()) for p in procs]
    assert all(code == 0 and out == "0" for code, out, _ in results), results


def plant_bad_rows(gallery: Gallery, victim) -> dict[str, int]:
    """Rows written by hand, as anyone with write access to the index could: each one an attack or a corruption.
    Returns kind -> row id. Shared with the PostgreSQL tests (the SQL is the gallery's own, parameterised)."""
    good = Recipe(seeds=(5, 6), classes=(0,), frames=2, size=32)
    digest = recipe_hash(good)
    rows = {
        "foreign path": (digest, good.to_json(), str(victim), 10),
        "bad hash": ("../x", good.to_json(), "x.gif", 10),
        "escaping name": (
            "f" * 64,
            Recipe(seeds=(7, 8), classes=(0,), frames=2, size=32).to_json(),
            f"../{'f' * 16}.gif",
            10,
        ),
        "bad json": ("a" * 64, "{not json", f"{'a' * 16}.gif", 10),
        "huge number": ("b" * 64, '{"seeds": [' + "9" * 5000 + "]}", f"{'b' * 16}.gif", 10),
    }
    ids = {}
    for kind, (dig, recipe_json, path, size) in rows.items():
        gallery.db.run(
            "INSERT INTO renders (recipe_hash, recipe, bundle_sha256, path, bytes, render_ms, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (dig, recipe_json, "", path, size, 1.0, "2026-01-01T00:00:00"),
        )
        ids[kind] = int(gallery.db.rows("SELECT id FROM renders WHERE recipe_hash = ?", (dig,))[0][0])
    return ids


def check_planted_rows_are_data(gallery: Gallery, gen, victim, capsys, db_args: list[str]) -> None:
    good = Recipe(seeds=(1, 2), classes=(0,), frames=2, size=32, bundle_sha256=gen.config.sha256)
    kept = gallery.add(good, render(gen, good), 1.0)
    ids = plant_bad_rows(gallery, victim)
    # Reading: the bad rows are skipped, the good one still shows; `show` of a bad one is one line.
    assert [e.id for e in gallery.latest(50)] == [kept.id]
    assert main(["gallery", "list", *db_args]) == 0 and str(kept.id) in capsys.readouterr().out
    assert main(["gallery", "show", str(ids["huge number"]), *db_args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: row") and len(err.splitlines()) == 1
    # check lists every bad row and exits 1; the quota deletes rows, never the file a planted row names.
    assert main(["gallery", "check", *db_args]) == 1
    out = capsys.readouterr().out
    assert all(f"row {i}:" in out for i in ids.values()) and f"row {kept.id}:" not in out
    gallery.pin(kept.id)
    gallery.max_rows = 1
    assert gallery.enforce_quota() == 5
    assert victim.read_text() == "precious" and gallery.count() == 1
    # repair removes bad rows (planted again) and afterwards check is clean.
    ids = plant_bad_rows(gallery, victim)
    gallery.max_rows = None
    assert main(["gallery", "repair", *db_args]) == 0 and "removed 5" in capsys.readouterr().out
    assert main(["gallery", "check", *db_args]) == 0 and gallery.count() == 1 and victim.read_text() == "precious"
    assert gallery.get(kept.id).path.is_file()


def test_planted_rows_are_data_not_instructions_on_sqlite(gen, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    db = tmp_path / "g" / "g.sqlite"
    with Gallery(db) as g:
        check_planted_rows_are_data(g, gen, victim, capsys, ["--db", str(db)])


def test_the_space_never_serves_a_file_a_row_points_at(gen, tmp_path):
    from serving.space import SpaceApp

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    with Gallery(tmp_path / "g" / "g.sqlite") as g:
        good = Recipe(seeds=(1, 2), classes=(0,), frames=2, size=32, bundle_sha256=gen.config.sha256)
        g.add(good, render(gen, good), 1.0)
        plant_bad_rows(g, victim)
        app = SpaceApp({gen.config.name: gen}, g, out_dir=tmp_path / "out")
        items, recipes = app.gallery_items()
    assert len(items) == 1 and len(recipes) == 1 and '"seeds": [1, 2]' in recipes[0]
    assert all(b"precious" not in p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_a_lost_file_is_stored_again_and_regenerate_restores_it(gen, tmp_path, capsys):
    db = tmp_path / "g" / "g.sqlite"
    recipe = Recipe(seeds=(3, 4), classes=(0,), frames=2, size=32, bundle_sha256=gen.config.sha256)
    with Gallery(db) as g:
        entry = g.add(recipe, render(gen, recipe), 1.0)
        entry.path.unlink()
        assert main(["gallery", "regenerate", str(entry.id), "--db", str(db), "--bundle", str(gen.bundle_dir)]) == 0
        assert "restored" in capsys.readouterr().out and entry.path.read_bytes() == render(gen, recipe)
        entry.path.unlink()
        again = g.add(recipe, render(gen, recipe), 1.0)  # the row without its file is replaced, not an error
        assert again.path.is_file() and g.count() == 1
