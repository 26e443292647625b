"""The live view in headless Chromium: frames per second and reaction time per bundle, for each way of running
the model (WASM on one or two threads, one or two workers, WebGPU where Chromium has an adapter).

    python -m bench.live                 # every shipped bundle, every backend; records the page's default in
                                         # bench/results.json (live.BUNDLE.*) and every backend's fps beside it
    python -m bench.live --seconds 6 --bundles mathart-params
    python -m bench.live --capture       # also rewrite docs/web_live_strip.png from the live page's frames

The sound is a click track at 120 BPM played through Chromium's fake microphone. Reaction time runs from the
moment the audio block that holds a click's strongest rise reaches the page to the moment the first frame made
from it (or, when that one was dropped, the next one) is on the canvas.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ("mnist-cdcgan", "mnist-cvae", "mathart-params")
FPS = 30
BPM = 120.0
# (label, URL query, Chromium flags): the page's default first; WebGPU on Chromium's software adapter (SwiftShader),
# the only adapter a GPU-less machine has.
DEFAULT = "wasm, a worker per core x 1 thread (the page's default)"
BACKENDS = (
    (DEFAULT, "", ()),
    ("wasm, 1 worker x 1 thread", "&workers=1&threads=1", ()),
    ("wasm, 1 worker x 2 threads", "&workers=1&threads=2", ()),
    ("webgpu (swiftshader), 1 worker", "&workers=1&backend=webgpu", ("--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader")),
)  # fmt: skip
STRIP = ROOT / "docs" / "web_live_strip.png"
# Headless Chromium as the browser tests run it: no sandbox (root), no background network calls.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


def _server():
    spec = importlib.util.spec_from_file_location("web_serve", ROOT / "web" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    server = serve.make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def click_track(path: Path, seconds: float = 12.0, rate: int = 22_050) -> Path:
    """A 16-bit WAV of 20 ms noise bursts at BPM, the first a quarter second in: a whole number of beats, so
    Chromium's fake microphone, which loops it, keeps the clicks on one grid."""
    rng = np.random.default_rng(0)
    x = np.zeros(int(seconds * rate))
    n = int(0.02 * rate)
    for t in np.arange(0.25, seconds - 0.1, 60.0 / BPM):
        start = int(round(t * rate))
        x[start : start + n] += 0.5 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.004 * rate))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def reactions(frames: list[dict]) -> list[float]:
    """Milliseconds from each click's audio reaching the page to the first frame drawn at or after it."""
    strong = {f["frame"] for f in frames if f["onset"] >= 0.5}
    by_frame = {f["frame"]: f for f in frames}
    out = []
    for c in sorted(f for f in strong if f - 1 not in strong):
        drawn = next((by_frame[g] for g in range(c, c + 10) if by_frame.get(g, {}).get("drawnMs")), None)
        if drawn is not None:
            out.append(drawn["drawnMs"] - by_frame[c]["onsetArrivedMs"])
    return out


def play(browser, base: str, bundle: str, query: str, seconds: float, capture: bool = False) -> dict:
    """One live session: its figures, or with `capture` only eight frames of it as PNG bytes ("shots")."""
    page = browser.new_page(viewport={"width": 512, "height": 512})
    try:
        page.goto(f"{base}/web/index.html?live=1&bundle=/exported/{bundle}/&seeds=1,2,3,4&fps={FPS}{query}")
        page.wait_for_function(
            "window.ganimateLive && (window.ganimateLive.ready || window.ganimateLive.error)", timeout=120_000
        )
        if page.evaluate("window.ganimateLive.error"):
            return {"error": page.evaluate("window.ganimateLive.error")}
        shots = []
        if capture:  # a keyframe every beat, for the picture: frames a quarter second (half a beat) apart
            page.wait_for_timeout(2000)
            for _ in range(8):
                shots.append(page.locator("#live").screenshot())
                page.wait_for_timeout(250)
            return {"shots": shots}
        page.wait_for_timeout(seconds * 1000)
        s = page.evaluate(
            "(() => { const s = window.ganimateLive; return { drawn: s.drawn, dropped: s.dropped, fps: s.fps, modelMs: s.modelMs,"
            " frames: s.frames.map(f => ({ frame: f.frame, onset: f.onset, drawnMs: f.drawnMs || 0, onsetArrivedMs: f.onsetArrivedMs })) }; })()"
        )
    finally:
        page.close()
    r = reactions(s["frames"])
    made = s["drawn"] + s["dropped"]
    return {
        "fps": s["fps"],
        "dropped_share": s["dropped"] / max(made, 1),
        "reaction_p50_ms": float(np.median(r)) if r else float("nan"),
        "reaction_p90_ms": float(np.percentile(r, 90)) if r else float("nan"),
        "model_ms": float(np.median(s["modelMs"])) if s["modelMs"] else float("nan"),
        "clicks": len(r),
    }  # fmt: skip


