"""The gallery: rendered files plus an index of the recipes that made them, in SQLite or PostgreSQL.

One row per render (id, recipe JSON, bundle sha256, file path, bytes, render ms, created at). Rows are data,
never instructions: a row's file is always `files_dir / <the name the gallery chose>` (16 hex digits of its
recipe hash and its format), whatever its `path` column says, so a planted row can neither make the Space serve
another file nor make the quota delete one; a row that cannot be read (bad recipe, huge number, wrong name) is
skipped with one logged line and `gallery check` / `gallery repair` list and remove it. The recipe hash is UNIQUE, so `batch` can be re-run after a crash or on another shard and never renders a recipe twice, and
shards on several machines can write into one PostgreSQL gallery at once. A row is written only after its file
is in place (written to a temporary name, then renamed). All SQL is parameterised (serving/galleries/gallery_db.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from serving.atomic import write_atomic
from serving.errors import BudgetError, InputError
from serving.galleries.gallery_db import is_url, open_database
from serving.latent.latents import MAX_SEED
from serving.latent.paths import EASINGS, PATH_KINDS
from serving.rendering.recipe import Recipe
from serving.rendering.render import render


@dataclass(frozen=True)
class Entry:
    id: int
    recipe_hash: str
    recipe: Recipe
    bundle_sha256: str
    path: Path
    bytes: int
    render_ms: float
    created_at: str
    pinned: bool = False


log = logging.getLogger(__name__)

# The only file names a gallery writes: 16 hex digits of the recipe hash and the render's format.
FILE_NAME = re.compile(r"([0-9a-f]{16})\.(gif|webp|mp4|png)")


class BadRow(InputError):
    """A gallery row that cannot be used as it stands (its message names the row and what is wrong)."""


def recipe_hash(recipe: Recipe) -> str:
    """sha256 of the canonical recipe JSON (sorted keys; includes the bundle sha256)."""
    return hashlib.sha256(recipe.to_json().encode()).hexdigest()


class Gallery:
    """A gallery: its index at `db` (an SQLite file, or a `postgresql://` URL) and its files in `files_dir`
    (by default beside an SQLite file, or `gallery/` for PostgreSQL: a folder every shard can reach)."""

    def __init__(
        self,
        db: str | os.PathLike,
        files_dir: str | os.PathLike | None = None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        """`max_rows` / `max_bytes` set a quota: after each add the oldest unpinned renders go until both hold."""
        self.db = open_database(db)
        self.where = self.db.where  # printable: a URL's password is never shown
        default_files = Path("gallery") if is_url(db) else Path(db).parent
        self.files_dir = Path(files_dir) if files_dir is not None else default_files
        self.max_rows, self.max_bytes = max_rows, max_bytes

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, digest: str) -> bool:
        return bool(self.db.rows("SELECT 1 FROM renders WHERE recipe_hash = ?", (digest,)))

    def add(self, recipe: Recipe, data: bytes, render_ms: float) -> Entry:
        """Store the file (atomically) and its row; a recipe already stored is returned as it is. A row that
        cannot be stored takes its file with it: the folder never holds a file the index does not know."""
        digest = recipe_hash(recipe)
        try:
            existing = self.find(digest)
        except BadRow as exc:  # this recipe's own row, unusable (its file gone): replaced by this render
            log.warning("gallery: %s; storing the render again", exc)
            self.db.run("DELETE FROM renders WHERE recipe_hash = ?", (digest,))
            existing = None
        if existing is not None:
            return existing
        if self.max_bytes is not None and len(data) > self.max_bytes:  # refused before anything is written
            raise BudgetError(
                f"this render ({len(data):,} bytes) is larger than the gallery's whole quota ({self.max_bytes:,} bytes)"
            )
        path = self.files_dir / f"{digest[:16]}.{recipe.format}"
        write_atomic(path, data)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            # ON CONFLICT: a concurrent writer (another shard) may have stored the same recipe a moment ago.
            self.db.run(
                "INSERT INTO renders (recipe_hash, recipe, bundle_sha256, path, bytes, render_ms, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recipe_hash) DO NOTHING",
                (digest, recipe.to_json(), recipe.bundle_sha256, str(path), len(data), float(render_ms), created),
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.enforce_quota()
        found = self.find(digest)
        if found is None:  # the quota took it at once (a single render over max_bytes): say so, keep nothing
            raise BudgetError(f"this render ({len(data):,} bytes) does not fit the gallery's quota")
        return found

    def pin(self, entry_id: int, pinned: bool = True) -> bool:
        """Keep a render out of the quota's reach (or give it back); False when there is no such render."""
        return self.db.run("UPDATE renders SET pinned = ? WHERE id = ?", (int(pinned), int(entry_id))) == 1

    def enforce_quota(self) -> int:
        """Delete the oldest unpinned renders (rows and files) until max_rows and max_bytes hold; returns how many."""
        removed = 0
        while True:
            rows, size = self._usage()
            over = (self.max_rows is not None and rows > self.max_rows) or (
                self.max_bytes is not None and size > self.max_bytes
            )
            if not over:
                return removed
            found = self.db.rows("SELECT id, path, recipe_hash FROM renders WHERE pinned = 0 ORDER BY id LIMIT 1")
            if not found:  # everything left is pinned: the operator chose to keep it
                return removed
            row_id, stored, digest = found[0]
            self.db.run("DELETE FROM renders WHERE id = ?", (row_id,))
            try:  # only a file this gallery named is ever deleted, never what a planted row points at
                self.file_of(row_id, stored, digest).unlink(missing_ok=True)
            except BadRow as exc:
                log.warning("gallery: %s; its row was removed, no file deleted", exc)
            removed += 1

    def _usage(self) -> tuple[int, int]:
        """(rows, bytes) as the quota counts them. Rows are untrusted: each row's bytes is clamped to
        0..max_bytes + 1 in SQL, since a planted negative size would cancel real ones and switch the quota off,
        and a huge one would overflow SQLite's SUM; one over max_bytes still puts the gallery over on its own."""
        cap = (self.max_bytes or 0) + 1
        rows, size = self.db.rows(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN bytes > ? THEN ? WHEN bytes > 0 THEN bytes ELSE 0 END), 0) "
            "FROM renders",
            (cap, cap),
        )[0]
        return int(rows), int(size)

    def file_of(self, row_id: Any, stored: Any, digest: Any) -> Path:
        """The file of row `row_id`: `files_dir` / the name the gallery gave it, checked to stay inside the folder
        and to be that row's own (its name starts with 16 hex digits of its recipe hash); BadRow otherwise."""
        name = Path(stored).name if isinstance(stored, str) else ""
        match = FILE_NAME.fullmatch(name)
        if not match or not isinstance(digest, str) or not digest.startswith(match.group(1)):
            raise BadRow(f"row {row_id}: file {str(stored)[:80]!r} is not a name this gallery gives")
        path = self.files_dir / name
        if path.is_symlink() or path.resolve().parent != self.files_dir.resolve():
            raise BadRow(f"row {row_id}: file {name} leaves the gallery folder")
        return path

    def _entry(self, row: tuple, need_file: bool = True) -> Entry:
        """An Entry from a row read back, every column checked as untrusted input (BadRow naming the row);
        `need_file=False` lets a row whose file is missing through (regenerate restores it)."""
        row_id, digest, recipe_text, bundle, stored, size, ms, created, pinned = row
        try:
            recipe = Recipe.from_json(recipe_text)
        except InputError as exc:
            raise BadRow(f"row {row_id}: its recipe cannot be read ({exc})") from None
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise BadRow(f"row {row_id}: its recipe hash is not 64 hex digits")
        if not (isinstance(size, int) and size >= 0 and isinstance(ms, (int, float)) and isinstance(created, str)):
            raise BadRow(f"row {row_id}: bytes, render_ms or created_at is not what the gallery writes")
        path = self.file_of(row_id, stored, digest)
        if need_file and not path.is_file():
            raise BadRow(f"row {row_id}: its file {path} is missing (is {self.files_dir} the gallery's files folder?)")
        return Entry(int(row_id), digest, recipe, str(bundle), path, size, float(ms), created, bool(pinned))

    _COLUMNS = "id, recipe_hash, recipe, bundle_sha256, path, bytes, render_ms, created_at, pinned"

    def find(self, digest: str) -> Entry | None:
        rows = self.db.rows(f"SELECT {self._COLUMNS} FROM renders WHERE recipe_hash = ?", (digest,))
        return self._entry(rows[0]) if rows else None

    def get(self, entry_id: int, need_file: bool = True) -> Entry | None:
        """The render `entry_id`, None if there is none; BadRow if its row cannot be used."""
        rows = self.db.rows(f"SELECT {self._COLUMNS} FROM renders WHERE id = ?", (int(entry_id),))
        return self._entry(rows[0], need_file) if rows else None

    def latest(self, limit: int = 20) -> list[Entry]:
        """The newest `limit` usable renders; a bad row is skipped with one logged line, never an error."""
        rows = self.db.rows(f"SELECT {self._COLUMNS} FROM renders ORDER BY id DESC LIMIT ?", (int(limit),))
        entries = []
        for row in rows:
            try:
                entries.append(self._entry(row))
            except BadRow as exc:
                log.warning("gallery: skipped %s (python -m serving gallery repair removes it)", exc)
        return entries

    def bad_rows(self, page: int = 500) -> list[tuple[int, str]]:
        """(id, reason) for every row that cannot be used, oldest first, read a page at a time."""
        bad, after = [], -1
        while True:
            rows = self.db.rows(f"SELECT {self._COLUMNS} FROM renders WHERE id > ? ORDER BY id LIMIT ?", (after, page))
            if not rows:
                return bad
            for row in rows:
                try:
                    self._entry(row)
                except BadRow as exc:
                    bad.append((int(row[0]), str(exc)))
            after = int(rows[-1][0])

    def repair(self) -> list[tuple[int, str]]:
        """Remove every bad row (the rows only: a file a bad row names is not this gallery's to delete)."""
        bad = self.bad_rows()
        for row_id, _ in bad:
            self.db.run("DELETE FROM renders WHERE id = ?", (row_id,))
        return bad

    def count(self) -> int:
        return int(self.db.rows("SELECT COUNT(*) FROM renders")[0][0])


