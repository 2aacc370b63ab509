"""The soundtrack as a function of show time: cue engine → SoundFrame → Mixer (no device).

Shows are built as dataclasses with ``audio`` layers; the offline loop here is the one the
recorder uses (frame n's state, then the samples of the span before it). Expected samples
are the ffmpeg CLI's decode of the same files, placed at show samples computed here with
integer maths.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine, FrameState, LayerFrame, PreviousContent
from mapping.media.writer import VideoWriter
from mapping.show import Canvas, Cue, Layer, LayerChange, Output, Show
from mapping.sound import Mixer, SoundFrame, Voice, frame_sample, sound_frame
from tests.audiokit import RATE, click_track, encode, ffmpeg_decode, onsets

FPS = 30


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sound")
    wav = ["-c:a", "pcm_s16le"]
    t = np.arange(3 * RATE) / RATE
    sine = 0.8 * np.sin(2 * np.pi * 100 * t)
    video = folder / "silent.mp4"
    with VideoWriter(video, (32, 24), 25, preset="ultrafast") as writer:
        writer.write(np.zeros((24, 32, 3), np.uint8))
    broken = folder / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file" * 10)
    return {
        "clicks": encode(click_track(RATE, [0]), folder / "clicks.wav", wav),  # 1 s, loops
        "dc": encode(np.full((3 * RATE, 2), 0.5), folder / "dc.wav", wav),
        "dc2": encode(np.full((3 * RATE, 2), -0.25), folder / "dc2.wav", wav),
        "sine": encode(np.stack([sine, sine], 1), folder / "sine.wav", wav),
        "silent_video": video,
        "broken": broken,
    }


def make_show(root: Path, layers: tuple[Layer, ...], cues: tuple[Cue, ...]) -> Show:
    return Show(root, "sound", Canvas((64, 48)), (Output("out", (64, 48)),), (), layers, cues)


def audio_layer(name: str, path: Path, opacity: float = 1.0, loop: bool = True) -> Layer:
    return Layer(name, "audio", path, opacity, "normal", (0.0, 0.0, 64.0, 48.0), loop)


def render_offline(engine: CueEngine, seconds: float, actions=None, fps: int = FPS) -> np.ndarray:
    """The recorder's loop: state of frame k, then the samples of [frame k-1, frame k)."""
    mixer = Mixer(RATE, 2)
    frames = round(seconds * fps)
    blocks = []
    for k in range(frames + 1):
        t = k / fps
        for at, action in actions or ():
            if at == k:
                action(t)
        mixer.update(sound_frame(engine.tick(t), paused=engine.paused))
        if k:
            a, b = frame_sample(k - 1, fps, RATE), frame_sample(k, fps, RATE)
            blocks.append(mixer.render(a, b - a))
    mixer.close()
    return np.concatenate(blocks)


def test_go_starts_the_sound_at_its_exact_show_sample(files, tmp_path):
    """GO at 1.0 s with a 12.3 ms pre-wait: the clicks start at sample 48590, between two
    frames, and every second after that (the 1-s file loops) exactly."""
    layer = audio_layer("snd", files["dc"], opacity=0.0)
    cue = Cue("hit", {"snd": LayerChange(opacity=1.0, content=files["clicks"])}, prewait_s=0.0123)
    engine = CueEngine(make_show(tmp_path, (layer,), (cue,)))
    out = render_offline(engine, 4.0, [(FPS, engine.go)])
    start = round(1.0123 * RATE)
    assert not out[:start].any()  # the dc file played at opacity 0: silence
    clicks = ffmpeg_decode(files["clicks"])
    for k in range(2):  # two whole loops, sample for sample
        np.testing.assert_array_equal(out[start + k * RATE : start + (k + 1) * RATE], clicks)
    assert onsets(out) == [start, start + RATE, start + 2 * RATE]


