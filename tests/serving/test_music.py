"""Music-driven walks on synthetic tracks made here (clicks on a grid, a tone that swells, silence), with the
shipped bundles and the real ffmpeg that imageio-ffmpeg ships."""

import dataclasses
import io
import subprocess

import numpy as np
import pytest

from serving.bundle.generator import Generator
from serving.errors import InputError
from serving.music import audio
from serving.music.walk import Music
from serving.rendering.recipe import Recipe
from serving.rendering.render import render, render_frames
from tests import tracks
from tests.conftest import REPO

FPS = 24


@pytest.fixture(scope="module")
def gens():
    return {name: Generator.from_pretrained(REPO / "exported" / name) for name in ("mnist-cdcgan", "mathart-params")}


@pytest.fixture(scope="module")
def song():
    x, times = tracks.song(12.0)
    return audio.read_track(tracks.wav_bytes(x)), times


def _recipe(track, fmt="mp4", **music) -> Recipe:
    return Recipe(
        seeds=(1, 2, 3, 4),
        size=96,
        format=fmt,
        audio=Music(sha256=track.sha256, seconds=track.seconds, **{"beats_per_key": 2, **music}),
    )


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_beats_are_found_within_one_frame_of_the_clicks(bpm):
    times = tracks.beat_grid(bpm, 10.0)
    found = audio.analyze(audio.read_track(tracks.wav_bytes(tracks.clicks(times, 10.0))), FPS)
    assert abs(found.tempo - bpm) < 2.0
    clicks = np.round(times * FPS).astype(int)
    assert len(found.beat_frames) >= len(clicks) - 1
    assert all(np.min(np.abs(clicks - f)) <= 1 for f in found.beat_frames)  # every beat is on a click
    assert all(np.min(np.abs(found.beat_frames - c)) <= 1 for c in clicks[1:])  # every click (past the first) found


def test_a_swelling_tone_grows_louder_and_silence_is_nothing():
    tone = audio.analyze(audio.read_track(tracks.wav_bytes(tracks.swell(8.0))), FPS)
    assert np.diff(tone.loudness).min() > -0.01  # louder all the way (in dB: fast at first, then slower)
    assert tone.loudness[-1] > 0.95 and tone.loudness[0] < 0.1
    assert tone.onset[FPS:].max() < 0.1 and len(tone.beat_times) == 0  # past its first second a swell is no drum
    quiet = audio.analyze(audio.read_track(tracks.wav_bytes(np.zeros(tracks.RATE * 4))), FPS)
    assert quiet.onset.max() == 0 and quiet.loudness.max() == 0 and quiet.tempo == 0 and len(quiet.beat_times) == 0


def test_bass_and_treble_are_told_apart():
    t = np.arange(tracks.RATE * 4) / tracks.RATE
    low = np.sin(2 * np.pi * 60 * t) * (t < 2)  # bass in the first half, a high tone in the second
    high = np.sin(2 * np.pi * 5000 * t) * (t >= 2)
    a = audio.analyze(audio.read_track(tracks.wav_bytes(0.5 * (low + high))), FPS)
    half = a.frames // 2
    assert a.low[: half - 2].min() > 0.9 and a.low[half + 2 :].max() < 0.1
    assert a.high[half + 2 :].min() > 0.9 and a.high[: half - 2].max() < 0.1


@pytest.mark.parametrize("name", ["mnist-cdcgan", "mathart-params"])
def test_the_picture_moves_with_the_onsets_and_rests_in_silence(gens, song, name):
    track, times = song
    frames = render_frames(gens[name], _recipe(track), audio=track).astype(np.float64)
    assert len(frames) == round(track.seconds * FPS)
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    onset = audio.analyze(track, FPS).onset[1:]
    assert np.corrcoef(change, onset)[0, 1] >= 0.6
    silent = int((times[-1] + 0.5) * FPS)  # past the last click's glide
    assert change[silent:].max() < 0.01 * change[:silent].max()


def test_keyframes_change_on_the_beat(gens, song):
    from serving.music.walk import positions

    track, times = song
    a = audio.analyze(track, FPS)
    pos = positions(a, beats_per_key=2)
    arrivals = np.flatnonzero(np.diff(np.floor(pos)) > 0) + 1  # the frames where the walk reaches a keyframe
    assert len(arrivals) >= 5 and set(arrivals) <= set(a.beat_frames[::2])  # only ever on every 2nd beat
    assert np.all(pos[arrivals] == np.round(pos[arrivals]))  # exactly on the keyframe there
    assert np.all(np.diff(pos) >= 0) and np.all(np.diff(np.floor(pos)) <= 1)  # never backwards, never skips one


