"""The Space under load: N clients each make K default `/animate` calls at once, on 127.0.0.1, through gradio_client.

    python -m bench.space_load [--clients 16] [--calls 3]

The server runs in its own process, as the Space does, so the clients' Python
work does not share the server's GIL; both still share this machine's cores. Two kinds of client: `gradio_client`
(what the README shows; it spends about 140 ms of CPU per call here, so on 2 shared cores the clients, not the
server, set the pace) and plain HTTP on the Space's REST API (`/gradio_api/call/animate`, then the file; about
8 ms of CPU per call), which is how the server itself holds up under load.

Prints each call's latency (p50, p95, max, as a client sees it: queueing included) and throughput in calls per
second, for the Space as shipped and, side by side in the same run: every call asking for its own seeds (so every
call renders: the Space renders one recipe once and hands the same file to whoever asks for it again), and with
`/animate` allowed one render at a time (`--compare-concurrency`), so the choice of concurrency is measured. Bounded: every client makes its
calls and stops; the server is closed at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, concurrency: int | None, fair: bool = False, before: bool = False) -> None:
    """The Space as shipped, on 127.0.0.1:`port`, until stdin closes (run by run_load in a child process).
    `fair`: clients told apart by X-Forwarded-For, one running request each (as behind a Hugging Face proxy).
    `before`: as it was before the per-request costs were cut, for a side-by-side figure: numpy's BLAS on its
    default threads (serving.space.blas.one_blas_thread not called)."""
    import sys

    if not before:  # as main() does; `before` keeps numpy's BLAS on its default threads
        from serving.space.blas import one_blas_thread

        one_blas_thread()
    from serving.space import SpaceApp, build_demo, load_models, model_sources
    from serving.space.layout import launch_options

    # Every client here is 127.0.0.1: without `fair` the per-client limit would answer all but one "try again".
    app = SpaceApp(
        load_models(model_sources("", None, ROOT / "exported")),
        per_client=1 if fair else 10**6,
        proxy_hops=1 if fair else 0,
    )
    demo = build_demo(app.models, app=app)
    if concurrency is not None:  # the same demo with another limit on the render events
        for fn in demo.fns.values():
            if fn.api_name in ("animate", "compare"):
                fn.concurrency_limit = concurrency
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(demo.ganimate_app, requests_per_min=10**6),
    )
    print("ready", flush=True)
    sys.stdin.read()  # the parent closes it when the clients are done
    demo.close()


def _http_call(http, url: str, data: list, headers: dict | None = None, endpoint: str = "animate") -> int:
    """One call of `endpoint` on the REST API: queue it, read its event stream, fetch the first file; the file's
    size (0 when the Space answered an error, such as "try again")."""
    import json

    answer = http.post(url + f"gradio_api/call/{endpoint}", json={"data": data}, headers=headers or {})
    answer.raise_for_status()
    event, result = None, None
    with http.stream(
        "GET", url + f"gradio_api/call/{endpoint}/{answer.json()['event_id']}", headers=headers or {}
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                result = json.loads(line[5:])
                break
    if event != "complete":
        if headers:  # a client the fair Space tells to wait
            return 0
        raise SystemExit(f"/{endpoint} answered {event}: {result}")
    got = http.get(result[0]["url"])
    got.raise_for_status()
    return len(got.content)


def run_load(
    clients: int, calls: int, concurrency: int | None = None, distinct: bool = False, kind: str = "gradio_client"
) -> dict:
    """Serve the shipped models on loopback in a child process, hammer `/animate` with `kind` clients
    ("gradio_client" or "http"), return latency figures (s)."""
    import httpx
    from gradio_client import Client

    with _space(False, concurrency) as url:
        warm = Client(url, verbose=False)
        warm.predict(api_name="/animate")  # warm: session arenas, first GIF
        form = [
            p["parameter_default"]
            for p in warm.view_api(return_format="dict", print_info=False)["named_endpoints"]["/animate"]["parameters"]
        ]

        def seeds_for(index: int, k: int) -> str:
            # distinct: seeds no other call asks for (four, as the default has), so no render is shared
            return ",".join(str(1000 + 4 * (index * calls + k) + i) for i in range(4))

        def one_client(index: int) -> list[float]:
            out = []
            if kind == "http":
                with httpx.Client(timeout=120) as http:
                    for k in range(calls):
                        data = [form[0], seeds_for(index, k), *form[2:]] if distinct else []  # []: the form's defaults
                        started = time.perf_counter()
                        _http_call(http, url, data)
                        out.append(time.perf_counter() - started)
                return out
            client = Client(url, verbose=False)
            for k in range(calls):
                started = time.perf_counter()
                client.predict(**({"seeds": seeds_for(index, k)} if distinct else {}), api_name="/animate")
                out.append(time.perf_counter() - started)
            return out

        latencies, wall = _each_client(one_client, clients)
    lat = np.asarray(latencies)
    return {
        "calls": len(lat),
        "p50_s": float(np.percentile(lat, 50)),
        "p95_s": float(np.percentile(lat, 95)),
        "max_s": float(lat.max()),
        "calls_per_s": len(lat) / wall,
        "wall_s": wall,
    }


@contextlib.contextmanager
def _space(fair: bool, concurrency: int | None = None, before: bool = False) -> Iterator[str]:
    """The shipped Space in a child process on loopback (`fair`: per-client limits on); yields its URL, and
    makes sure the child goes when the block ends."""
    import subprocess
    import sys

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.space_load",
            "--serve",
            str(port),
            *(["--concurrency", str(concurrency)] if concurrency is not None else []),
            *(["--fair"] if fair else []),
            *(["--before"] if before else []),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    if server.stdout.readline().strip() != "ready":
        raise SystemExit(f"the Space did not start (exit code {server.wait()})")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stdin.close()  # the child's cue to stop
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def _each_client(one_client: Callable[[int], list[T]], clients: int) -> tuple[list[T], float]:
    """Every client's results, all clients at once on their own threads, and the wall time it took."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = [r for per_client in pool.map(one_client, range(clients)) for r in per_client]
    return results, time.perf_counter() - started