def test_fades_and_master_shape_the_gain(files, tmp_path):
    """A 1-s linear fade in of a 0.5 DC file under master 0.5: the level rises linearly
    (block ramps between frame states interpolate a linear fade exactly, to a sample)."""
    layer = audio_layer("snd", files["dc"], opacity=0.0)
    cue = Cue("up", {"snd": LayerChange(opacity=1.0)}, fade_s=1.0)
    engine = CueEngine(make_show(tmp_path, (layer,), (cue,)))
    mixer = Mixer(RATE, 2)
    blocks = []
    engine.go(0.5)
    for k in range(1, 2 * FPS + 1):
        state = engine.tick(k / FPS)
        mixer.update(sound_frame(FrameState(state.show_time_s, state.layers, master=0.5)))
        a, b = frame_sample(k - 1, FPS, RATE), frame_sample(k, FPS, RATE)
        blocks.append(mixer.render(a, b - a))
    out = np.concatenate(blocks)[:, 0].astype(np.float64)
    s = np.arange(len(out)) / RATE
    # the first block (before the first state) is silent; after it, the fade itself
    expected = 0.25 * np.clip(s - 0.5, 0.0, 1.0)
    np.testing.assert_allclose(out[1600:], expected[1600:], atol=0.25 / RATE * 2 + 2e-7)


def test_a_crossfade_sounds_both_files_with_complementary_gains(files, tmp_path):
    layer = audio_layer("snd", files["dc"])
    cue = Cue("x", {"snd": LayerChange(content=files["dc2"])}, fade_s=1.0)
    engine = CueEngine(make_show(tmp_path, (layer,), (cue,)))
    out = render_offline(engine, 2.5, [(15, engine.go)])[:, 0].astype(np.float64)
    s = np.arange(len(out)) / RATE
    w = np.clip(s - 0.5, 0.0, 1.0)  # share of the new file
    np.testing.assert_allclose(out, 0.5 * (1 - w) - 0.25 * w, atol=0.75 / RATE * 2 + 2e-7)


def test_a_cut_never_clicks(files, tmp_path):
    """Opacity 1 → 0 with no fade on a 100 Hz sine: it ramps out over one block."""
    layer = audio_layer("snd", files["sine"])
    cue = Cue("cut", {"snd": LayerChange(opacity=0.0)})
    engine = CueEngine(make_show(tmp_path, (layer,), (cue,)))
    out = render_offline(engine, 2.0, [(31, engine.go)])[:, 0].astype(np.float64)
    natural = 0.8 * 2 * np.pi * 100 / RATE  # the sine's own steepest step
    assert np.abs(np.diff(out)).max() <= natural * 1.05
    cut = frame_sample(31, FPS, RATE)
    assert np.abs(out[cut - 1600 : cut - 1000]).max() > 0.7  # sounding before the cut
    assert not out[cut + 1600 :].any()  # and silent one block after it


def test_pause_silences_and_resume_continues_where_it_was(files, tmp_path):
    layer = audio_layer("snd", files["clicks"])
    engine = CueEngine(make_show(tmp_path, (layer,), ()))
    out = render_offline(engine, 3.0, [(15, engine.pause), (45, engine.resume)])
    # clicks at 0 and, after 1 s paused from 0.5 s, at media time 1.0 = show time 2.0
    assert onsets(out) == [0, 2 * RATE]
    assert not out[frame_sample(16, FPS, RATE) : frame_sample(45, FPS, RATE)].any()


def test_a_broken_file_is_a_warning_and_the_others_play(files, tmp_path, caplog):
    layers = (audio_layer("bad", files["broken"]), audio_layer("good", files["clicks"]))
    engine = CueEngine(make_show(tmp_path, layers, ()))
    with caplog.at_level(logging.WARNING, logger="mapping.sound"):
        out = render_offline(engine, 1.5)
    assert onsets(out) == [0, RATE]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(files["broken"]) in warnings[0]


def test_a_video_without_sound_is_silent_without_a_warning(files, tmp_path, caplog):
    layer = Layer("v", "video", files["silent_video"], 1.0, "normal", (0.0, 0.0, 64.0, 48.0))
    engine = CueEngine(make_show(tmp_path, (layer,), ()))
    with caplog.at_level(logging.WARNING):
        out = render_offline(engine, 0.5)
    assert not out.any()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_video_layer_plays_its_own_sound_unless_muted(files, tmp_path):
    both = tmp_path / "with_sound.mp4"
    inputs = ["-i", str(files["silent_video"]), "-i", str(files["clicks"])]
    subprocess.run(
        ["ffmpeg", "-v", "error", *inputs, "-c:v", "copy", "-c:a", "aac", str(both)], check=True
    )
    region = (0.0, 0.0, 64.0, 48.0)
    for audio, expected in ((True, [0]), (False, [])):
        layer = Layer("v", "video", both, 1.0, "normal", region, loop=False, audio=audio)
        engine = CueEngine(make_show(tmp_path, (layer,), ()))
        out = render_offline(engine, 0.5)
        assert onsets(out) == expected
    np.testing.assert_allclose(out, 0.0)


