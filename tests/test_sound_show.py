"""Audio layers in a show file: loaded, validated, checked (the layer kinds' table)."""

from __future__ import annotations

from pathlib import Path

from mapping.check import check_show
from mapping.gl.context import create_headless_context
from mapping.show import load_show
from mapping.sound import show_can_sound
from tests.audiokit import RATE, encode, tones

AUDIO_LAYER = """
[[layers]]
name = "soundtrack"
kind = "audio"
file = "media/{file}"
loop = false
"""


def add_audio_layer(show_dir: Path, file: str, extra: str = "") -> None:
    toml = show_dir / "show.toml"
    toml.write_text(toml.read_text() + AUDIO_LAYER.format(file=file) + extra)


def test_an_audio_layer_loads_and_checks_clean(show_dir: Path):
    encode(tones(RATE // 2), show_dir / "media" / "sound.flac", ["-c:a", "flac"])
    add_audio_layer(show_dir, "sound.flac")
    show = load_show(show_dir)
    layer = show.layer("soundtrack")
    assert (layer.kind, layer.loop, layer.audio) == ("audio", False, True)
    assert show_can_sound(show)
    report = check_show(show_dir, ctx_factory=create_headless_context)
    assert report.ok, report.problems


def test_check_names_an_audio_file_without_sound(show_dir: Path):
    add_audio_layer(show_dir, "clip.mp4")  # the demo's clip has no sound track
    report = check_show(show_dir, ctx_factory=create_headless_context)
    problems = [p for p in report.problems if p.key_path.endswith(".file")]
    assert len(problems) == 1 and "clip.mp4" in problems[0].message
    assert "audio" in problems[0].message


def test_audio_must_be_true_or_false(show_dir: Path):
    toml = show_dir / "show.toml"
    text = toml.read_text()
    assert 'kind = "video"' in text
    toml.write_text(text.replace('kind = "video"', 'kind = "video"\naudio = "no"', 1))
    report = check_show(show_dir, ctx_factory=create_headless_context)
    assert any(
        p.key_path.endswith(".audio") and "expected true or false" in p.message
        for p in report.problems
    ), report.problems


def test_a_muted_video_does_not_sound(show_dir: Path):
    toml = show_dir / "show.toml"
    toml.write_text(toml.read_text().replace('kind = "video"', 'kind = "video"\naudio = false', 1))
    show = load_show(show_dir)
    assert not any(layer.audio for layer in show.layers if layer.kind == "video")
    assert not show_can_sound(show)


def test_run_without_the_audio_device_warns_and_the_show_plays(show_dir: Path):
    from tests.test_cli import frames_drawn, run_cli

    encode(tones(RATE // 2), show_dir / "media" / "sound.wav", ["-c:a", "pcm_s16le"])
    add_audio_layer(show_dir, "sound.wav")
    result = run_cli(
        "run", str(show_dir), "--headless", "--duration", "0.5", "--fps", "10",
        "--audio-device", "no such device", "--no-cue",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no sound: no audio output 'no such device'" in result.stderr
    assert "the show runs silent" in result.stderr and "Traceback" not in result.stderr
    assert frames_drawn(result.stderr) >= 1  # it played (slots may drop on a loaded machine)
