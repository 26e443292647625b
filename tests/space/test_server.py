"""The Space served on 127.0.0.1: every endpoint through gradio_client, bad input, file safety, a bounded load."""

import concurrent.futures
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from gradio_client.exceptions import AppError
from PIL import Image

from tests.conftest import REPO

MNIST = "mnist-cdcgan"
R1 = dict(
    model=MNIST,
    seeds="1,2,3,4",
    classes="3,8,0,5",
    path="cubic",
    frames=24,
    fps=24,
    loop=True,
    easing="linear",
    truncation=1.0,
    grid="1x1",
    size=256,
    format="gif",
    recipe="",
    api_name="/animate",
)


def test_every_endpoint_with_defaults(client, app):
    gif, recipe = client.predict(api_name="/animate")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 96
    png, npz, stats = client.predict(api_name="/sample")
    assert np.load(npz)["images"].shape[0] == 32 and "images" in stats and Image.open(png).format == "PNG"
    image = client.predict(api_name="/explore")
    assert Image.open(image).size == (256, 256)


def test_compare_with_defaults_draws_the_model_beside_its_partner(client, app):
    import json

    from serving.rendering.compare import GAP, LABEL_HEIGHT

    gif, recipe = client.predict(api_name="/compare")
    shown = json.loads(recipe)
    partner = app.compare_partner(MNIST)
    names = [MNIST, partner]
    assert shown["models"] == [{"bundle": n, "sha256": app.models[n].config.sha256} for n in names]
    from serving.files.recipe_file import recipe_in_file

    assert json.loads(recipe_in_file(gif)) == shown  # the file carries the recipe shown
    with Image.open(gif) as im:
        assert im.size == (2 * 256 + GAP, 256 + LABEL_HEIGHT) and im.n_frames == 96
    again, _ = client.predict(api_name="/compare")
    assert open(gif, "rb").read() == open(again, "rb").read()


def test_compare_refuses_models_of_different_classes_naming_both(client, app):
    other = next(n for n, g in app.models.items() if g.config.class_names != app.models[MNIST].config.class_names)
    with pytest.raises(AppError) as exc:
        client.predict(model_a=MNIST, model_b=other, api_name="/compare")
    text = str(exc.value)
    assert (
        f"{MNIST} (classes: 0, 1, 2" in text and f"{other} (classes: {app.models[other].config.class_names[0]}" in text
    )


def test_api_lists_named_endpoints_with_defaults(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(info) == {
        "/animate",
        "/sample",
        "/explore",
        "/compare",
        "/project",
        "/breed",
        "/breed_candidates",
    }  # every other event is private
    integers = {"frames", "fps", "size", "seed"}
    for name in info:
        for p in info[name]["parameters"]:
            assert p["parameter_has_default"], (name, p["parameter_name"])  # /project's picture: None, one line
            if p["parameter_name"] in integers:
                assert p["python_type"]["type"] == "int", (name, p["parameter_name"])


def test_same_inputs_give_byte_identical_files(client):
    a, _ = client.predict(**R1)
    b, _ = client.predict(**R1)
    assert open(a, "rb").read() == open(b, "rb").read()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("truncation", "NaN", "finite"),
        ("frames", 10**9, "frames must be in"),
        ("frames", "lots", "frames must be a number"),
        ("size", -3, "size must be in"),
        ("seeds", "-1", "cannot read"),
        ("seeds", "99999999999", "out of range"),
        ("grid", "1000x1000", "grid rows"),
    ],
)
def test_bad_input_through_the_client_is_a_clear_error_and_serving_goes_on(client, field, value, message):
    with pytest.raises(AppError, match=message):
        client.predict(**{**R1, "frames": 2, "size": 64, field: value})
    gif, _ = client.predict(**{**R1, "frames": 2, "size": 64})  # the next good call still works
    assert Image.open(gif).format == "GIF"


