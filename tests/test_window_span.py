"""One window spanning a projector wall, an output in each viewport, under Xvfb with a wide
virtual screen (as graphics cards present a wall: one desktop over several projectors);
and a display that is missing, reported by name while the other outputs keep running."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mapping.outputs import span_layout
from mapping.show import Output
from tests.xvfbkit import xvfb

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wide_display() -> Iterator[str]:
    """A private Xvfb server with one 320×120 screen: two 160×120 projectors side by side."""
    with xvfb("320x120x24") as display:
        yield display


def _probe(display: str, tmp_path: Path, mode: str) -> dict:
    result = tmp_path / "span.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.span_probe", str(result), str(tmp_path), mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DISPLAY": display},
    )
    assert proc.returncode == 0, proc.stderr
    assert "output 'far': display 3 is missing" in proc.stderr  # logged by name
    return dict(np.load(result))


def test_one_window_spans_the_wall_with_each_output_in_its_viewport(wide_display, tmp_path):
    data = _probe(wide_display, tmp_path, "span")
    assert int(data["windows"]) == 1
    screen = data["first"]
    assert screen.shape == (120, 320, 3)
    assert data["left"].any() and data["right"].any()
    assert not np.array_equal(data["left"], data["right"])
    np.testing.assert_array_equal(screen[:, :160], data["left"])
    np.testing.assert_array_equal(screen[:, 160:], data["right"])
    missing = [str(m) for m in data["missing"]]
    assert any("output 'far': display 3 is missing" in m for m in missing), missing
    assert data["far"].any()  # still rendered (monitoring), only not shown


def test_with_a_window_per_output_a_missing_display_leaves_the_others_running(
    wide_display, tmp_path
):
    data = _probe(wide_display, tmp_path, "windows")
    assert int(data["windows"]) == 2  # left and right; far has none
    np.testing.assert_array_equal(data["first"], data["left"])
    np.testing.assert_array_equal(data["second"], data["right"])
    assert any("output 'far': display 3 is missing" in str(m) for m in data["missing"])


def test_span_layout_places_outputs_by_display_and_position():
    screens = [(0, 0, 1920, 1080), (1920, 0, 1920, 1080)]
    outs = (
        Output("a", (1920, 1080), 0, (0, 0)),
        Output("b", (960, 1080), 1, (0, 0)),
        Output("c", (960, 1080), 1, (960, 0)),
        Output("d", (800, 600), 2, (0, 0)),
    )
    rect, viewports, missing = span_layout(outs, screens, (0, 1, 2))
    assert rect == (0, 0, 3840, 1080)
    assert [(o.name, v) for o, v in viewports] == [
        ("a", (0, 0, 1920, 1080)),
        ("b", (1920, 0, 960, 1080)),
        ("c", (2880, 0, 960, 1080)),
    ]
    assert any("display 2 (of the span) is missing" in m for m in missing)
    assert any("output 'd': display 2 is missing" in m for m in missing)


def test_the_span_show_key(show_dir):
    from mapping.errors import ValidationError
    from mapping.show import load_show

    text = (show_dir / "show.toml").read_text()
    (show_dir / "show.toml").write_text(
        text.replace("[blend]", "[span]\ndisplays = [0, 1]\n\n[blend]", 1)
    )
    assert load_show(show_dir).span == (0, 1)
    (show_dir / "show.toml").write_text(
        text.replace("[blend]", "[span]\ndisplays = [0]\n\n[blend]", 1)
    )
    with pytest.raises(ValidationError) as info:
        load_show(show_dir)
    (problem,) = info.value.problems
    assert problem.key_path == "outputs[1].display" and "outside the span [0]" in problem.message
    (show_dir / "show.toml").write_text(
        text.replace("[blend]", "[span]\ndisplays = 0\n\n[blend]", 1)
    )
    with pytest.raises(ValidationError, match="display numbers like"):
        load_show(show_dir)
