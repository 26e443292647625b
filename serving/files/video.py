"""MP4 (H.264, and AAC when a song is given): frames streamed to ffmpeg a chunk at a time, so a ten-minute music
video never holds all its frames.

The bytes are a function of the frames, the fps, the recipe and the samples: -fflags +bitexact keeps the encoder's
version and the date out of the file, and the song is added in a second pass over two finished files, as a 16-bit
WAV this process writes from the samples it measured (the visitor's own file is never given to ffmpeg here).
"""

from __future__ import annotations

import subprocess
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


def _with_sound(video: Path, audio, seconds: float | None, params: list[str]) -> bytes:
    """The finished video with the song's first `seconds` as its sound (AAC), by a second ffmpeg pass."""
    import imageio_ffmpeg

    # The sound goes in by a second pass over two finished files: muxed while the frames still stream in, the
    # order of the packets (and so the bytes) would follow the timing of ffmpeg's threads.
    used = audio.samples[: int(round((seconds or audio.seconds) * audio.rate))]
    song, out = video.with_name("song.wav"), video.with_name("out.mp4")
    write_wav(song, used, audio.rate)
    streams = ["-i", str(video), "-i", str(song), *"-map 0:v:0 -map 1:a:0 -c:v copy -c:a aac".split()]
    exact = ["-b:a", AUDIO_BITRATE, "-flags:a", "+bitexact", *params, "-fflags", "+bitexact", str(out)]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", *streams, *exact]
    done = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not add the sound: {done.stderr.decode('utf-8', 'replace')[-300:]}")
    return out.read_bytes()


def encode_mp4(
    chunks: Iterable[np.ndarray], fps: int, params: list[str], audio=None, seconds: float | None = None
) -> bytes:
    """The MP4 of uint8 frame chunks [n, h, w, c] (all the same size), with the first `seconds` of `audio` (a
    serving.music.audio.Track) as its sound when given: the video's length, frames / fps."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError("MP4 needs an ffmpeg encoder: pip install imageio-ffmpeg (or choose gif or webp)") from None
    with tempfile.TemporaryDirectory(prefix="ganimate-mp4-") as tmp:
        video = Path(tmp) / "video.mp4"
        # One encoder thread: x264's frame threads were seen to give another (equally good) bitstream now and then on
        # a busy machine, which breaks "same recipe, same bytes"; at these sizes one thread is as fast.
        output = [*params, "-threads", "1", "-fflags", "+bitexact"]
        writer = None
        for chunk in chunks:
            rgb = _even(chunk)
            if writer is None:
                writer = imageio_ffmpeg.write_frames(
                    str(video),
                    (rgb.shape[2], rgb.shape[1]),
                    pix_fmt_in="rgb24",
                    fps=fps,
                    quality=None,
                    codec="libx264",
                    macro_block_size=1,
                    ffmpeg_log_level="error",
                    output_params=output,
                )
                writer.send(None)
            writer.send(np.ascontiguousarray(rgb))
        if writer is None:
            raise InputError("no frames to encode")
        writer.close()
        if audio is None:
            return video.read_bytes()
        return _with_sound(video, audio, seconds, params)
