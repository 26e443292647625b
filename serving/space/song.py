"""Animate's music: a visitor's song (upload or microphone) -> a walk that follows it, as an MP4 with its sound.

The song arrives as a file Gradio stored (the front gate, serving/space/gate.py, let through only WAV, MP3, OGG or
FLAC of at most 10 MB); it is read from Gradio's upload folder only, its first 30 s decoded (serving.music.audio: PCM WAV
in Python, the others by ffmpeg from a pipe with its demuxer forced) and the upload removed at once. The decoded
song stays in memory (a few, least recently used first out), so rendering again with other settings needs no
second upload. Music renders are not kept in the gallery: replaying one needs the song, which the Space does not
keep.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any

from serving import inputs as check
from serving.errors import InputError
from serving.music.audio import Track, read_track
from serving.music.walk import BANDS, MAX_BEATS_PER_KEY, parse_music
from serving.rendering.budget import SPACE
from serving.rendering.recipe import Recipe
from serving.space.gate import MAX_SONG_BYTES

SONGS_KEPT = 8  # decoded songs held in memory: 30 s of 44.1 kHz stereo float is 10 MB
REACTIONS = ("truncation", "none", "thickness", "slant", "width")  # the menu; a model's own directions are checked


class Songs:
    """The decoded songs of recent uploads, by upload path (the page sends the same path on every render)."""

    def __init__(self, kept: int = SONGS_KEPT) -> None:
        self.kept = kept
        self._tracks: OrderedDict[str, Track] = OrderedDict()
        self._lock = threading.Lock()

    def track(self, value: Any, results, janitor=None) -> Track | None:
        """The song an audio value names (None when none was given), decoded once."""
        from serving.space.picture import drop_upload, uploaded_path

        if value in (None, "", {}) or (isinstance(value, dict) and not value.get("path")):
            return None
        key = value.get("path") if isinstance(value, dict) else value
        if not isinstance(key, str) or len(key) > 4096:
            raise InputError("not an uploaded song")
        with self._lock:
            known = self._tracks.get(key)
            if known is not None:
                self._tracks.move_to_end(key)
        if known is not None:  # decoded before: this upload of it is used too (removed once none waits for it)
            drop_upload(value, results, janitor)
            return known
        try:
            path = uploaded_path(value, results, what="song")
            track = read_track(path, max_bytes=MAX_SONG_BYTES, max_seconds=SPACE.audio_seconds)
        finally:
            drop_upload(value, results, janitor)
        with self._lock:
            self._tracks[key] = track
            while len(self._tracks) > self.kept:
                self._tracks.popitem(last=False)
        return track


def with_music(recipe: Recipe, track: Track, beats_per_key: Any, react: Any, band: Any, amount: Any) -> Recipe:
    """`recipe` following `track` (its first 30 s) as an MP4 with the sound; a pasted recipe that already follows
    this song keeps its own settings."""
    if recipe.audio is not None:
        return recipe  # serving.rendering.render checks that the song given is the recipe's own
    music = parse_music(
        "audio",
        {  # the recipe schema's own checks, from the form's values
            "sha256": track.sha256,
            "seconds": min(track.seconds, SPACE.audio_seconds),
            "beats_per_key": check.whole("beats_per_key", beats_per_key, 1, MAX_BEATS_PER_KEY),
            "react": check.text("react", react, 100) or "truncation",
            "band": check.choice("band", band or "all", BANDS),
            "amount": check.number("amount", amount, -2.0, 2.0),
        },
    )
    return dataclasses.replace(recipe, audio=music, format="mp4")
