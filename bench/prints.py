"""Prints and vectors for artists: a 4096 px math-art print from the command line, how well it agrees with the
256 px render, and a curve written as SVG.

    python -m bench.prints                 # print the figures
    python -m bench.prints --record        # and record them in bench/results.json (python -m bench does too)
    python -m bench.prints --figures       # and write docs/mathart_svg.png and docs/mathart_breed.png

The print's time is the whole command a person runs (`python -m serving sample ... --size 4096 --out print.png`,
in a fresh process: Python, onnxruntime, the bundle, drawing and the PNG), the median of three runs.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "exported" / "mathart-params"
PRINT = ["--seeds", "3", "--classes", "hypotrochoid", "--size", "4096"]


def _cli_seconds(args: list[str], out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "serving", "sample", "--bundle", str(BUNDLE), *args, "--out", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(prog="python -m bench.prints", description=__doc__.split("\n\n")[0])
    p.add_argument("--record", action="store_true", help="record the figures in bench/results.json")
    p.add_argument("--figures", action="store_true", help="write the docs' pictures")
    args = p.parse_args(argv)
    from PIL import Image

    from serving.art.mathart import render
    from serving.files.grid import to_uint8

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "print.png"
        times = [_cli_seconds(PRINT, out) for _ in range(3)]
        big = np.asarray(Image.open(out)).astype(np.float64)
        svg_s = _cli_seconds(["--seeds", "3", "--classes", "rose"], Path(tmp) / "rose.svg")
    from serving.bundle.generator import Generator
    from serving.rendering.still import Still, still_bytes, still_params

    gen = Generator.from_pretrained(str(BUNDLE))
    params = still_params(gen, Still(gen.config.name, gen.config.sha256, seed=3, class_index=2))
    still = Still(gen.config.name, gen.config.sha256, seed=3, class_index=2, size=4096)
    draw = []
    for _ in range(3):
        started = time.perf_counter()
        still_bytes(gen, still)
        draw.append(time.perf_counter() - started)
    down = big.reshape(256, 16, 256, 16, 3).mean(axis=(1, 3))
    gap = float(np.abs(down - to_uint8(render(params, 2, 256))).mean())
    figures = {
        "prints.print_4096_s": statistics.median(times),
        "prints.gap_4096_to_256_levels": gap,
        "prints.svg_cli_s": svg_s,
        "prints.print_4096_in_process_s": statistics.median(draw),
    }
    print("| figure | value |\n|---|---|")
    print(f"| 4096 px hypotrochoid print, whole command (median of 3) | {figures['prints.print_4096_s']:.1f} s |")
    print(f"| that print box-downscaled to 256 px vs the 256 px render, mean | {gap:.2f} / 255 |")
    print(f"| the same print in a warm process (bundle loaded): drawing + PNG | {statistics.median(draw):.1f} s |")
    print(f"| rose.svg, whole command (mostly starting Python and loading the bundle) | {svg_s:.1f} s |")
    if args.record:
        from bench.results import machine, record, write_table

        units = {"prints.print_4096_s": "s", "prints.gap_4096_to_256_levels": "levels", "prints.svg_cli_s": "s"}
        units["prints.print_4096_in_process_s"] = "s"
        record({k: (v, units[k]) for k, v in figures.items()}, "python -m bench.prints --record", machine())
        write_table()
    if args.figures:
        write_figures(gen)
    return figures


def write_figures(gen) -> None:
    """docs/mathart_svg.png (rose.svg drawn by resvg beside the PNG render) and docs/mathart_breed.png (a grid of
    children with their two parents first)."""
    import resvg_py  # pinned in requirements.txt: only the docs' picture needs it
    from PIL import Image

    from serving.art.mathart_svg import to_svg
    from serving.atomic import write_atomic
    from serving.files.grid import tile
    from serving.rendering.breed import breed, children_images, parent_from_recipe
    from serving.rendering.still import Still, png_with_recipe, still_image, still_params

    c = gen.config
    rose = Still(c.name, c.sha256, seed=3, class_index=1, format="svg")
    svg = to_svg(still_params(gen, rose), 1, 256, rose.to_json()).decode()
    drawn = np.asarray(Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=svg)))).convert("RGB"))
    pair = tile(np.stack([still_image(gen, Still(c.name, c.sha256, seed=3, class_index=1)), drawn]), 1, 2, pad=4)
    write_atomic(ROOT / "docs" / "mathart_svg.png", png_with_recipe(pair, rose.to_json()))
    parents = [Still(c.name, c.sha256, seed=3, class_index=1), Still(c.name, c.sha256, seed=8, class_index=2)]
    kids = breed([parent_from_recipe(s.to_json(), c) for s in parents], c, 6, seed=1)
    images = np.concatenate([np.stack([still_image(gen, s) for s in parents]), children_images(gen, kids)])
    small = np.stack([np.asarray(Image.fromarray(i).resize((128, 128), Image.LANCZOS)) for i in images])
    write_atomic(ROOT / "docs" / "mathart_breed.png", png_with_recipe(tile(small, 2, 4, pad=3), "{}"))
    print("wrote docs/mathart_svg.png and docs/mathart_breed.png")


if __name__ == "__main__":
    main()
