"""A running show picks up edited files: a new calibration swaps in at a frame boundary, a
broken edit is refused and the show keeps its last good state (real files, real watcher)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.reload import ShowWatcher
from mapping.show import load_show


def step_until(player: ShowPlayer, condition, timeout_s: float = 5.0) -> bool:
    """Step frames (show time 0.1 s apart) until ``condition()`` or the timeout."""
    deadline = time.monotonic() + timeout_s
    t = 0.0
    while time.monotonic() < deadline:
        player.step(t)
        if condition():
            return True
        t += 0.1
        time.sleep(0.02)
    return False


@pytest.fixture
def watched(ctx, show_dir):
    player = ShowPlayer(load_show(show_dir), HeadlessOutputs(ctx), start_cue="2")
    watcher = ShowWatcher(player, debounce_s=0.05).start()
    yield player, show_dir
    watcher.close()
    player.renderer.release()


def test_a_saved_calibration_reaches_the_running_show(watched):
    player, show_dir = watched
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    venue.write_text(venue.read_text().replace("-1073.693598163", "-1033.693598163"))

    def moved() -> bool:
        H = player.renderer.show.surface("right-wing").H_canvas_to_projector
        return bool(np.isclose(H[0, 2] / H[2, 2], -1033.693598163))

    assert step_until(player, moved)
    assert player.live.engine.current_cue().label == "2 clip"  # the cues carried on


def test_a_broken_edit_is_refused_and_the_show_keeps_running(watched, caplog):
    player, show_dir = watched
    before = player.live.show
    show_file = show_dir / "show.toml"
    show_file.write_text(show_file.read_text().replace('kind = "image"', 'kind = "imag"'))
    assert step_until(
        player, lambda: "show.reload: the show keeps running as it was" in caplog.text
    )
    assert "kind" in caplog.text and player.live.show is before
    frames = player.frames
    player.step(10.0)
    assert player.frames == frames + 1
