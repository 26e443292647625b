"""MP4 (H.264, and AAC when a song is given): frames streamed to ffmpeg a chunk at a time, so a ten-minute music
video never holds all its frames.

The bytes are a function of the frames, the fps, the recipe and the samples: -fflags +bitexact keeps the encoder's
version and the date out of the file, and the song is handed to ffmpeg as a 16-bit WAV this process writes from the
samples it measured (the visitor's own file is never given to ffmpeg at this point).
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from serving.errors import InputError

AUDIO_BITRATE = "160k"


def _even(frames: np.ndarray) -> np.ndarray:
    """RGB frames with even sides (H.264 wants them; padded by one edge pixel where needed)."""
    rgb = np.repeat(frames, 3, axis=3) if frames.shape[3] == 1 else frames
    h, w = rgb.shape[1:3]
    return np.pad(rgb, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """float samples [n, channels] in -1..1 -> a 16-bit PCM WAV."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def encode_mp4(chunks: Iterable[np.ndarray], fps: int, params: list[str], audio=None,
               seconds: float | None = None) -> bytes:
    """The MP4 of uint8 frame chunks [n, h, w, c] (all the same size), with the first `seconds` of `audio` (a
    serving.audio.Track) as its sound when given."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("MP4 needs an ffmpeg encoder: pip install imageio-ffmpeg (or choose gif or webp)") from None
    with tempfile.TemporaryDirectory(prefix="ganimate-mp4-") as tmp:
        out = Path(tmp) / "video.mp4"
        extra: dict = {}
        output = [*params, "-fflags", "+bitexact"]
        if audio is not None:
            used = audio.samples[: int(round((seconds or audio.seconds) * audio.rate))]
            write_wav(Path(tmp) / "song.wav", used, audio.rate)
            extra = {"audio_path": str(Path(tmp) / "song.wav"), "audio_codec": "aac"}
            output += ["-b:a", AUDIO_BITRATE, "-flags:a", "+bitexact", "-shortest"]
        writer = None
        for chunk in chunks:
            rgb = _even(chunk)
            if writer is None:
                writer = imageio_ffmpeg.write_frames(str(out), (rgb.shape[2], rgb.shape[1]), pix_fmt_in="rgb24",
                                                     fps=fps, quality=None, codec="libx264", macro_block_size=1,
                                                     ffmpeg_log_level="error", output_params=output, **extra)
                writer.send(None)
            writer.send(np.ascontiguousarray(rgb))
        if writer is None:
            raise InputError("no frames to encode")
        writer.close()
        return out.read_bytes()