def random_recipe(index: int, bundle_sha256: str, num_classes: int, batch_seed: int = 0) -> Recipe:
    """Recipe number `index` of a batch: random but fixed by (batch_seed, index), so a re-run draws the same ones."""
    rng = np.random.default_rng([batch_seed, index])
    path = str(rng.choice(PATH_KINDS))
    keys = int(rng.integers(2, 6))
    seeds = tuple(int(s) for s in rng.integers(0, MAX_SEED + 1, size=keys))
    classes = tuple(int(c) for c in rng.integers(0, num_classes, size=keys)) if num_classes else None
    grid = (1, 1) if rng.random() < 0.7 else (2, 2)
    return Recipe(
        seeds=seeds,
        classes=classes,
        path=path,
        frames=int(rng.choice([12, 16, 24])),
        easing=str(rng.choice(EASINGS)),
        loop=True,
        truncation=round(float(rng.uniform(0.6, 1.0)), 2),
        grid=grid,
        size=192,
        fps=20,
        format="gif",
        bundle_sha256=bundle_sha256,
        name=f"batch {batch_seed}:{index}",
    )


def shard_indices(count: int, shard: int, shards: int) -> Iterator[int]:
    """The recipe indices shard `shard` (0-based) of `shards` owns: every shards-th index."""
    return iter(range(shard, count, shards))


def run_batch(
    generator, gallery: Gallery, count: int, shard: int = 0, shards: int = 1, batch_seed: int = 0, log=print
) -> tuple[int, int]:
    """Render this shard's share of `count` random recipes into the gallery; returns (rendered, skipped)."""
    rendered = skipped = 0
    for i in shard_indices(count, shard, shards):
        recipe = random_recipe(i, generator.config.sha256, generator.num_classes, batch_seed)
        if gallery.has(recipe_hash(recipe)):
            skipped += 1  # stored by an earlier run: resume, never duplicate
            continue
        started = time.perf_counter()
        data = render(generator, recipe)
        entry = gallery.add(recipe, data, (time.perf_counter() - started) * 1000)
        rendered += 1
        log(f"[{i + 1}/{count}] #{entry.id} {recipe.path} {len(data) / 1024:.0f} KiB {entry.render_ms:.0f} ms")
    return rendered, skipped