@pytest.mark.parametrize("target", ["/etc/passwd", "MODEL"])
def test_files_outside_the_cache_are_not_served(server, app, target):
    if target == "MODEL":
        target = str((REPO / "exported" / MNIST / "model.onnx").resolve())
    for url in (
        f"{server}gradio_api/file={target}",
        f"{server}file={target}",
        f"{server}gradio_api/file=..%2F..%2F..{target}",
    ):
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = resp.read()
            status = resp.status
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        assert status in (403, 404) or (b"root:" not in body and b"onnx" not in body[:64]), (url, status)
        assert b"root:x:" not in body


@pytest.mark.slow
def test_load_8_clients_x_5_renders_of_r1(server):
    """Bounded load on loopback: 8 concurrent clients, 5 R1 renders each; all succeed; p95 printed."""
    from gradio_client import Client

    def worker(_):
        client, times = Client(server, verbose=False), []
        for _ in range(5):
            started = time.perf_counter()
            gif, _ = client.predict(**R1)
            times.append(time.perf_counter() - started)
            assert Image.open(gif).n_frames == 96
        return times

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        times = [t for ts in pool.map(worker, range(8), timeout=600) for t in ts]
    assert len(times) == 40
    p50, p95 = np.percentile(times, [50, 95])
    print(
        f"\nload: 8 clients x 5 R1 renders: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )


def _thick_pen_digit(path):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (300, 360), "white")
    ImageDraw.Draw(im).line([(90, 60), (210, 60), (120, 300)], fill="black", width=24)  # a 7
    im.save(path)
    return path


def test_project_a_picture_through_the_api_and_replay_its_recipe(client, tmp_path):
    from gradio_client import handle_file

    picture = _thick_pen_digit(tmp_path / "me.png")
    pair, latent, gif, recipe, verdict = client.predict(
        model="mnist-cdcgan", picture=handle_file(str(picture)), following="5,6", api_name="/project"
    )
    found = json.loads(latent)
    assert len(found["latent"]) == 64 and found["class"] == 7
    assert found["fits"] and verdict.startswith("**7**: Found")
    shown = json.loads(recipe)
    assert shown["latents"][0] == found["latent"] and shown["latents"][1:] == [None, None]
    again, _ = client.predict(model="mnist-cdcgan", recipe=recipe, api_name="/animate")
    assert Path(again).read_bytes() == Path(gif).read_bytes()  # the recipe carries the latent: same bytes
    with pytest.raises(Exception, match="give a picture"):
        client.predict(model="mnist-cdcgan", picture=None, api_name="/project")


def test_the_uploaded_picture_is_removed_once_projected(app, tmp_path):
    import shutil

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / "ganimate-test"
    folder.mkdir(parents=True, exist_ok=True)
    stored = shutil.copy(_thick_pen_digit(tmp_path / "me.png"), folder / "me.png")
    app.project("mnist-cdcgan", {"path": str(stored)})
    assert not Path(stored).exists()
    with pytest.raises(Exception, match="not an uploaded picture"):
        app.project("mnist-cdcgan", {"path": "/etc/passwd"})


def test_a_visitor_cannot_make_the_space_read_or_delete_its_own_results(app):
    opening, _ = app.initial_animation()
    with pytest.raises(Exception, match="not an uploaded picture"):
        app.project("mnist-cdcgan", {"path": opening})
    with pytest.raises(Exception, match="give a picture"):  # and its layers are not deleted on the way out
        app.project("mnist-cdcgan", {"composite": None, "layers": [{"path": opening}]})
    with pytest.raises(Exception, match="not an uploaded picture"):
        app.recipe_from_file({"path": opening})
    assert Path(opening).is_file()  # named by a visitor, never removed


def test_math_art_is_compared_with_itself_at_a_tamer_truncation_never_twice_the_same(client, app):
    import json

    from serving.rendering.compare import GAP, LABEL_HEIGHT

    assert app.compare_partner("mathart-params") == "mathart-params"  # no other model draws its classes
    gif, recipe = client.predict(
        model_a="mathart-params", seeds="3,4", frames=2, size=64, path="lerp", api_name="/compare"
    )
    shown = json.loads(recipe)
    assert shown["truncation"] == 1.0 and [m["bundle"] for m in shown["models"]] == ["mathart-params"] * 2
    with Image.open(gif) as im:
        frame = np.asarray(im.convert("RGB"))
    left, right = frame[LABEL_HEIGHT:, :64], frame[LABEL_HEIGHT:, 64 + GAP :]
    assert not np.array_equal(left, right)  # two different pictures, not the same panel twice


