"""Audio test material: signals computed in float64 numpy, encoded by the ffmpeg CLI, and
decoded back by the ffmpeg CLI as the independent reference for what the project decodes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

RATE = 48000

FFMPEG = shutil.which("ffmpeg")

# extension → ffmpeg encoder arguments
CODECS: dict[str, list[str]] = {
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus", "-b:a", "128k"],
}


def tones(n: int, rate: int = RATE) -> np.ndarray:
    """float64 ``(n, 2)``: 440 Hz plus a 200→500 Hz chirp left, 660 Hz right (tonal, so lossy
    codecs decode it the same after a seek; noise would go through AAC's noise substitution)."""
    t = np.arange(n) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * (200 * t + 75 * t * t))
    right = 0.3 * np.sin(2 * np.pi * 660 * t + 0.5)
    return np.stack([left, right], axis=1)


def encode(signal: np.ndarray, path: Path, args: list[str], rate: int = RATE) -> Path:
    """Encode float ``(n, channels)`` at ``rate`` with the ffmpeg CLI into ``path``."""
    assert FFMPEG, "ffmpeg CLI needed (scripts/setup.sh installs it)"
    channels = signal.shape[1]
    raw_in = ["-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", "-"]
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", *raw_in, *args, str(path)],
        input=np.ascontiguousarray(signal, dtype=np.float32).tobytes(),
        check=True,
    )
    return path


def ffmpeg_decode(path: Path, rate: int = RATE, channels: int = 2) -> np.ndarray:
    """The ffmpeg CLI's own decode of ``path``: float32 ``(n, channels)`` at ``rate``."""
    assert FFMPEG
    raw_out = ["-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-"]
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-vn", *raw_out],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, channels)


def click_track(n: int, clicks: list[int], rate: int = RATE, length: int = 48) -> np.ndarray:
    """float64 ``(n, 2)``: silence with a 1 kHz burst of ``length`` samples (raised-cosine
    envelope, peak 0.8) starting at each sample index in ``clicks``."""
    out = np.zeros((n, 2))
    k = np.arange(length)
    burst = 0.8 * np.sin(2 * np.pi * 1000 * k / rate) * np.sin(np.pi * (k + 0.5) / length)
    burst[0] = 0.8  # a sharp first sample: the onset is unambiguous
    for c in clicks:
        m = min(length, n - c)
        out[c : c + m] += burst[:m, None]
    return out


def onsets(signal: np.ndarray, threshold: float = 0.2, gap: int = 2400) -> list[int]:
    """Sample indices where ``|signal|`` first exceeds ``threshold`` after ``gap`` quiet ones."""
    loud = np.flatnonzero(np.abs(signal).max(axis=1) > threshold)
    found: list[int] = []
    for i in loud:
        if not found or i - found[-1] > gap:
            found.append(int(i))
    return found
