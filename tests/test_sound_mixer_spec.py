"""Specification of the mixer's maths (``mapping/sound.py``) with values written out here:
a voice that fades in from inside a block ramps over the rest of the block, in and out
points open the file from its in point, files that cannot sound are named once with their
reason, and frame n starts at the show sample rounded half up."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mapping.show import Canvas, Layer, Output, Show
from mapping.sound import Mixer, SoundFrame, Voice, frame_sample, show_can_sound, sound_frame
from tests.audiokit import RATE, encode

WAV = ["-c:a", "pcm_s16le"]


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s at 0.25, then 1 s at 0.5 (both exact in 16-bit PCM)."""
    folder = tmp_path_factory.mktemp("mixer_spec")
    signal = np.concatenate([np.full((RATE, 2), 0.25), np.full((RATE, 2), 0.5)])
    return encode(signal, folder / "steps.wav", WAV)


def test_a_voice_fading_in_from_inside_a_block_ramps_over_the_rest_of_it(steps: Path):
    mixer = Mixer(RATE, 2)
    voice = Voice("a", steps, 100 / RATE, 0.8, loop=False, fades_in=True)
    mixer.update(SoundFrame(0.0, (voice,)))
    out = mixer.render(0, 500)
    assert out.dtype == np.float32 and out.shape == (500, 2)
    assert not out[:100].any()
    k = np.arange(1, 401)
    np.testing.assert_allclose(out[100:, 0], 0.25 * 0.8 * k / 400, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert mixer.last_block_voices == 1
    # the next block holds it at its gain
    np.testing.assert_allclose(mixer.render(500, 100)[:, 0], 0.25 * 0.8, rtol=1e-6)


def test_a_voice_starting_after_the_block_is_silent_and_not_counted(steps: Path):
    mixer = Mixer(RATE, 2)
    mixer.update(SoundFrame(0.0, (Voice("a", steps, 500 / RATE, 1.0, loop=False),)))
    assert not mixer.render(0, 500).any() and mixer.last_block_voices == 0
    out = mixer.render(500, 10)
    np.testing.assert_allclose(out[:, 0], 0.25, rtol=1e-6)
    assert mixer.last_block_voices == 1


def test_in_and_out_points_open_the_file_from_its_in_point(steps: Path):
    mixer = Mixer(RATE, 2)
    mixer.update(SoundFrame(0.0, (Voice("a", steps, 0.0, 1.0, loop=False, window=(1.0, None)),)))
    np.testing.assert_allclose(mixer.render(0, 200), 0.5, rtol=1e-6)
    assert mixer.errors == {}


def test_files_that_cannot_sound_are_named_once_with_their_reason(tmp_path: Path, caplog):
    missing = tmp_path / "missing.wav"
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file" * 10)
    mixer = Mixer(RATE, 2)
    voices = (
        Voice("a", missing, 0.0, 1.0),  # required: a warning
        Voice("b", broken, 0.0, 1.0, required=False),  # a video's own track: debug only
    )
    mixer.update(SoundFrame(0.0, voices))
    with caplog.at_level(logging.DEBUG, logger="mapping.sound"):
        assert not mixer.render(0, 100).any()
        mixer.render(100, 100)
    assert mixer.last_block_voices == 0
    assert set(mixer.errors) == {str(missing), str(broken)}
    assert mixer.errors[str(missing)] == "file not found"
    assert mixer.errors[str(broken)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(missing) in warnings[0].getMessage()
    assert "file not found; the layer is silent, the show goes on" in warnings[0].getMessage()


def test_frame_sample_rounds_half_up():
    assert frame_sample(3, 5, 1) == 1  # 0.6 samples
    assert frame_sample(1, 2, 1) == 1  # 0.5: up
    assert frame_sample(1, 3, 1) == 0  # 0.33
    assert frame_sample(1, 30000 / 1001, 48000) == 1602  # 1601.6
    assert frame_sample(0, 25, 48000, start_s=0.5) == 24000


def test_a_layer_of_an_unknown_kind_does_not_sound(tmp_path: Path):
    layer = Layer("x", "hologram", tmp_path / "a.wav", 1.0, "normal", (0.0, 0.0, 8.0, 8.0))
    show = Show(tmp_path, "t", Canvas((8, 8)), (Output("o", (8, 8)),), (), (layer,), ())
    assert not show_can_sound(show)


def test_sound_frame_voices_and_preload_written_out(tmp_path: Path):
    import dataclasses

    from mapping.cues import FrameState, LayerFrame, PreviousContent

    region = (0.0, 0.0, 8.0, 8.0)
    picture = Layer("pic", "image", tmp_path / "a.png", 1.0, "normal", region)
    song = Layer("song", "audio", tmp_path / "s.wav", 0.5, "normal", region, False)
    song = dataclasses.replace(song, in_s=0.5, out_s=1.5)
    clip = Layer("clip", "video", tmp_path / "v.mp4", 1.0, "normal", region)
    old = tmp_path / "old.wav"
    frame = FrameState(
        10.0,
        (
            LayerFrame(picture, picture.content, 1.0, 0.0),  # no sound, and before the others
            LayerFrame(song, song.content, 0.5, 4.0, previous=PreviousContent(old, 2.0, 0.25)),
        ),
        master=0.8,
        preload=((clip, clip.content), (picture, picture.content), (song, "#ff0000"), (song, old)),
    )
    sound = sound_frame(frame)
    assert sound.show_time_s == 10.0
    window = (0.5, 1.5)
    assert sound.voices == (
        Voice("song", old, 8.0, 0.5 * 0.8 * 0.25, False, True, window),
        Voice("song", song.content, 6.0, 0.5 * 0.8 * 0.75, False, True, window, fades_in=True),
    )
    # what the standby cue will start: files of kinds that sound, with their own flags
    assert sound.preload == (
        ("clip", clip.content, False, True, (None, None)),
        ("song", old, True, False, window),
    )
    assert sound_frame(frame, paused=True) == SoundFrame(10.0, (), sound.preload)