def strip(shots: list[list[bytes]], path: Path) -> None:
    """Rows of frames (one row per bundle), 128 px each, into one PNG."""
    import io

    from PIL import Image

    rows = [[Image.open(io.BytesIO(b)).convert("RGB").resize((128, 128), Image.LANCZOS) for b in row] for row in shots]
    out = Image.new("RGB", (128 * max(len(r) for r in rows), 128 * len(rows)))
    for y, row in enumerate(rows):
        for x, im in enumerate(row):
            out.paste(im, (128 * x, 128 * y))
    out.save(path, optimize=True)


def main(argv: list[str] | None = None) -> dict[str, tuple[float, str]]:
    p = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="seconds of sound per session (default 8)")
    p.add_argument("--bundles", default=",".join(BUNDLES))
    p.add_argument("--backends", default="all", help="all, or 'default' for the page's default only")
    p.add_argument("--capture", action="store_true", help=f"also rewrite {STRIP.relative_to(ROOT)}")
    p.add_argument("--no-record", action="store_true", help="print only; leave bench/results.json alone")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from bench.results import machine, record

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is not installed (make browser)")
    server = _server()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    bundles = [b.strip() for b in args.bundles.split(",") if b.strip()]
    backends = BACKENDS if args.backends == "all" else BACKENDS[:1]
    figures: dict[str, tuple[float, str]] = {}
    shots = []
    print(f"| bundle | backend | fps | dropped | reaction p50 | reaction p90 | model run | clicks |\n|{'---|' * 8}")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        track = click_track(Path(tmp) / "track.wav")
        for label, query, extra in backends:
            flags = [f for f in CHROMIUM_FLAGS if not (extra and f == "--disable-gpu")] + [
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={track}",
                "--autoplay-policy=no-user-gesture-required",
                *extra,
            ]
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=flags)
            try:
                for bundle in bundles:
                    if args.capture and label == DEFAULT:
                        shots.append(play(browser, base, bundle, query + "&beats=1", 0, capture=True)["shots"])
                    r = play(browser, base, bundle, query, args.seconds)
                    if "error" in r:
                        print(f"| {bundle} | {label} | {r['error'][:80]} | | | | | |")
                        continue
                    print(
                        f"| {bundle} | {label} | {r['fps']:.1f} | {100 * r['dropped_share']:.0f}% | "
                        f"{r['reaction_p50_ms']:.0f} ms | {r['reaction_p90_ms']:.0f} ms | {r['model_ms']:.1f} ms | {r['clicks']} |",
                        flush=True,
                    )
                    key = re.sub(r"[^a-z0-9]+", "_", label.replace(" (the page's default)", "").lower()).strip("_")
                    figures[f"live.{bundle}.{key}.fps"] = (r["fps"], "fps")
                    if label == DEFAULT:
                        for name in ("fps", "dropped_share", "reaction_p50_ms", "reaction_p90_ms", "model_ms"):
                            unit = "fps" if name == "fps" else "share" if name == "dropped_share" else "ms"
                            figures[f"live.{bundle}.{name}"] = (r[name], unit)
            finally:
                browser.close()
    server.shutdown()
    if args.capture and shots:
        strip(shots, STRIP)
        print(f"wrote {STRIP.relative_to(ROOT)}")
    if not args.no_record:
        record(figures, "python -m bench.live", machine())
        print("recorded in bench/results.json")
    return figures


if __name__ == "__main__":
    main()