def test_sound_frame_takes_gains_offsets_and_crossfade_shares():
    a, b = Path("/a.wav"), Path("/b.wav")
    layer = audio_layer("snd", a, loop=False)
    image = Layer("img", "image", Path("/i.png"), 1.0)
    frame = FrameState(
        10.0,
        (
            LayerFrame(layer, b, 0.8, 2.5, previous=PreviousContent(a, 7.0, 0.25)),
            LayerFrame(image, Path("/i.png"), 1.0, 10.0),
        ),
        master=0.5,
    )
    got = sound_frame(frame)
    assert got.voices == (
        Voice("snd", a, 3.0, 0.8 * 0.5 * 0.25, False),
        Voice("snd", b, 7.5, 0.8 * 0.5 * 0.75, False, fades_in=True),
    )
    assert sound_frame(frame, paused=True).voices == ()


def test_a_voice_joined_late_ramps_in(files):
    """Live: the snapshot saying a sound started 0.5 s ago arrives now; the mixer takes it
    at its media time 0.5 s, ramping in over the block instead of starting with a click."""
    mixer = Mixer(RATE, 2)
    mixer.update(SoundFrame(10.5, (Voice("s", files["dc"], 10.0, 1.0),)))
    block = mixer.render(round(10.6 * RATE), 480)[:, 0]
    np.testing.assert_allclose(block, 0.5 * np.arange(1, 481) / 480, atol=1e-6)
    np.testing.assert_allclose(mixer.render(round(10.6 * RATE) + 480, 480)[:, 0], 0.5)


def test_live_sounds_are_decoded_ahead_and_a_standby_sound_starts_exactly(files):
    """Live: the standby cue's sound is opened and decoded before GO; the callback's blocks
    then get every sample from memory (no miss) from the first one."""
    mixer = Mixer(RATE, 2, live=True)
    try:
        mixer.update(SoundFrame(0.0, (), preload=(("s", files["clicks"], True, True),)))
        assert mixer.wait_ready()
        assert mixer.open_files() == [files["clicks"]]
        mixer.update(SoundFrame(0.0, (Voice("s", files["clicks"], 0.0, 1.0),)))
        blocks = []
        for k in range(0, RATE + 512, 256):  # like a callback: 256 at a time
            blocks.append(mixer.render(k, 256))
            time.sleep(0.0002)
        assert onsets(np.concatenate(blocks)) == [0, RATE]
        assert mixer.misses == 0
    finally:
        mixer.close()


def test_live_a_voice_joined_without_preroll_comes_in_late_but_in_sync(files):
    """A sound that started half a second ago, never pre-rolled: the first blocks are silent
    (the feeder opens the file, seeks), then the clicks sound exactly where the show clock
    puts them (the 1-s file loops: media 0 at show samples -24000 + k × 48000)."""
    mixer = Mixer(RATE, 2, live=True)
    try:
        mixer.update(SoundFrame(0.0, (Voice("s", files["clicks"], -0.5, 1.0),)))
        blocks = []
        for k in range(0, 3 * RATE // 2, 256):
            blocks.append(mixer.render(k, 256))
            time.sleep(256 / RATE)  # about real time, as a callback would ask
        out = np.concatenate(blocks)
        assert mixer.misses > 0  # it did come in late
        assert not out[:256].any()  # not decoded yet: silence, no waiting
        found = onsets(out)
        assert found and found[-1] == RATE // 2 + RATE  # the loop's click, on its sample
        assert all((i - RATE // 2) % RATE == 0 for i in found)
    finally:
        mixer.close()


def test_frame_samples_are_exact_for_fractional_rates():
    # 29.97 fps = 30000/1001: frame 30000 starts at exactly 1001 s
    assert frame_sample(30000, 29.97002997, RATE) == 1001 * RATE
    assert frame_sample(2997, 29.97, RATE) == 100 * RATE  # 29.97 itself is 2997/100
    assert frame_sample(1, 30, RATE) == 1600
    assert frame_sample(0, 25, RATE, start_s=2.5) == 120000
