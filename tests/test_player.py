"""The live player: commands are applied at the start of a frame and never crash the show."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from mapping.check import check_show
from mapping.gl.trial import default_trials
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.conftest import REPO


@pytest.fixture
def player(ctx):
    # Live, a shader layer is drawn only once its trial frame (another process) is back:
    # these tests compare pictures from the first frame, so the demo's shaders are tried
    # first, in the process-wide service the player uses (earlier tests in the same
    # process used to do it for them, which made them depend on test order).
    assert check_show(REPO / "shows" / "demo", trials=default_trials()).ok
    show = load_show(REPO / "shows" / "demo")
    p = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="clip")
    yield p
    p.renderer.release()


def test_starting_in_a_cue_tracks_every_cue_before_it(player):
    state = {lf.layer.name: lf.opacity for lf in player.engine.tick(0.0).layers}
    assert state == {"sky": 1.0, "clip": 1.0, "logo": 0.0, "warm-wash": 0.0, "tide": 0.5}
    assert player.engine.tick(0.0).cue == "2 clip"


def test_go_fires_the_next_cue_at_the_frame_that_applies_it(player):
    ticket = player.submit("go")
    assert ticket.result is None  # not applied between frames
    player.step(10.0)
    assert ticket.result is not None and ticket.result.ok
    frame = player.engine.tick(10.5)  # the "emblem" cue fades over 1 s
    assert frame.cue == "3 emblem"
    assert {lf.layer.name: lf.opacity for lf in frame.layers}["logo"] == pytest.approx(0.5)
    assert player.outputs.presented == 1


def test_bad_commands_are_logged_and_the_show_goes_on(player, caplog):
    with caplog.at_level(logging.WARNING):
        tickets = [
            player.submit("cue.start", path={"cue": "no-such-cue"}),
            player.submit("output.testpattern", "zebra", path={"output": "left"}),
            player.submit("cue.start", path={"cue": "4"}),
            player.submit("go"),  # past the last cue
            player.submit("master", "loud"),
        ]
        player.step(1.0)
    messages = [t.result.message for t in tickets if t.result is not None]
    assert messages == [
        "cue.start: unknown cue 'no-such-cue'",
        "output.testpattern: unknown pattern 'zebra'; expected one of: grid, checkerboard, "
        "crosshair, colorbars, white, black, reference (or off)",
        "",
        "go: no cue after cue 4 out in list 'main'",
        "master: argument 'level': expected a number in [0, 1], got 'loud'",
    ]
    assert "unknown cue 'no-such-cue'" in caplog.text and "zebra" in caplog.text
    assert player.engine.tick(1.0).cue == "4 out"
    assert player.running


def test_test_patterns_cycle_on_every_output_and_return_to_the_show(player):
    names = player.renderer.output_names()
    seen = []
    for _ in range(len(player.renderer.pattern_kinds()) + 1):
        player.submit("testpattern.cycle", source="key")
        player.step(0.0)
        seen.append(player.renderer.pattern(names[0]))
        assert len({player.renderer.pattern(n) for n in names}) == 1
    assert seen == [*player.renderer.pattern_kinds(), None]


def test_commands_from_other_threads_wait_for_the_next_frame(player):
    threads = [threading.Thread(target=player.submit, args=("go",)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert player.engine.tick(0.0).cue == "2 clip"  # nothing applied between frames
    player.step(2.0)
    assert player.engine.tick(2.0).cue == "4 out"
    player.submit("quit", source="key")
    player.step(2.1)
    assert not player.running


def test_a_frame_that_fails_to_render_is_logged_once_and_the_show_keeps_running(
    player, caplog, monkeypatch
):
    real_render = player.renderer.render
    calls = {"n": 0}

    def flaky(frame):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise RuntimeError("GPU hiccup")
        real_render(frame)

    monkeypatch.setattr(player.renderer, "render", flaky)
    with caplog.at_level(logging.ERROR):
        for i in range(5):
            player.step(i / 30)
    assert player.render_failures == 3
    failures = [r for r in caplog.records if "failed; showing the last one" in r.getMessage()]
    assert len(failures) == 1 and "GPU hiccup" in caplog.text
    assert player.outputs.presented == 5  # every frame still presented (the last good one)
    assert player.running


def test_a_corner_edit_reaches_the_picture_at_the_next_frame(player):
    player.step(0.0)
    before = player.renderer.read_output("left").copy()
    ticket = player.submit(
        "surface.corner", 200.0, 150.0, path={"surface": "left-wing", "corner": 0}
    )
    player.step(1 / 30)
    assert ticket.result is not None and ticket.result.ok, ticket.result
    assert player.renderer.show is player.live.show
    after = player.renderer.read_output("left")
    # the wing's top-left corner moved in by ~100 px: what was lit there is now black
    assert np.abs(after.astype(int) - before.astype(int)).max() > 50
    assert after[60:140, 100:180, :3].mean() < 5


def test_run_steps_one_frame_per_show_clock_reading_until_the_duration(player):
    from mapping.player import ShowClock

    player.clock = ShowClock(now=lambda: player.frames / 30.0)  # 1/30 s per frame drawn
    shown = []
    player.frame_listeners.append(lambda p: shown.append(p.status.show_time_s))
    player.run(fps=30.0, duration_s=0.5)
    # frames at show time 0, 1/30, ... 14/30; the reading 15/30 ends the run
    assert shown == pytest.approx([n / 30.0 for n in range(15)])
    assert player.frames == player.outputs.presented == 15


def test_run_ends_at_the_frame_that_applies_quit(player):
    player.submit("quit", source="key")
    player.run(fps=30.0, duration_s=10.0)
    assert player.frames == 1 and not player.running


def test_frames_are_locked_to_slots_and_a_late_frame_drops_slots_it_never_draws_late(player):
    from mapping.player import ShowClock

    def now() -> float:  # 1/30 s per frame, and frame 5 starts 0.1 s late (3 slots)
        n = player.frames
        return n / 30.0 + (0.1 + 0.004 if n >= 5 else 0.0) + 0.003  # jitter within a slot

    player.clock = ShowClock(now=now)
    shown = []
    player.frame_listeners.append(lambda p: shown.append(round(p.status.show_time_s * 30, 9)))
    player.run(fps=30.0, duration_s=10 / 30)
    assert shown == [0, 1, 2, 3, 4, 8, 9]  # show times exactly n / 30; slots 5, 6, 7 dropped
    assert player.late_frames == 3
