"""The Space as it is hosted: behind a real nginx (bench.proxy), each visitor from an address of its own.

    python -m bench.hosted_load [--calls 4] [--attack-s 60]

Three figures, each on a fresh Space process (the shipped one: per-visitor limits on, visitors keyed on the address
the proxy appends, as on a Hugging Face Space):
- mixed: 16 visitors at once, each mixing /animate (an R1-sized walk of its own seeds), /compare (two models, a
  short walk), /project (an uploaded photo of a digit) and a music walk (an uploaded 4 s song, answered as MP4);
  latency p50/p95 of each kind and of all calls, as a visitor sees it, the median of three rounds.
- greedy: 4 ordinary visitors' small renders alone, then beside one greedy visitor who loops the largest requests
  the caps allow (a 4x4 512 px /animate and a 4x4 /compare, two at a time); their p95 ratio, and how many of
  their requests were refused (any answer but a file).
- disk: `--attack-s` seconds of a mixed attack (four visitors uploading 10 MB songs nobody uses and pictures
  nobody projects, as fast as the gate lets them, beside renders of their own seeds) on a Space given
  GANIMATE_DISK_MB=256; the growth of Gradio's folder (uploads, copies and results together) at its peak.

Bounded: every loop stops by itself; nginx and the Space are stopped at the end. Needs nginx (make nginx).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.proxy import free_port, front, visitor
from bench.space_load import digit_photo

ROOT = Path(__file__).resolve().parents[1]
DISK_MB = 256  # the disk attack's budget: small, so an attack that escaped it would show


@contextlib.contextmanager
def hosted(disk_mb: int | None = None) -> Iterator[tuple[str, Path]]:
    """(proxy URL, Gradio's folder): the shipped Space in its own process, in a fresh Gradio folder, behind nginx."""
    with tempfile.TemporaryDirectory(prefix="ganimate-hosted-") as folder:
        port = free_port()
        env = {**os.environ, "GRADIO_TEMP_DIR": folder, "SPACE_ID": "bench/ganimate"}
        env.pop("GANIMATE_PROXY_HOPS", None)
        if disk_mb:
            env["GANIMATE_DISK_MB"] = str(disk_mb)
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.hosted_load", "--serve", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        if server.stdout.readline().strip() != "ready":
            raise SystemExit(f"the Space did not start (exit code {server.wait()})")
        try:
            with front(port) as url:
                yield url, Path(folder)
        finally:
            server.stdin.close()  # the child's cue to stop
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()


def serve(port: int) -> None:
    """The Space as main() starts it (its disk budget from GANIMATE_DISK_MB, visitors keyed as on a Space), on
    127.0.0.1:`port`, warmed, until stdin closes."""
    from serving.space import SpaceApp, build_demo, disk_budget, load_models, model_sources
    from serving.space.blas import one_blas_thread
    from serving.space.layout import launch_options

    one_blas_thread()
    results_bytes, _, uploads_bytes = disk_budget(os.environ.get("GANIMATE_DISK_MB", ""))
    app = SpaceApp(
        load_models(model_sources("", None, ROOT / "exported")),
        results_bytes=results_bytes,
        uploads_bytes=uploads_bytes,
    )
    demo = build_demo(app.models, app=app)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(app))
    app.warm_thumbnails()
    print("ready", flush=True)
    sys.stdin.read()
    demo.close()


