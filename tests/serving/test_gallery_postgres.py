"""The gallery on a real PostgreSQL server (started here on 127.0.0.1): same behaviour as SQLite, four shards
writing at once with one of them killed and restarted, bad URLs, and the Space reading it."""

import io
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from serving.bundle.generator import Generator
from serving.cli import main
from serving.galleries.gallery import Gallery
from serving.rendering.recipe import Recipe
from serving.rendering.render import render
from tests.conftest import REPO
from tests.postgres_server import PASSWORD, PostgresServer

pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def pg_url():
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="ganimate-pg-"))
    server = PostgresServer(root)
    reason = server.why_not()
    if reason:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(reason)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh(pg_url):
    """The URL, with the renders table dropped first: every test starts from an empty gallery."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS renders")
    return pg_url


def test_cli_batch_list_show_regenerate_pin_on_postgres(fresh, tiny_bundles, tmp_path, capsys):
    bundle, files = str(tiny_bundles["cgan"]), str(tmp_path / "files")
    assert main(["batch", "--bundle", bundle, "--count", "3", "--db", fresh, "--out", files, "--quiet"]) == 0
    assert main(["batch", "--bundle", bundle, "--count", "3", "--db", fresh, "--out", files, "--quiet"]) == 0
    assert "rendered 0, already stored 3" in capsys.readouterr().out  # resumed: nothing twice
    assert main(["gallery", "list", "--db", fresh, "--files", files]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3  # one row per render
    assert (
        main(
            [
                "gallery",
                "regenerate",
                "2",
                "--db",
                fresh,
                "--files",
                files,
                "--bundle",
                bundle,
                "--out",
                str(tmp_path / "a.gif"),
            ]
        )
        == 0
    )
    assert "byte-identical" in capsys.readouterr().out
    assert main(["gallery", "pin", "1", "--db", fresh]) == 0
    with Gallery(fresh, files, max_rows=1) as g:
        assert g.get(1).pinned and g.count() == 3
        assert g.enforce_quota() == 2 and [e.id for e in g.latest()] == [1]  # the pinned one stays
        assert (tmp_path / "a.gif").read_bytes() and not g.get(2)


def test_sql_in_a_recipe_name_is_stored_verbatim_on_postgres(fresh, tiny_bundles, tmp_path):
    gen = Generator.from_pretrained(tiny_bundles["cgan"])
    evil = "'); DROP TABLE renders; -- ? %s"
    recipe = Recipe(seeds=(1, 2), classes=(0,), frames=2, size=32, name=evil, bundle_sha256=gen.config.sha256)
    with Gallery(fresh, tmp_path) as g:
        entry = g.add(recipe, render(gen, recipe), 1.0)
        assert g.get(entry.id).recipe.name == evil
        assert g.add(recipe, b"ignored", 1.0).id == entry.id and g.count() == 1


def _shard(bundle: str, url: str, files: Path, i: int, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serving",
            "batch",
            "--bundle",
            bundle,
            "--count",
            str(count),
            "--db",
            url,
            "--out",
            str(files),
            "--shard",
            f"{i}/4",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_four_shards_at_once_one_killed_and_restarted(fresh, tiny_bundles, tmp_path):
    bundle, files, count = str(tiny_bundles["cgan"]), tmp_path / "files", 48
    procs = [_shard(bundle, fresh, files, i, count) for i in range(4)]
    victim = procs[2]
    lines = 0
    deadline = time.monotonic() + 120
    while lines < 2 and time.monotonic() < deadline:  # let it store a few renders, then kill it mid-run
        if victim.stdout.readline():
            lines += 1
        elif victim.poll() is not None:
            pytest.fail(f"shard 2 ended before it could be killed: {victim.stderr.read()[-500:]}")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    for p in procs[:2] + procs[3:]:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    restarted = _shard(bundle, fresh, files, 2, count)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    assert "already stored" in out and "rendered 0," not in out  # it resumed, and finished its share

    with Gallery(fresh, files) as g:
        entries = g.latest(1000)
    assert len(entries) == count == len({e.recipe_hash for e in entries})  # none lost, none twice
    assert sorted(e.recipe.name for e in entries) == sorted(f"batch 0:{i}" for i in range(count))
    for e in entries:  # every row's file is in place and whole: a GIF with all its frames
        with Image.open(io.BytesIO(e.path.read_bytes())) as im:
            assert im.format == "GIF" and im.n_frames == e.recipe.frame_total() and e.path.stat().st_size == e.bytes
    stored = {e.path.name for e in entries}
    assert {p.name for p in files.iterdir() if not p.name.startswith(".tmp-")} == stored  # no file without its row


@pytest.mark.parametrize("kind", ["password", "unreachable", "malformed"])
def test_bad_postgres_urls_are_one_line_exit_2_and_never_show_the_password(
    pg_url, tiny_bundles, tmp_path, capsys, kind
):
    from tests.postgres_server import USER

    host_port = pg_url.split("@", 1)[1]
    url = {
        "password": f"postgresql://{USER}:wrong-{PASSWORD}@{host_port}",
        "unreachable": f"postgresql://{USER}:{PASSWORD}@127.0.0.1:1/gallery",
        "malformed": f"postgresql://{USER}:{PASSWORD}@127.0.0.1:notaport/gallery",
    }[kind]
    code = main(["batch", "--bundle", str(tiny_bundles["cgan"]), "--count", "1", "--db", url, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and len(captured.err.strip().splitlines()) == 1
    assert PASSWORD not in captured.err + captured.out and "***" in captured.err


def test_the_space_shows_a_postgres_gallery(fresh, tiny_bundles, tmp_path, monkeypatch):
    from serving.space import SpaceApp, open_gallery

    gen = Generator.from_pretrained(tiny_bundles["cgan"])
    monkeypatch.setenv("GANIMATE_GALLERY_FILES", str(tmp_path / "files"))
    gallery = open_gallery(fresh)
    app = SpaceApp({gen.config.name: gen}, gallery, out_dir=tmp_path / "out")
    app.animate(gen.config.name, "1,2", "0,1", "lerp", 3, 10, True, "linear", 1.0, "1x1", 32, "gif", "")
    items, recipes = app.gallery_items()
    assert len(items) == 1 and Path(items[0][0]).is_file() and '"seeds": [1, 2]' in recipes[0]
    assert (tmp_path / "files").is_dir() and gallery.count() == 1
    gallery.close()


def test_planted_rows_are_data_not_instructions_on_postgres(fresh, tiny_bundles, tmp_path, capsys):
    from tests.serving.test_gallery import check_planted_rows_are_data

    gen = Generator.from_pretrained(tiny_bundles["cgan"])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    files = tmp_path / "files"
    with Gallery(fresh, files) as g:
        check_planted_rows_are_data(g, gen, victim, capsys, ["--db", fresh, "--files", str(files)])
