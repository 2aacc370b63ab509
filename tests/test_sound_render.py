"""``render --video`` writes the soundtrack into the MP4, sample-exact with the frames.

The written file is read back by the ffmpeg CLI (which honours the AAC priming recorded in
the MP4's edit list); the expected sample positions are computed here from the cue's time.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np

from mapping.recorder import render_show
from mapping.show import Cue, Layer, LayerChange
from tests.audiokit import RATE, click_track, encode, ffmpeg_decode, onsets
from tests.showkit import single_surface_show, textured_image

FPS = 30


def stream_durations(path: Path) -> dict[str, float]:
    entries = ["-show_entries", "stream=codec_type,duration", "-of", "json"]
    out = subprocess.run(
        ["ffprobe", "-v", "error", *entries, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {s["codec_type"]: float(s["duration"]) for s in json.loads(out)["streams"]}


def test_a_sound_started_by_go_lands_on_its_sample_in_the_mp4(ctx, tmp_path):
    wav = ["-c:a", "pcm_s16le"]
    clicks = encode(click_track(RATE, [0, 12000]), tmp_path / "clicks.wav", wav)
    silence = encode(np.zeros((RATE, 2)), tmp_path / "silence.wav", wav)
    show = single_surface_show(tmp_path, textured_image(64, 48), np.eye(3), (64, 48))
    layer = Layer("snd", "audio", silence, 1.0, "normal", (0.0, 0.0, 64.0, 48.0), loop=False)
    cue = Cue("hit", {"snd": LayerChange(content=clicks)}, number="1", prewait_s=0.0123)
    show = dataclasses.replace(show, layers=(*show.layers, layer), cues=(cue,))

    result = render_show(
        ctx,
        show,
        tmp_path / "out",
        frames=2 * FPS,
        fps=FPS,
        video=True,
        pngs=False,
        progress=False,
        before=lambda player: player.submit("go", at_show_time_s=1.0),
    )
    mp4 = result.videos["out"]
    sound = ffmpeg_decode(mp4)
    go = round(1.0123 * RATE)  # GO at frame 30 (1.0 s), then the 12.3 ms pre-wait
    assert onsets(sound) == [go, go + 12000]
    # the click itself, through the encoder
    expected = click_track(RATE, [0])[:48]
    np.testing.assert_allclose(sound[go : go + 48], expected, atol=0.03)
    assert np.abs(sound[: go - 64]).max() < 0.01  # silence before it (AAC's own noise)
    assert stream_durations(mp4)["video"] == 2.0
    # the soundtrack is lossless FLAC in the (fragmented) render MP4: exactly the frames' span
    assert len(sound) == 2 * RATE
    assert not result.layer_errors


def test_a_show_without_sound_gets_no_audio_stream(ctx, tmp_path):
    show = single_surface_show(tmp_path, textured_image(64, 48), np.eye(3), (64, 48))
    result = render_show(
        ctx, show, tmp_path / "out", frames=3, fps=FPS, video=True, pngs=False, progress=False
    )
    assert set(stream_durations(result.videos["out"])) == {"video"}