def run_greedy(fair: bool, ordinary: int = 4, calls: int = 4) -> dict:
    """Ordinary clients' /animate latency (their own small renders, each client its own address) alone, then
    beside one greedy client sending the largest renders the caps allow, two at a time, in a loop. `fair`: the
    Space's per-client limit on (the shipped default behind a proxy); else lifted. Bounded: the greedy loop stops
    when the ordinary clients are done."""
    import threading

    import httpx

    big = ["mnist-cdcgan", "0-15", "", "cubic", 16, 24, True, "linear", 1.0, "4x4", 512, "gif", ""]
    with _space(fair) as url:

        def ordinary_run(offset: int) -> list[float]:
            return _each_client(lambda c: _ordinary(url, c, offset, calls), ordinary)[0]

        _ordinary(url, 250, 90_000, 1)  # warm (first-call costs are start-up, not the greedy client's doing)
        alone = ordinary_run(0)
        stop = threading.Event()

        def greedy(k: int) -> int:
            n = 0
            with httpx.Client(timeout=300) as http:
                while not stop.is_set() and n < 50:
                    _http_call(
                        http,
                        url,
                        [*big[:1], f"{5000 + 100 * (2 * n + k)}-{5015 + 100 * (2 * n + k)}", *big[2:]],
                        {"X-Forwarded-For": "203.0.113.7"},
                    )
                    n += 1
            return n

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            hogs = [pool.submit(greedy, k) for k in range(2)]
            time.sleep(1.0)  # the greedy client is already holding the queue
            loaded = ordinary_run(1000)
            stop.set()
            [h.result() for h in hogs]
    a, b = np.percentile(alone, 95), np.percentile(loaded, 95)
    return {"alone_p95_s": float(a), "loaded_p95_s": float(b), "ratio": float(b / a)}


