"""Specification of AudioClip: the samples at a media time are a pure function of it.

Clips are encoded here by the ffmpeg CLI from float64 signals; the expected samples are the
ffmpeg CLI's own decode of the same file (resampled by it where the file's rate differs),
or the source signal itself for lossless files.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import av
import numpy as np
import pytest

from mapping.media.audio import KEEP_BEHIND_S, AudioClip
from mapping.media.errors import MediaError
from mapping.media.writer import VideoWriter
from tests.audiokit import CODECS, RATE, encode, ffmpeg_decode, tones
from tests.madeonce import made_once

N = 2 * RATE  # two seconds
# Worst difference from the ffmpeg CLI's decode: the same decoders, so 0 where the whole
# file is decoded in order; after a seek lossy decoders restart (Opus converges within
# its pre-roll to ~4e-4, AAC to ~1e-5).
AFTER_SEEK_TOLERANCE = {"wav": 0.0, "flac": 0.0, "mp3": 0.0, "m4a": 5e-5, "ogg": 1e-6}
AFTER_SEEK_TOLERANCE["opus"] = 1e-3


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return made_once(tmp_path_factory, "test_audio_clip.clips", _make_clips)


def _make_clips(folder: Path) -> dict[str, Path]:
    signal = tones(N)
    paths = {ext: encode(signal, folder / f"tones.{ext}", args) for ext, args in CODECS.items()}
    # a 44.1 kHz file (resampled to 48 kHz on decode) and a mono one
    paths["wav44"] = encode(signal, folder / "tones44.wav", ["-ar", "44100", "-c:a", "pcm_s16le"])
    paths["mono"] = encode(signal[:, :1], folder / "mono.wav", ["-c:a", "pcm_s16le"])
    return paths


@pytest.mark.parametrize("ext", list(CODECS))
def test_reading_in_order_gives_what_ffmpeg_decodes(clips, ext):
    clip = AudioClip(clips[ext])
    assert clip.rate == RATE and clip.channels == 2 and clip.source_rate == RATE
    expected = ffmpeg_decode(clips[ext])
    assert abs(clip.frames - N) <= 1, clip.frames  # the header's length, priming removed
    got = np.concatenate([clip.samples(i, 1000, loop=False) for i in range(0, clip.frames, 1000)])
    n = min(len(expected), clip.frames)
    np.testing.assert_allclose(got[:n], expected[:n], atol=1e-6, rtol=0)
    if ext in ("wav", "flac"):  # lossless: the source itself, to 16-bit quantisation
        np.testing.assert_allclose(got[:N], tones(N), atol=1.0 / 32768 + 1e-7, rtol=0)


@pytest.mark.parametrize("ext", [*CODECS, "wav44"])
def test_random_access_is_sample_exact(clips, ext):
    clip = AudioClip(clips[ext])
    expected = ffmpeg_decode(clips[ext])  # the whole file in order, resampled by ffmpeg
    tolerance = AFTER_SEEK_TOLERANCE.get(ext, 0.0)
    rng = random.Random(7)
    starts = [rng.randrange(0, clip.frames - 600) for _ in range(12)] + [0, 17, N - 600]
    for start in starts:
        got = clip.samples(start, 600, loop=False)
        np.testing.assert_allclose(got, expected[start : start + 600], atol=tolerance + 1e-7)
    assert clip.seek_count >= 5  # the reads went backwards and far ahead: seeks happened


def test_a_44k1_file_is_resampled_to_the_output_rate(clips):
    clip = AudioClip(clips["wav44"])
    assert clip.source_rate == 44100 and clip.rate == RATE
    assert abs(clip.frames - N) <= 1
    got = clip.samples(RATE // 2, 4800, loop=False)
    # the source signal itself, through 16-bit and two resamplings: within 1e-3
    np.testing.assert_allclose(got, tones(N)[RATE // 2 : RATE // 2 + 4800], atol=1e-3)


def test_mono_sounds_on_both_channels(clips):
    clip = AudioClip(clips["mono"])
    got = clip.samples(1000, 2000, loop=False)
    np.testing.assert_array_equal(got[:, 0], got[:, 1])
    np.testing.assert_allclose(got, ffmpeg_decode(clips["mono"])[1000:3000], atol=1e-7)


def test_media_time_maps_to_samples(clips):
    clip = AudioClip(clips["wav"])
    np.testing.assert_array_equal(clip.samples_at(0.5, 100), clip.samples(24000, 100))
    np.testing.assert_array_equal(clip.samples_at(1.0 + 0.4 / RATE, 10), clip.samples(48000, 10))
    assert clip.index_at(1.0 + 0.6 / RATE) == 48001


def test_loop_wraps_and_hold_is_silence(clips):
    clip = AudioClip(clips["wav"])
    total = clip.frames
    whole = clip.samples(0, total, loop=False)
    wrapped = clip.samples(total - 100, 300, loop=True)
    np.testing.assert_array_equal(wrapped[:100], whole[-100:])
    np.testing.assert_array_equal(wrapped[100:], whole[:200])
    np.testing.assert_array_equal(clip.samples(-50, 100, loop=True)[:50], whole[-50:])
    held = clip.samples(total - 100, 300, loop=False)
    np.testing.assert_array_equal(held[:100], whole[-100:])
    assert not held[100:].any()
    before = clip.samples(-50, 100, loop=False)
    assert not before[:50].any()
    np.testing.assert_array_equal(before[50:], whole[:50])
    assert clip.samples(10 * total, 10, loop=False).shape == (10, 2)


def test_memory_stays_bounded_while_playing(clips):
    clip = AudioClip(clips["flac"])
    for start in range(0, clip.frames, 256):
        clip.samples(start, 256, loop=False)
        assert clip.buffered_samples <= KEEP_BEHIND_S * RATE + 2 * 4608 + 256


def test_a_videos_own_sound_lines_up_with_its_first_frame(tmp_path):
    """A clip with picture and sound: media time 0 is the first picture."""
    video = tmp_path / "v.mp4"
    with VideoWriter(video, (32, 24), 25, preset="ultrafast") as writer:
        for _ in range(50):
            writer.write(np.zeros((24, 32, 3), np.uint8))
    sound = encode(tones(N), tmp_path / "s.m4a", CODECS["m4a"])
    both = tmp_path / "both.mp4"
    import subprocess

    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-i", str(sound), "-c", "copy", str(both)],
        check=True,
    )
    clip = AudioClip(both)
    expected = ffmpeg_decode(both)
    np.testing.assert_allclose(clip.samples(0, 48000, loop=False), expected[:48000], atol=1e-6)


# --- bad input ---------------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path):
    with pytest.raises(MediaError, match="file not found") as info:
        AudioClip(tmp_path / "gone.wav")
    assert info.value.path == tmp_path / "gone.wav"


@pytest.mark.parametrize("content", [b"", b"this is not a sound file\n" * 20])
def test_not_audio_is_a_media_error(tmp_path, content):
    path = tmp_path / "fake.mp3"
    path.write_bytes(content)
    with pytest.raises(MediaError) as info:
        AudioClip(path)
    assert info.value.path == path
    assert "expected an audio file" in info.value.reason


def test_a_video_without_sound_says_so(tmp_path):
    path = tmp_path / "silent.mp4"
    with VideoWriter(path, (32, 24), 25, preset="ultrafast") as writer:
        writer.write(np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(MediaError, match="no audio stream, found video") as info:
        AudioClip(path)
    assert info.value.path == path


def test_a_truncated_file_plays_what_is_there_and_warns(clips, tmp_path, caplog):
    data = clips["mp3"].read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 2])
    clip = AudioClip(path)
    with caplog.at_level(logging.WARNING, logger="mapping.media.audio"):
        got = clip.samples(0, clip.frames, loop=False)
    expected = ffmpeg_decode(clips["mp3"])
    np.testing.assert_allclose(got[:20000], expected[:20000], atol=1e-6)
    assert clip.frames < N  # the real end replaced the header's length
    assert any(str(path) in r.getMessage() for r in caplog.records)


def test_closed_clip_refuses_reads(clips):
    clip = AudioClip(clips["wav"])
    clip.close()
    clip.close()
    with pytest.raises(ValueError, match="closed"):
        clip.samples(0, 10)
    assert av.__version__  # PyAV present (the decoder under test)