def test_loudness_drives_truncation_or_a_named_direction(gens):
    tone = audio.read_track(tracks.wav_bytes(tracks.swell(4.0)))
    gen = gens["mnist-cdcgan"]
    base = Recipe(seeds=(3,), size=28, format="gif")
    quiet_loud = {}
    for react in ("truncation", "thickness"):
        recipe = dataclasses.replace(base, audio=Music(sha256=tone.sha256, seconds=4.0, react=react, amount=1.0))
        frames = render_frames(gen, recipe, audio=tone).astype(np.float64)
        quiet_loud[react] = (frames[2], frames[-1])
    still = render_frames(
        gen, dataclasses.replace(base, audio=Music(sha256=tone.sha256, seconds=4.0, react="none")), audio=tone
    )
    assert np.array_equal(still[0], still[-1])  # one seed, no onsets after the start, nothing reacts: no motion
    ink = {k: (q.mean(), loud.mean()) for k, (q, loud) in quiet_loud.items()}
    assert ink["thickness"][1] > ink["thickness"][0] * 1.2  # louder: thicker strokes, more ink
    assert np.abs(quiet_loud["truncation"][0] - quiet_loud["truncation"][1]).mean() > 5  # a different picture
    with pytest.raises(InputError, match="thickness, slant, width"):
        render(gen, dataclasses.replace(base, audio=Music(sha256=tone.sha256, seconds=4.0, react="petals")), audio=tone)


@pytest.mark.parametrize("name", ["mnist-cdcgan", "mathart-params"])
def test_the_mp4_carries_the_song_and_the_same_recipe_gives_the_same_bytes(gens, song, tmp_path, name):
    import imageio_ffmpeg

    track, _ = song
    recipe = _recipe(track)
    data = render(gens[name], recipe, audio=track)
    assert render(gens[name], recipe, audio=track) == data
    (tmp_path / "v.mp4").write_bytes(data)
    decoded = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(tmp_path / "v.mp4"),
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            str(tracks.RATE),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    heard = np.frombuffer(decoded, "<f4").astype(np.float64)
    original = track.mono()
    assert abs(len(heard) - len(original)) / tracks.RATE < 0.05  # the same duration
    # The AAC encoder delays and shapes the sound a little: compare 50 ms loudness envelopes, aligned.
    hop = tracks.RATE // 20

    def env(x):
        return np.sqrt((x[: len(x) // hop * hop].reshape(-1, hop) ** 2).mean(axis=1))

    a, b = env(original), env(heard)
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.98 and abs(a.sum() - b[:n].sum()) / a.sum() < 0.05
    recipe_back = Recipe.from_json(recipe.to_json())
    assert recipe_back == recipe


def test_gif_and_webp_have_the_same_motion_without_sound(gens, song):
    from PIL import Image, ImageSequence

    track, _ = song
    gen = gens["mnist-cdcgan"]
    frames = render_frames(gen, _recipe(track, "webp"), audio=track)[..., 0].astype(np.int64)
    distinct = [0, *(np.flatnonzero(np.abs(np.diff(frames, axis=0)).max(axis=(1, 2)) > 0) + 1)]
    for fmt in ("webp", "gif"):  # a still stretch (the silence) may be one frame shown longer
        shown = Image.open(io.BytesIO(render(gen, _recipe(track, fmt), audio=track)))
        pictures = [
            (np.asarray(f.convert("L"), dtype=np.int64), f.info["duration"]) for f in ImageSequence.Iterator(shown)
        ]
        assert abs(sum(d for _, d in pictures) - 1000 * track.seconds) < 50  # as long as the song
        if fmt == "webp":  # lossless: exactly the frames, each change kept
            assert np.array_equal(np.stack([p for p, _ in pictures]), frames[distinct])
        else:  # the palette rounds grays a little, so a change of one gray level may merge
            assert 0.9 * len(distinct) <= len(pictures) <= len(frames)


def test_a_recipe_names_its_song_and_refuses_another(gens, song):
    track, _ = song
    gen = gens["mnist-cdcgan"]
    recipe = _recipe(track)
    other = audio.read_track(tracks.wav_bytes(tracks.swell(12.0)))
    with pytest.raises(InputError, match="give its file"):
        render(gen, recipe)
    with pytest.raises(InputError, match="another song"):
        render(gen, recipe, audio=other)
    with pytest.raises(InputError, match="keyframes"):
        render(gen, dataclasses.replace(recipe, path="circle"), audio=track)
    too_long = dataclasses.replace(recipe, audio=dataclasses.replace(recipe.audio, seconds=20.0))
    with pytest.raises(InputError, match="the file holds"):
        render(gen, too_long, audio=track)
    assert "audio" not in Recipe().to_json()  # a recipe without a song keeps its old bytes


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"sha256": "xyz", "seconds": 3}, "sha256"),
        ({"sha256": "a" * 64}, "seconds"),
        ({"sha256": "a" * 64, "seconds": "3"}, "seconds"),
        ({"sha256": "a" * 64, "seconds": 3, "beats_per_key": 0}, "beats_per_key"),
        ({"sha256": "a" * 64, "seconds": 3, "band": "mid"}, "band"),
        ({"sha256": "a" * 64, "seconds": 3, "amount": 5}, "amount"),
        ({"sha256": "a" * 64, "seconds": 3, "volume": 1}, "unknown"),
        ("song.wav", "object"),
    ],
)
def test_the_audio_field_is_checked_like_the_rest_of_a_recipe(bad, words):
    with pytest.raises(InputError, match=words):
        Recipe.from_dict({"audio": bad})