def digit_photo() -> bytes:
    """A digit as a person would photograph it: mnist-cdcgan's 7 (seed 3), dark ink on light paper, 112 px PNG."""
    import io

    from PIL import Image

    from serving import Generator
    from serving.latent.latents import one_hot, z_batch

    gen = Generator.from_pretrained(ROOT / "exported" / "mnist-cdcgan")
    digit = 255 - gen(z_batch([3], gen.latent_dim), one_hot([7], gen.num_classes))[0, ..., 0]
    buf = io.BytesIO()
    Image.fromarray(digit).resize((112, 112), Image.BILINEAR).save(buf, format="PNG")
    return buf.getvalue()


def run_mixed(clients: int = 16, calls: int = 4, before: bool = False) -> dict:
    """`clients` HTTP clients, each its own address (as behind a proxy, so the shipped per-client limits hold),
    alternating an R1-sized /animate of their own seeds and a /project of an uploaded picture. Latency of each
    kind and of all calls. `before`: the Space as it was before the per-request costs were cut (serve)."""
    import httpx

    picture = digit_photo()
    with _space(True, before=before) as url:
        # Warm, as the Space's main() warms itself once it answers: the first call of each kind pays one-time
        # costs (imports Gradio makes on its first event, onnxruntime's first allocations) that are start-up,
        # not load.
        warm_headers = {"X-Forwarded-For": "198.51.100.250"}
        with httpx.Client(timeout=300) as http:
            _http_call(http, url, ["mnist-cdcgan", "1,2,3,4"], warm_headers)
            _http_call(
                http,
                url,
                ["mnist-cdcgan", _uploaded(http, url, picture, warm_headers), "5,6,7"],
                warm_headers,
                "project",
            )

        def one_client(index: int) -> list[tuple[str, float]]:
            headers = {"X-Forwarded-For": f"198.51.100.{index + 1}"}
            out = []
            with httpx.Client(timeout=300) as http:
                for k in range(calls):
                    started = time.perf_counter()
                    if k % 2:
                        image = _uploaded(http, url, picture, headers)
                        _http_call(http, url, ["mnist-cdcgan", image, "5,6,7"], headers, "project")
                        out.append(("project", time.perf_counter() - started))
                    else:
                        seeds = ",".join(str(2000 + 4 * (index * calls + k) + i) for i in range(4))
                        _http_call(http, url, ["mnist-cdcgan", seeds], headers)
                        out.append(("animate", time.perf_counter() - started))
            return out

        calls_made, wall = _each_client(one_client, clients)
    result = {"calls": len(calls_made), "wall_s": wall}
    for kind in ("animate", "project", "all"):
        lat = np.asarray([t for k, t in calls_made if kind in (k, "all")])
        result[f"{kind}_p50_s"], result[f"{kind}_p95_s"] = float(np.percentile(lat, 50)), float(np.percentile(lat, 95))
    return result


def _uploaded(http, url: str, picture: bytes, headers: dict) -> dict:
    """Upload `picture` as the page does; the file value a /project call names it by."""
    up = http.post(url + "gradio_api/upload", files=[("files", ("digit.png", picture, "image/png"))], headers=headers)
    up.raise_for_status()
    return {"path": up.json()[0], "meta": {"_type": "gradio.FileData"}}


def mixed_table(clients: int = 16, calls: int = 4) -> list[tuple[tuple[str, str], dict]]:
    """The mixed load on the Space as shipped and, side by side, as it was before the per-request costs were cut:
    one after the other (as shipped first), each on a fresh server process warmed by one call of each kind."""
    shipped, before = run_mixed(clients, calls), run_mixed(clients, calls, before=True)
    print(
        f"\n{clients} HTTP clients, each its own address, alternating an R1-sized /animate (own seeds) and a "
        f"/project of an uploaded 112 px picture, {calls} calls each ({shipped['wall_s']:.1f} s as shipped, "
        f"{before['wall_s']:.1f} s before); before: numpy's BLAS on its own threads"
    )
    print("| calls | p50 s | p95 s | p95 s before |\n|---|---|---|---|")
    for kind in ("animate", "project", "all"):
        print(
            f"| {kind} | {shipped[f'{kind}_p50_s']:.2f} | {shipped[f'{kind}_p95_s']:.2f} | "
            f"{before[f'{kind}_p95_s']:.2f} |"
        )
    before["ratio"] = before["all_p95_s"] / shipped["all_p95_s"]
    return [(("mixed", "renders and projections"), shipped), (("mixed", "before per request cuts"), before)]


