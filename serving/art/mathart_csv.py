"""The table of math-art parameters as CSV: `family,hue,hue_spread,...` with one accepted picture per row.

    python -m serving.art.mathart_csv --count 10000 --seed 0 --out mathart-params.csv   # the mathart-params dataset
    python -m serving.art.mathart_csv --check my-favourites.csv                          # validate a table of your own

Train on a table of your own with `python -m training.train --model params --dataset params:FILE.csv`. Reading
is strict: a missing column, an unknown family, text in a number field or a value outside its range is one
line naming the file, the line and the column, and nothing is trained or written.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

from serving.art.mathart import FAMILIES, HIGH, LOW, NAMES, family_mask, sample_accepted
from serving.atomic import write_atomic
from serving.errors import InputError
from serving.inputs import read_text_file

HEADER = ("family", *NAMES)
# A table is read whole into memory: these bound it (a row of the full header is about 300 bytes).
MAX_ROWS = 200_000
MAX_TABLE_BYTES = 64 * 1024 * 1024


def to_csv(params: np.ndarray, labels: np.ndarray) -> str:
    """CSV text for vectors [n, P] and family indices [n]; values written with repr precision (exact round trip)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for vec, label in zip(params, labels):
        writer.writerow([FAMILIES[int(label)], *(repr(float(v)) for v in vec)])
    return buf.getvalue()


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(params float64 [n, P], labels int64 [n]) from a CSV; InputError with file, line and column otherwise."""
    path = Path(path)
    # Read with a bound and never from a device or a FIFO; a byte-order mark, as spreadsheets write it, is not a
    # column.
    text = read_text_file(path, "parameter table", MAX_TABLE_BYTES).removeprefix("\ufeff")
    try:
        return _parse(path, csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{path} is not a readable CSV table: {exc}") from None


def _parse(path: Path, rows) -> tuple[np.ndarray, np.ndarray]:
    header = next(rows, None)
    if header is None:
        raise InputError(f"{path} is empty; it needs a header line: {','.join(HEADER)}")
    header = [h.strip() for h in header]
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise InputError(f"{path} line 1: missing column(s) {', '.join(missing)}")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"{path} line 1: column(s) {', '.join(repeated)} appear more than once")
    unknown = [h for h in header if h not in HEADER]
    if unknown:
        raise InputError(f"{path} line 1: unknown column(s) {', '.join(unknown)}")
    where = {name: header.index(name) for name in HEADER}
    params, labels = [], []
    for line, row in enumerate(rows, start=2):
        if line > 2 * MAX_ROWS:  # blank lines count too: they cost time to read
            raise InputError(f"{path} has more than {2 * MAX_ROWS:,} lines")
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
        family = row[where["family"]].strip()
        if family not in FAMILIES:
            raise InputError(f"{path} line {line}: unknown family {family!r}; choose from {', '.join(FAMILIES)}")
        label = FAMILIES.index(family)
        mask = family_mask(label)
        vec = np.empty(len(NAMES))
        for i, name in enumerate(NAMES):
            cell = row[where[name]].strip()
            try:
                value = float(cell)
            except ValueError:
                raise InputError(f"{path} line {line}: column {name} holds {cell[:40]!r}, not a number") from None
            if not math.isfinite(value):
                raise InputError(f"{path} line {line}: column {name} is {cell!r}; values must be finite")
            if mask[i] and not LOW[i] <= value <= HIGH[i]:
                raise InputError(f"{path} line {line}: {name} is {value:g}, outside its range {LOW[i]:g}..{HIGH[i]:g}")
            # A slot this family ignores is stored at a value inside its range, so the vector is valid as a whole.
            vec[i] = value if mask[i] else float(np.clip(value, LOW[i], HIGH[i]))
        params.append(vec)
        labels.append(label)
        if len(params) > MAX_ROWS:
            raise InputError(f"{path} has more than {MAX_ROWS:,} rows")
    if not params:
        raise InputError(f"{path} has a header but no rows")
    return np.array(params), np.array(labels, dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m serving.art.mathart_csv",
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--count", type=int, default=10000, help="accepted rows to draw (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same table (default 0)")
    p.add_argument("--out", help="CSV file to write")
    p.add_argument("--check", metavar="FILE", help="validate FILE and print its family counts; writes nothing")
    args = p.parse_args(argv)
    try:
        if args.check:
            _, labels = read_csv(args.check)
            counts = np.bincount(labels, minlength=len(FAMILIES))
            print(f"{args.check}: {len(labels)} rows, " + ", ".join(f"{f} {c}" for f, c in zip(FAMILIES, counts)))
            return 0
        if not args.out:
            raise InputError("give --out FILE.csv to write, or --check FILE to validate")
        if not 1 <= args.count <= MAX_ROWS:
            raise InputError(f"--count must be in 1..{MAX_ROWS}, got {args.count}")
        if not 0 <= args.seed < 2**32:
            raise InputError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
        params, labels = sample_accepted(args.count, args.seed)
        write_atomic(Path(args.out), to_csv(params, labels).encode())
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {args.count} accepted parameter vectors (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
