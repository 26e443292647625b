"""The live view in headless Chromium: the JavaScript music mapping against Python's numbers, the picture reacting
to a click track heard through Chromium's fake microphone, and a recording rendered again by the CLI.

No timing threshold here (the machine is shared): frames per second and reaction time are `python -m bench.live`.
"""

import base64
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from serving.music.audio import analyze, read_track
from serving.music.walk import positions, walk
from tests import tracks
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS, REPO

VENDOR = REPO / "web" / "vendor" / "ort.wasm.min.mjs"
pytestmark = [
    pytest.mark.slow,  # a real browser, seconds of sound each: kept out of make test-fast
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)"),
    pytest.mark.skipif(not VENDOR.exists(), reason="web/vendor is not built (make web)"),
]
BUNDLES = sorted(p.name for p in (REPO / "exported").iterdir() if (p / "model.onnx").is_file())
FPS = 30
BPM = 120.0
# Chromium's fake microphone loops its file: a whole number of beats keeps the clicks on one grid across the loop.
LOOP_S = 12.0


def _serve(root: Path = REPO):
    spec = importlib.util.spec_from_file_location("web_serve", REPO / "web" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    server = serve.make_server(0, root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def click_track(path: Path) -> Path:
    """Clicks at BPM, the first a quarter second in, looping without a seam."""
    return tracks.write(path, tracks.clicks(tracks.beat_grid(BPM, LOOP_S, first=0.25), LOOP_S))


@pytest.fixture(scope="module")
def site():
    server, base = _serve()
    yield base
    server.shutdown()


@pytest.fixture(scope="module")
def live_browser(site, tmp_path_factory):
    """Chromium whose microphone plays the click track."""
    from playwright.sync_api import sync_playwright

    track = click_track(tmp_path_factory.mktemp("sound") / "track.wav")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={track}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(live_browser, site):
    pg = live_browser.new_page()
    pg.goto(f"{site}/web/index.html?autoplay=0", timeout=60_000)
    yield pg
    pg.close()


def _js_analysis(page, track, fps: int) -> dict:
    return page.evaluate(
        "async ([x, rate, fps]) => { const m = await import('/web/music.js'); const a = m.analyze(Float64Array.from(x), rate, fps);"
        " return { onset: Array.from(a.onset), loudness: Array.from(a.loudness), frames: m.beatFrames(a), tempo: a.tempo }; }",
        [track.mono().tolist(), track.rate, fps],
    )


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_javascript_beats_match_python_within_one_frame(page, bpm):
    track = read_track(tracks.wav_bytes(tracks.clicks(tracks.beat_grid(bpm, 10.0), 10.0)))
    py = analyze(track, fps=FPS)
    js = _js_analysis(page, track, FPS)
    assert len(py.beat_frames) >= 10 and len(js["frames"]) == len(py.beat_frames)
    assert np.abs(np.asarray(js["frames"]) - py.beat_frames).max() <= 1
    assert abs(js["tempo"] - py.tempo) < 0.5
    assert np.abs(np.asarray(js["onset"]) - py.onset).max() < 1e-6  # the same envelopes, not only the same beats
    assert np.abs(np.asarray(js["loudness"]) - py.loudness).max() < 1e-6


@pytest.mark.parametrize("song", ["uneven clicks then silence", "a swell without beats"])
@pytest.mark.parametrize("beats_per_key", [1, 4])
def test_javascript_walk_positions_match_python_given_the_same_analysis(page, song, beats_per_key):
    x = tracks.song(9.0)[0] if song.startswith("uneven") else tracks.swell(6.0)
    a = analyze(read_track(tracks.wav_bytes(x)), fps=24)
    js = page.evaluate(
        "async ([onset, beatTimes, fps, bpk]) => { const m = await import('/web/music.js');"
        " return Array.from(m.positions({ onset, beatTimes, fps }, bpk)); }",
        [a.onset.tolist(), a.beat_times.tolist(), 24, beats_per_key],
    )
    py = positions(a, beats_per_key)
    assert py.max() >= 1.0  # the walk went somewhere
    assert np.abs(np.asarray(js) - py).max() <= 1e-3


LIVE_RUN = """async ([x, rate, fps, bpk]) => {
  const m = await import('/web/music.js');
  const analyser = new m.LiveAnalyser(rate), walk = new m.LiveWalk(fps, bpk), out = [];
  const bound = (f) => m.roundEven((f * m.HOP_RATE) / fps);
  for (let at = 0; at < x.length; at += 128) {  // the AudioWorklet's blocks
    analyser.push(Float32Array.from(x.slice(at, at + 128)), 0);
    while (analyser.hop >= bound(out.length + 1)) {
      const a = analyser.frame(bound(out.length), bound(out.length + 1));
      out.push({ onset: a.onset, beat: a.beat, position: walk.step(a.onset, analyser.beatPeriod ? a.beat : null) });
    }
  }
  return out;
}"""


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_the_live_analysis_hears_the_beats_python_finds(page, bpm):
    """The streaming analysis, fed the track in 128-sample blocks: a hit heard within one frame of each of Python's
    beats, beats predicted within one frame of them once eight seconds are heard, and the walk arriving on its
    keyframe on every fourth predicted beat."""
    track = read_track(tracks.wav_bytes(tracks.clicks(tracks.beat_grid(bpm, 14.0), 14.0)))
    py = analyze(track, fps=FPS)
    live = page.evaluate(LIVE_RUN, [track.mono().tolist(), track.rate, FPS, 4])
    heard = _clicks_heard([{"frame": i, **f} for i, f in enumerate(live)], strong=0.25)  # some bursts are weak
    assert all(np.abs(np.asarray(heard) - b).min() <= 1 for b in py.beat_frames), (heard, py.beat_frames)
    predicted = [i for i, f in enumerate(live) if f["beat"] and i >= 8 * FPS]
    assert len(predicted) >= 5 and all(np.abs(py.beat_frames - b).min() <= 1 for b in predicted), predicted
    arrivals = [live[b]["position"] for b in predicted]
    assert sum(abs(p - round(p)) < 1e-9 for p in arrivals) >= len(arrivals) // 4  # on the bar lines


def test_a_tapped_tempo_gives_the_beats(page):
    beats = page.evaluate(
        """async () => { const m = await import('/web/music.js'); const a = new m.LiveAnalyser(44100);
        a.push(new Float32Array(44100), 0); a.tap(40, 20);
        return Array.from({ length: 30 }, (_, f) => a.frame(f * 10, f * 10 + 10).beat); }"""
    )
    assert [i for i, b in enumerate(beats) if b] == [2, 6, 10, 14, 18, 22, 26]  # hops 20, 60, 100...: 150 BPM


@pytest.mark.parametrize("kind", ["lerp", "slerp", "cubic"])
def test_javascript_walk_latents_match_python(page, kind):
    rng = np.random.default_rng(0)
    key_z, pos = rng.standard_normal((3, 8)), np.sort(rng.uniform(0, 4.5, 50))
    js = page.evaluate(
        "async ([keys, pos, kind]) => { const m = await import('/web/music.js'); return m.walk(keys, pos, kind, 'ease-in-out'); }",
        [key_z.tolist(), pos.tolist(), kind],
    )
    assert np.abs(np.asarray(js) - walk(key_z, pos, kind, "ease-in-out")[0]).max() <= 1e-3


def _play(live_browser, site, bundle: str, seconds: float, query: str = ""):
    pg = live_browser.new_page(viewport={"width": 480, "height": 360})
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{site}/web/index.html?live=1&bundle=/exported/{bundle}/&seeds=1,2,3,4&fps={FPS}{query}", timeout=60_000)
    pg.wait_for_function(
        "window.ganimateLive && (window.ganimateLive.ready || window.ganimateLive.error)", timeout=120_000
    )
    assert not pg.evaluate("window.ganimateLive.error"), pg.evaluate("window.ganimateLive.error")
    pg.wait_for_timeout(seconds * 1000)
    assert not errors, errors
    return pg


def _clicks_heard(frames: list[dict], strong: float = 0.5) -> list[int]:
    """Frame numbers where the page heard a hit: the first frame of each run of onsets of at least `strong`."""
    strong = {f["frame"] for f in frames if f["onset"] >= strong}
    return sorted(f for f in strong if f - 1 not in strong)


def reacting_share(frames: list[dict]) -> tuple[float, int]:
    """(share of the clicks heard whose biggest picture change within 3 frames lands within one frame of the
    click, clicks counted); frames dropped or not yet drawn have no change."""
    change = {f["frame"]: f["change"] for f in frames if f.get("change") is not None}
    clicks = [c for c in _clicks_heard(frames) if c - 3 in change and c + 3 in change]
    near = 0
    for c in clicks:
        window = {f: change[f] for f in range(c - 3, c + 4) if f in change}
        biggest = max(window.values())
        near += any(window.get(f, -1) >= biggest for f in (c - 1, c, c + 1))  # ties count where they are
    return (near / len(clicks) if clicks else 0.0), len(clicks)


@pytest.mark.parametrize("bundle", BUNDLES)
def test_the_live_view_follows_a_click_track(live_browser, site, bundle, artifacts):
    pg = _play(live_browser, site, bundle, 10.0)
    try:
        live = pg.evaluate(
            "(() => { const s = window.ganimateLive; return { drawn: s.drawn, dropped: s.dropped, fps: s.fps,"
            " frames: s.frames.map(f => ({ frame: f.frame, time: f.time, onset: f.onset, change: f.change })) }; })()"
        )
        pg.screenshot(path=str(artifacts / f"live-{bundle}.png"))
    finally:
        pg.close()
    assert live["drawn"] > 0 and live["fps"] > 0
    assert live["drawn"] + live["dropped"] <= len(live["frames"])
    # The page hears the clicks where they are: one every 60/BPM s (FPS * 60 / BPM frames) within a frame.
    heard = _clicks_heard(live["frames"])
    gaps = np.diff(heard)
    assert len(heard) >= 10 and np.mean(np.abs(gaps - FPS * 60 / BPM) <= 1) >= 0.8, gaps
    share, counted = reacting_share(live["frames"])
    assert counted >= 8 and share >= 0.8, (share, counted)


def test_a_track_url_plays_too(live_browser, tmp_path):
    """audio=URL: the track decoded by the browser and played (heard and measured), not the microphone."""
    root = tmp_path / "site"
    (root / "exported").mkdir(parents=True)
    (root / "web").symlink_to(REPO / "web")
    (root / "exported" / "mnist-cvae").symlink_to(REPO / "exported" / "mnist-cvae")
    tracks.write(root / "exported" / "song.wav", tracks.clicks(tracks.beat_grid(150.0, 8.0), 8.0))
    server, base = _serve(root)
    try:
        pg = _play(live_browser, base, "mnist-cvae", 5.0, "&audio=/exported/song.wav")
        frames = pg.evaluate("window.ganimateLive.frames.map(f => ({ frame: f.frame, onset: f.onset }))")
        pg.close()
    finally:
        server.shutdown()
    gaps = np.diff(_clicks_heard(frames))
    assert len(gaps) >= 6 and np.mean(np.abs(gaps - FPS * 60 / 150.0) <= 1) >= 0.8, gaps


def test_the_forms_live_box_plays_a_file_the_visitor_picks(live_browser, site, tmp_path):
    song = tracks.write(tmp_path / "song.wav", tracks.clicks(tracks.beat_grid(150.0, 8.0), 8.0))
    pg = live_browser.new_page()
    try:
        pg.goto(f"{site}/web/index.html?autoplay=0&bundle=/exported/mnist-cvae/&seeds=3,4", timeout=60_000)
        pg.select_option("#sound", "file")
        pg.set_input_files("#sound-file", str(song))
        pg.fill("#beats", "2")
        pg.click("#go-live")
        pg.wait_for_function("window.ganimateLive && window.ganimateLive.ready", timeout=120_000)
        assert "live=1" in pg.url and "beats=2" in pg.url and "seeds=3%2C4" in pg.url
        assert pg.is_visible("#live") and not pg.is_visible("#form")  # the picture and nothing else
        pg.wait_for_timeout(5000)
        frames = pg.evaluate("window.ganimateLive.frames.map(f => ({ frame: f.frame, onset: f.onset }))")
    finally:
        pg.close()
    gaps = np.diff(_clicks_heard(frames))
    assert len(gaps) >= 6 and np.mean(np.abs(gaps - FPS * 60 / 150.0) <= 1) >= 0.8, gaps


def _blob(pg, kind: str) -> bytes:
    data = pg.evaluate(
        "async (kind) => { const b = window.ganimateLive.recording.files[kind]; const bytes = new Uint8Array(await b.arrayBuffer());"
        " let s = ''; for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192)); return btoa(s); }",
        kind,
    )
    return base64.b64decode(data)


def test_a_recording_renders_again_offline(live_browser, site, tmp_path):
    pg = _play(live_browser, site, "mnist-cdcgan", 1.0, "&classes=3,8")
    try:
        pg.mouse.move(50, 50)
        pg.mouse.move(80, 60)  # the record button shows while the pointer moves
        pg.click("#record")
        assert pg.is_visible("#record .busy")
        pg.wait_for_timeout(2500)
        pg.keyboard.press("ArrowRight")  # a keyframe skipped while recording: the recipe says what was played
        pg.keyboard.press("5")  # and a class changed
        pg.wait_for_timeout(3500)
        pg.keyboard.press("r")  # the key stops it as well as the button
        pg.wait_for_function("window.ganimateLive.recording && window.ganimateLive.recording.files", timeout=30_000)
        recipe = pg.evaluate("window.ganimateLive.recording.recipe")
        webm, wav = _blob(pg, "webm"), _blob(pg, "wav")
        (tmp_path / "live.json").write_bytes(_blob(pg, "recipe"))
    finally:
        pg.close()
    assert webm[:4] == b"\x1a\x45\xdf\xa3" and len(webm) > 1000  # a WebM (EBML) with something in it
    assert b"V_VP8" in webm and b"A_OPUS" in webm  # the picture and the sound
    (tmp_path / "live.wav").write_bytes(wav)
    sound = read_track(wav)
    assert recipe["audio"]["seconds"] <= sound.seconds and sound.seconds > 4.0
    assert 5 in recipe["classes"] and len(recipe["seeds"]) == len(recipe["classes"]) >= 2
    following = {(a, b) for a, b in zip(recipe["seeds"], recipe["seeds"][1:])}
    assert following - {(1, 2), (2, 3), (3, 4), (4, 1)}, recipe["seeds"]  # the skip is in the order played
    heard = analyze(sound, fps=FPS)
    assert abs(heard.tempo - BPM) < 2  # the sound recorded is the click track the page heard
    out = tmp_path / "again.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "serving", "render", "--bundle", str(REPO / "exported" / "mnist-cdcgan"),
         "--audio", str(tmp_path / "live.wav"), "--recipe", str(tmp_path / "live.json"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 1000 and f"{round(recipe['audio']['seconds'] * FPS)} frames" in done.stdout


@pytest.mark.parametrize(
    "query, message",
    [
        ("seeds=1,x", 'cannot read "x" as a seed'),
        ("seeds=1,2&fps=0", "fps must be in 1..60"),
        ("seeds=1,2&react=loudly", 'react "loudly" is not known: choose truncation, none, thickness'),
        ("seeds=1,2&audio=/web/missing.wav", "cannot load the track /web/missing.wav: HTTP 404"),
        ("seeds=1,2&amount=1.5", "amount must be in 0..1 with react truncation"),
        ("seeds=1,2&size=4096", "size must be in 16..1024"),
    ],
)
def test_a_bad_live_link_says_why_in_one_line(live_browser, site, query, message):
    pg = live_browser.new_page()
    try:
        pg.goto(f"{site}/web/index.html?live=1&bundle=/exported/mnist-cdcgan/&{query}", timeout=60_000)
        pg.wait_for_function("window.ganimateLive && window.ganimateLive.error", timeout=60_000)
        assert message in pg.text_content("#live-note")
    finally:
        pg.close()