def _ordinary(url: str, client: int, offset: int, calls: int) -> list[float]:
    import httpx

    out = []
    with httpx.Client(timeout=300) as http:
        for k in range(calls):
            data = [
                "mnist-cdcgan",
                f"{offset + 40 * client + 4 * k},{offset + 40 * client + 4 * k + 1}",
                "",
                "cubic",
                12,
                24,
                True,
                "linear",
                1.0,
                "1x1",
                128,
                "gif",
                "",
            ]
            started = time.perf_counter()
            _http_call(http, url, data, {"X-Forwarded-For": f"198.51.100.{client}"})
            out.append(time.perf_counter() - started)
    return out


def main(argv: list[str] | None = None) -> list[tuple[tuple[str, str], dict]]:
    p = argparse.ArgumentParser(prog="python -m bench.space_load", description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--calls", type=int, default=3, help="default /animate calls per client")
    p.add_argument(
        "--compare-concurrency", type=int, default=1, help="also measure with this many renders at once (0: skip)"
    )
    p.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)  # internal: the server process
    p.add_argument("--concurrency", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--fair", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--before", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--greedy-only", action="store_true", help="only the greedy-client comparison")
    p.add_argument("--mixed-only", action="store_true", help="only the mixed load of renders and projections")
    args = p.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.concurrency, args.fair, args.before)
        return []
    if args.greedy_only:
        return greedy_table()
    if args.mixed_only:
        return mixed_table(args.clients)
    if not (1 <= args.clients <= 64 and 1 <= args.calls <= 20):
        p.error("--clients must be in 1..64 and --calls in 1..20")
    runs = []
    for kind in ("http", "gradio_client"):
        runs += [
            ((kind, "as shipped, default calls"), run_load(args.clients, args.calls, kind=kind)),
            (
                (kind, "as shipped, every call its own seeds"),
                run_load(args.clients, args.calls, distinct=True, kind=kind),
            ),
        ]
    if args.compare_concurrency:
        runs.append(
            (
                ("http", f"{args.compare_concurrency} render at a time, own seeds"),
                run_load(args.clients, args.calls, args.compare_concurrency, distinct=True, kind="http"),
            )
        )
    print(f"{args.clients} clients x {args.calls} /animate calls (R1-sized: 96 frames, 256 px GIF), loopback")
    print("| clients | server | calls | p50 s | p95 s | max s | calls/s |\n|---|---|---|---|---|---|---|")
    for (kind, label), r in runs:
        print(
            f"| {kind} | {label} | {r['calls']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} | {r['max_s']:.2f} | "
            f"{r['calls_per_s']:.1f} |"
        )
    return runs + greedy_table() + mixed_table(args.clients)


def greedy_table() -> list[tuple[tuple[str, str], dict]]:
    """Ordinary clients' p95 alone and beside a greedy one, with the per-client limit and without, side by side."""
    rows = [
        (("greedy", label), run_greedy(fair))
        for label, fair in (("one request per client", True), ("no per-client limit", False))
    ]
    print(
        "\n4 ordinary clients x 4 small /animate calls, alone and beside a greedy client (two 4x4 512 px renders "
        "at a time, in a loop)"
    )
    print("| Space | ordinary p95 alone s | beside the greedy one s | ratio |\n|---|---|---|---|")
    for (_, label), r in rows:
        print(f"| {label} | {r['alone_p95_s']:.2f} | {r['loaded_p95_s']:.2f} | {r['ratio']:.2f}x |")
    return rows


if __name__ == "__main__":
    main()