def call(client, url: str, endpoint: str, fields: dict) -> tuple[str, object]:
    """One call by name through the proxy: ("complete", data) or ("error", message); a 4xx/5xx answer is an error."""
    import json

    answer = client.post(url + f"gradio_api/call/v2/{endpoint}", json=fields)
    if answer.status_code != 200:
        return "error", answer.text[:200]
    event, payload = None, None
    with client.stream("GET", url + f"gradio_api/call/{endpoint}/{answer.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:])
                break
    return event or "error", payload


def upload(client, url: str, name: str, data: bytes) -> dict | None:
    """Upload a file as the page does; its file value, or None when the gate refused it."""
    answer = client.post(url + "gradio_api/upload", files=[("files", (name, data))])
    if answer.status_code != 200:
        return None
    return {"path": answer.json()[0], "meta": {"_type": "gradio.FileData"}}


def _song(seconds: float, rate: int = 22_050) -> bytes:
    """A click track at 120 bpm over a low hum, 16-bit mono WAV."""
    import wave

    t = np.arange(int(seconds * rate)) / rate
    sound = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.7 * (np.mod(t, 0.5) < 0.02) * np.sin(2 * np.pi * 1000 * t)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((np.clip(sound, -1, 1) * 32000).astype("<i2").tobytes())
    return buf.getvalue()


def mixed(calls: int = 4, visitors: int = 16, rounds: int = 3) -> dict:
    """16 visitors at once, each `calls` requests cycling animate, compare, project and music; `rounds` times on one
    warmed Space (each round its own seeds). Each figure is the median over the rounds: on a shared 2-core machine
    one round's p95 moves by a tenth of a second or more from the next."""
    photo, song = digit_photo(), _song(4.0)
    rows = []
    with hosted() as (url, _):
        _warm(url, photo, song)
        for r in range(rounds):
            rows.append(_mixed_round(url, calls, visitors, photo, song, 100_000 * (r + 1)))
    return {key: float(np.median([row[key] for row in rows])) for key in rows[0]}


def _mixed_round(url: str, calls: int, visitors: int, photo: bytes, song: bytes, offset: int) -> dict:
    """One round of the mixed load: every visitor's calls, their latencies by kind (p50, p95) and the errors."""

    def one(index: int) -> list[tuple[str, float, str]]:
        out = []
        with visitor(f"127.0.0.{10 + index}") as client:
            for k in range(calls):
                kind = ("animate", "compare", "project", "music")[(index + k) % 4]
                seeds = ",".join(str(offset + 8 * (index * calls + k) + i) for i in range(4))
                started = time.perf_counter()
                if kind == "animate":
                    said, _ = call(client, url, "animate", {"model": "mnist-cdcgan", "seeds": seeds})
                elif kind == "compare":
                    fields = {"model_a": "mnist-cdcgan", "seeds": seeds, "frames": 8, "size": 128}
                    said, _ = call(client, url, "compare", fields)
                elif kind == "project":
                    picture = upload(client, url, "digit.png", photo)
                    said, _ = call(client, url, "project", {"model": "mnist-cdcgan", "picture": picture})
                else:
                    music = upload(client, url, "song.wav", song)
                    fields = {"model": "mnist-cdcgan", "seeds": seeds, "size": 128, "music": music}
                    said, _ = call(client, url, "animate", fields)
                out.append((kind, time.perf_counter() - started, said))
        return out

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(visitors) as pool:
        made = [r for rows in pool.map(one, range(visitors)) for r in rows]
    result = {
        "calls": float(len(made)),
        "wall_s": time.perf_counter() - started,
        "errors": float(sum(said != "complete" for _, _, said in made)),
    }
    for kind in ("animate", "compare", "project", "music", "all"):
        lat = np.asarray([t for k, t, _ in made if kind in (k, "all")])
        result[f"{kind}_p50_s"], result[f"{kind}_p95_s"] = (float(np.percentile(lat, q)) for q in (50, 95))
    return result


def _warm(url: str, photo: bytes, song: bytes) -> None:
    """One call of each kind first, as a Space warms once it answers: one-time costs are start-up, not load."""
    with visitor("127.0.0.9") as client:
        call(client, url, "animate", {"model": "mnist-cdcgan", "seeds": "1,2"})
        call(client, url, "compare", {"model_a": "mnist-cdcgan", "seeds": "1,2", "frames": 4, "size": 64})
        call(client, url, "project", {"model": "mnist-cdcgan", "picture": upload(client, url, "d.png", photo)})
        music = upload(client, url, "s.wav", song)
        call(client, url, "animate", {"model": "mnist-cdcgan", "seeds": "1,2", "size": 64, "music": music})


def greedy(calls: int = 4, ordinary: int = 4) -> dict:
    """Ordinary visitors' small renders alone, then beside a greedy visitor looping the largest allowed requests."""
    with hosted() as (url, _):

        def ordinary_run(offset: int) -> list[tuple[float, str]]:
            def one(index: int) -> list[tuple[float, str]]:
                out = []
                with visitor(f"127.0.0.{40 + index}") as client:
                    for k in range(calls):
                        seeds = f"{offset + 40 * index + 4 * k},{offset + 40 * index + 4 * k + 1}"
                        started = time.perf_counter()
                        said, _ = call(client, url, "animate", {"model": "mnist-cdcgan", "seeds": seeds, "frames": 12})
                        out.append((time.perf_counter() - started, said))
                return out

            with concurrent.futures.ThreadPoolExecutor(ordinary) as pool:
                return [r for rows in pool.map(one, range(ordinary)) for r in rows]

        _warm(url, digit_photo(), _song(1.0))
        alone = ordinary_run(0)
        stop = threading.Event()

        def hog(k: int) -> int:
            big = {"seeds": "", "grid": "4x4", "frames": 16, "size": 512}
            n = 0
            with visitor("127.0.0.99") as client:
                while not stop.is_set() and n < 100:  # bounded
                    seeds = f"{50_000 + 100 * (2 * n + k)}-{50_015 + 100 * (2 * n + k)}"
                    if n % 2:  # Compare takes no grid: its largest is a long, wide side-by-side walk
                        fields = {"model_a": "mnist-cdcgan", "seeds": seeds, "frames": 16, "size": 512}
                        call(client, url, "compare", fields)
                    else:
                        call(client, url, "animate", {**big, "model": "mnist-cdcgan", "seeds": seeds})
                    n += 1
            return n

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            hogs = [pool.submit(hog, k) for k in range(2)]
            time.sleep(1.0)  # the greedy visitor is already at it
            beside = ordinary_run(10_000)
            stop.set()
            hog_calls = sum(h.result() for h in hogs)
    a = float(np.percentile([t for t, _ in alone], 95))
    b = float(np.percentile([t for t, _ in beside], 95))
    refused = sum(said != "complete" for _, said in alone + beside)
    return {"alone_p95_s": a, "beside_p95_s": b, "ratio": b / a, "refused": refused, "greedy_calls": hog_calls}


def disk(attack_s: float = 60.0) -> dict:
    """Peak growth of Gradio's folder under `attack_s` seconds of unused uploads and renders, against the budget."""
    song, photo = _song(200.0, 25_000)[: 10 * 2**20 - 4096], digit_photo()  # a 10 MB WAV (the gate's cap)
    with hosted(DISK_MB) as (url, folder):
        start_bytes, peak = _folder_bytes(folder), 0
        ends = time.monotonic() + attack_s

        def attacker(index: int) -> int:
            n = 0
            with visitor(f"127.0.0.{60 + index}") as client:
                while time.monotonic() < ends and n < 10_000:  # bounded by time and count
                    if n % 3 == 2:
                        call(client, url, "animate", {"model": "mnist-cdcgan", "seeds": f"{9000 + 10 * n + index}"})
                    else:
                        upload(client, url, "song.wav" if n % 3 == 0 else "me.png", song if n % 3 == 0 else photo)
                    n += 1
            return n

        def watch() -> None:
            nonlocal peak
            while time.monotonic() < ends + 2:
                peak = max(peak, _folder_bytes(folder) - start_bytes)
                time.sleep(0.5)

        watcher = threading.Thread(target=watch)
        watcher.start()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            requests = sum(pool.map(attacker, range(4)))
        watcher.join()
    return {"peak_growth_mb": peak / 2**20, "budget_mb": float(DISK_MB), "requests": requests}


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file():
                total += path.stat().st_size
    return total


def main(argv: list[str] | None = None) -> dict[str, tuple[float, str]]:
    p = argparse.ArgumentParser(prog="python -m bench.hosted_load", description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=4, help="requests per visitor (1..20)")
    p.add_argument("--attack-s", type=float, default=60.0, help="seconds of the disk attack (5..600)")
    p.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)  # internal: the server process
    args = p.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return {}
    if not (1 <= args.calls <= 20 and 5 <= args.attack_s <= 600):
        p.error("--calls must be in 1..20 and --attack-s in 5..600")
    m, g, d = mixed(args.calls), greedy(), disk(args.attack_s)
    print("16 visitors behind nginx, each its own address, cycling animate, compare, project and music:")
    print("| calls | p50 s | p95 s |\n|---|---|---|")
    for kind in ("animate", "compare", "project", "music", "all"):
        print(f"| {kind} | {m[f'{kind}_p50_s']:.2f} | {m[f'{kind}_p95_s']:.2f} |")
    print(
        f"({m['calls']:.0f} calls a round, {m['errors']:.0f} not answered with a file, {m['wall_s']:.1f} s a round; medians of 3 rounds)"
    )
    print(
        f"\n4 ordinary visitors' p95: {g['alone_p95_s']:.2f} s alone, {g['beside_p95_s']:.2f} s beside a greedy one "
        f"({g['ratio']:.2f}x; {g['refused']} of their requests refused; the greedy one sent {g['greedy_calls']})"
    )
    print(
        f"\nDisk: {d['peak_growth_mb']:.0f} MB at the peak of a {args.attack_s:.0f} s attack ({d['requests']} requests), budget {d['budget_mb']:.0f} MB"
    )
    figures = {f"hosted.mixed.{k}": (m[k], "s") for k in m if k.endswith("_s")}
    figures.update({"hosted.mixed.errors": (m["errors"], "calls")})
    figures.update({f"hosted.greedy.{k}": (g[k], "s") for k in ("alone_p95_s", "beside_p95_s")})
    figures.update({"hosted.greedy.ratio": (g["ratio"], "x"), "hosted.greedy.refused": (g["refused"], "calls")})
    figures.update({f"hosted.disk.{k}": (d[k], "MB") for k in ("peak_growth_mb", "budget_mb")})
    return figures


if __name__ == "__main__":
    from bench.results import machine, record

    measured = main()
    if measured:
        record(measured, "python -m bench.hosted_load", machine())