def test_the_space_budget_uses_30_seconds_of_a_song(gens):
    from serving.rendering.budget import SPACE

    long_song = audio.read_track(tracks.wav_bytes(tracks.clicks(tracks.beat_grid(120, 40), 40.0)))
    recipe = Recipe(seeds=(1, 2), size=64, format="mp4", audio=Music(sha256=long_song.sha256, seconds=40.0))
    with pytest.raises(InputError, match="at most 30 s"):
        render(gens["mnist-cdcgan"], recipe, SPACE, audio=long_song)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_wavs_of_every_width_and_stereo_read_the_same(width):
    x = 0.5 * np.sin(2 * np.pi * 330 * np.arange(tracks.RATE) / tracks.RATE)
    track = audio.read_track(tracks.wav_bytes(np.stack([x, -x], axis=1), width=width))
    assert track.samples.shape == (tracks.RATE, 2) and track.rate == tracks.RATE
    assert np.abs(track.samples[:, 0] - x).max() < (2.0 / 2 ** (8 * width - 1)) + 1e-6


@pytest.mark.parametrize("codec, ext", [("flac", "flac"), ("libvorbis", "ogg"), ("libmp3lame", "mp3")])
def test_compressed_songs_are_decoded_by_ffmpeg_and_keep_their_beat(tmp_path, codec, ext):
    import imageio_ffmpeg

    times = tracks.beat_grid(120.0, 8.0)
    wav = tracks.write(tmp_path / "s.wav", tracks.clicks(times, 8.0))
    out = tmp_path / f"s.{ext}"
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", codec, str(out)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"this ffmpeg has no {codec} encoder")
    track = audio.read_track(out)
    assert abs(track.seconds - 8.0) < 0.1 and track.rate == audio.DECODE_RATE
    assert abs(audio.analyze(track, FPS).tempo - 120.0) < 2.0


@pytest.mark.parametrize(
    "data, words",
    [
        (b"<html>not a song</html>", "not WAV, MP3, OGG or FLAC"),
        (b"OggS" + b"\0" * 200, "cannot be decoded"),
        (tracks.wav_bytes(np.zeros(100)), "less than 0.1 s"),
    ],
)
def test_a_bad_audio_file_is_one_clear_line(data, words):
    with pytest.raises(InputError, match=words):
        audio.read_track(data)


def test_the_command_line_renders_a_music_video_and_replays_it(tmp_path, song, capsys):
    from serving import cli

    x, _ = tracks.song(12.0)
    wav = tracks.write(tmp_path / "song.wav", x)
    bundle = str(REPO / "exported" / "mnist-cdcgan")
    out = tmp_path / "video.mp4"
    args = ["render", "--bundle", bundle, "--audio", str(wav), "--seeds", "1,2,3,4", "--size", "64", "--out", str(out)]
    assert cli.main([*args, "--beats-per-key", "2"]) == 0
    assert "rendering [" in capsys.readouterr().err  # 288 frames: long enough for the bar
    again = tmp_path / "again.mp4"
    assert cli.main(["render", "--bundle", bundle, "--recipe", str(out), "--audio", str(wav), "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
    assert cli.main(["render", "--bundle", bundle, "--recipe", str(out), "--out", str(tmp_path / "x.mp4")]) == 2
    assert "give its file" in capsys.readouterr().err
    (tmp_path / "bad.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    assert cli.main([*args[:4], str(tmp_path / "bad.wav"), "--out", str(tmp_path / "y.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and not (tmp_path / "y.mp4").exists()


def test_ffmpegs_heap_addresses_never_reach_a_visitor():
    from serving.music.audio import _said

    said = _said("[mp3 @ 0x55d5c8a3c2c0] Failed to read frame size: Could not seek to 1026; at 0x7ffe12345678")
    assert "0x" not in said and said.startswith("mp3: Failed to read frame size")
