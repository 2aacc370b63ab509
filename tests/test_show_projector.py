"""Capture patterns through a running show: each one is on the output, pixel for pixel,
before the projector says it is shown; bad sizes and locked shows are refused clearly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.show_projector import ShowProjector
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show

SHOW = """schema_version = 1
[canvas]
size = [48, 32]
[[outputs]]
name = "beamer"
resolution = [48, 32]
[[surfaces]]
name = "wall"
output = "beamer"
polygon = [[0, 0], [48, 0], [48, 32], [0, 32]]
corners = [[0, 0], [48, 0], [48, 32], [0, 32]]
[[layers]]
name = "wash"
kind = "solid"
color = "#336699"
"""


@pytest.fixture
def player(ctx, tmp_path):
    (tmp_path / "show.toml").write_text(SHOW)
    p = ShowPlayer(load_show(tmp_path), HeadlessOutputs(ctx))
    yield p
    p.renderer.release()


def drive(player: ShowPlayer, work) -> list:
    """Run ``work(projector)`` on a worker thread while this (the GL) thread renders."""
    errors: list = []
    done = threading.Event()

    def worker():
        try:
            work()
        except Exception as exc:  # handed back to the test
            errors.append(exc)
        finally:
            done.set()

    threading.Thread(target=worker, daemon=True).start()
    t = 0.0
    while not done.is_set() and t < 300:
        player.step(t)
        t += 1 / 60
    return errors


def test_each_pattern_is_on_the_output_exactly_when_show_returns(player):
    rng = np.random.default_rng(7)
    patterns = [rng.integers(0, 256, (32, 48), dtype=np.uint8) for _ in range(3)]
    on_output = []
    player.frame_listeners.append(
        lambda p: on_output.append(p.renderer.read_output("beamer")[..., :3].copy())
    )
    projector = ShowProjector(player, "beamer", frames=2)
    seen_when_returned = []

    def work():
        for pattern in patterns:
            projector.show(pattern)
            seen_when_returned.append(on_output[-1])
        projector.close()

    assert drive(player, work) == []
    for pattern, seen in zip(patterns, seen_when_returned, strict=True):
        np.testing.assert_array_equal(seen, np.repeat(pattern[:, :, None], 3, axis=2))
    assert player.live.patterns["beamer"] is None  # back to the show
    np.testing.assert_allclose(on_output[-1][5, 5], [0x33, 0x66, 0x99], atol=1)


def test_a_pattern_of_the_wrong_size_names_the_projector_size_to_use(player):
    projector = ShowProjector(player, "beamer")
    with pytest.raises(CalibrationError, match="use --projector 48x32"):
        projector.show(np.zeros((30, 40), np.uint8))


def test_a_locked_show_refuses_patterns_with_the_reason(player):
    player.live.locked = True
    projector = ShowProjector(player, "beamer", timeout_s=2.0)
    errors = drive(player, lambda: projector.show(np.zeros((32, 48), np.uint8)))
    assert len(errors) == 1 and "locked" in str(errors[0])


def test_an_unknown_output_is_named_with_the_shows_outputs(player):
    with pytest.raises(CalibrationError, match="no output 'left'; its outputs: beamer"):
        ShowProjector(player, "left")


def test_output_image_refuses_files_outside_the_show_folder(player, tmp_path):
    result = player.submit("output.image", "../elsewhere.png", path={"output": "beamer"})
    player.step(0.0)
    assert result.result is not None and not result.result.ok
    assert "inside the show folder" in result.result.message


def as_seen(pattern: np.ndarray) -> np.ndarray:
    """What the mirror camera makes of a pattern: its levels squeezed into 30..210."""
    return (30 + (np.asarray(pattern, np.float64) * 180 / 255)).round().astype(np.uint8)


class MirrorCamera:
    """A camera that sees what was last put on the output (grey, not saturated)."""

    def __init__(self, projector_images: list) -> None:
        self.images = projector_images

    size = (48, 32)

    def open(self) -> None:
        pass

    def grab(self) -> np.ndarray:
        return as_seen(self.images[-1])

    def close(self) -> None:
        pass


def test_capture_in_show_runs_the_show_and_captures_every_pattern(ctx, tmp_path, monkeypatch):
    from calibration import show_projector
    from calibration.structured_light import generate_patterns, native_layout

    (tmp_path / "show.toml").write_text(SHOW)
    layout = native_layout((48, 32))
    patterns = generate_patterns(layout)
    shown: list = []
    real_show = show_projector.ShowProjector.show

    def spy(self, image):
        real_show(self, image)
        shown.append(np.asarray(image, np.uint8))

    monkeypatch.setattr(show_projector.ShowProjector, "show", spy)
    captures, stats = show_projector.capture_in_show(
        tmp_path,
        "beamer",
        patterns,
        MirrorCamera(shown),
        layout,
        settle_s=0.0,
        outputs=HeadlessOutputs(ctx),
        fps=240.0,
    )
    assert len(captures) == len(patterns) and stats.retakes == 0
    for capture, pattern in zip(captures, patterns, strict=True):
        np.testing.assert_array_equal(capture, as_seen(pattern))
