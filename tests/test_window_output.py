"""A real projector window (pyglet, under Xvfb) shows exactly what the headless path renders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.xvfbkit import xvfb

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb server; the test fails when Xvfb is missing."""
    with xvfb("640x480x24") as display:
        yield display


@pytest.mark.parametrize(
    ("mode", "size"),
    [("windowed", (160, 120)), ("fullscreen", (640, 480))],  # the Xvfb screen is 640×480
)
def test_a_projector_window_shows_the_rendered_output_pixel_for_pixel(
    xvfb_display, tmp_path, mode, size
):
    result = tmp_path / "window.npz"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.window_probe",
            str(result),
            str(tmp_path),
            mode,
            f"{size[0]}x{size[1]}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DISPLAY": xvfb_display},
    )
    assert proc.returncode == 0, proc.stderr
    data = np.load(result)
    on_screen, offscreen = data["on_screen"], data["offscreen"]
    assert on_screen.shape == offscreen.shape == (size[1], size[0], 3)
    assert offscreen.any(), "the frame must not be empty"
    np.testing.assert_array_equal(on_screen, offscreen)
    # a still picture is not drawn again, and the window keeps showing it (no flicker)
    assert int(data["drawn_while_held"]) == 0
    np.testing.assert_array_equal(data["held"], offscreen)


def test_letterbox_keeps_the_output_aspect_ratio():
    from mapping.outputs import letterbox

    assert letterbox((1280, 720), (1280, 720)) == (0, 0, 1280, 720)
    assert letterbox((1280, 720), (640, 480)) == (0, 60, 640, 360)
    assert letterbox((1000, 1000), (1600, 900)) == (350, 0, 900, 900)


def test_displays_lists_the_screens_outputs_can_name(xvfb_display):
    proc = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), "displays"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DISPLAY": xvfb_display},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "display = 0: 640×480 at (0, 0)"


def test_an_output_is_fullscreen_on_its_display_or_a_window_at_its_position_there():
    from mapping.outputs import projector_placement
    from mapping.show import Output

    display_1 = (1920, 0, 3840, 1080)  # a splitter: one wide desktop, two projectors
    assert projector_placement(Output("o", (3840, 1080), 1, (0, 0)), display_1) is None
    assert projector_placement(Output("a", (1920, 1080), 1, (0, 0)), display_1) == (
        1920,
        0,
        1920,
        1080,
    )
    assert projector_placement(Output("b", (1920, 1080), 1, (1920, 0)), display_1) == (
        3840,
        0,
        1920,
        1080,
    )