def test_switching_model_shows_that_models_own_animation(app):
    import json

    from serving.files.recipe_file import recipe_text

    path, file, recipe, link = app.opening("mathart-params")
    assert path == file and link == ""
    carried = json.loads(recipe_text(Path(path).read_bytes()))
    assert carried["bundle_sha256"] == app.models["mathart-params"].config.sha256 == json.loads(recipe)["bundle_sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist-cdcgan", "mnist-cvae", "mathart-params"])
def test_every_about_snippet_runs_for_its_model(app, server, name, tmp_path):
    import re
    import subprocess
    import sys

    _, usage, _ = app.about(name)
    code = re.search(r"```python\n(.*?)```", usage, re.S).group(1).replace("http://127.0.0.1:7860/", server)
    assert ("/project" in code) == app.models[name].has_encoder  # offered only where it works
    _thick_pen_digit(tmp_path / "me.png")
    from tests import tracks

    tracks.write(tmp_path / "song.wav", tracks.song(3.0)[0])
    done = subprocess.run(
        [sys.executable, "-c", code + "\nprint('snippet ok')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("snippet ok"), done.stderr[-2000:]


def test_a_song_through_the_api_gives_a_video_with_its_sound_and_a_replayable_recipe(client, app, tmp_path):
    import subprocess

    import imageio_ffmpeg
    from gradio_client import handle_file

    from tests import tracks

    x, _ = tracks.song(6.0)
    song = tracks.write(tmp_path / "song.wav", x)
    video, recipe = client.predict(
        model=MNIST,
        seeds="1,2,3",
        size=64,
        music=handle_file(str(song)),
        beats_per_key=2,
        react="thickness",
        react_amount=1.0,
        api_name="/animate",
    )
    video = video["video"] if isinstance(video, dict) else video
    shown = json.loads(recipe)
    assert shown["format"] == "mp4" and shown["audio"]["seconds"] == 6.0 and shown["audio"]["react"] == "thickness"
    streams = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(video)], capture_output=True, text=True).stderr
    assert "Audio: aac" in streams and "Video: h264" in streams
    # The recipe and the same song give the same bytes; the recipe without its song is one clear line.
    again, _ = client.predict(model=MNIST, recipe=recipe, music=handle_file(str(song)), api_name="/animate")
    assert Path(again).read_bytes() == Path(video).read_bytes()
    with pytest.raises(AppError, match="follows a song"):
        client.predict(model=MNIST, recipe=recipe, api_name="/animate")
    with pytest.raises(AppError, match="cannot be decoded"):
        (tmp_path / "fake.wav").write_bytes(b"RIFF\0\0\0\0WAVEnot really")
        client.predict(model=MNIST, music=handle_file(str(tmp_path / "fake.wav")), api_name="/animate")


def test_the_song_is_decoded_once_and_its_upload_removed(app, tmp_path):
    import shutil

    from gradio.utils import get_upload_folder

    from tests import tracks

    folder = Path(get_upload_folder()) / "ganimate-test-song"
    folder.mkdir(parents=True, exist_ok=True)
    stored = shutil.copy(tracks.write(tmp_path / "s.wav", tracks.song(4.0)[0]), folder / "s.wav")
    first, _ = app.animate(MNIST, seeds="1,2", size=32, music={"path": str(stored)})
    assert not Path(stored).exists()  # removed once read ...
    second, recipe = app.animate(MNIST, seeds="1,2", size=32, music={"path": str(stored)}, beats_per_key=1)
    assert json.loads(recipe)["audio"]["beats_per_key"] == 1 and first != second  # ... and still at hand
    with pytest.raises(Exception, match="not an uploaded song"):
        app.animate(MNIST, music={"path": "/etc/passwd"})
