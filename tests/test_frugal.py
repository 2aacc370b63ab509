"""Nothing is spent on a picture that does not change: a frame whose state is the one last
drawn, with no source moving by itself, is neither rendered nor presented."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import Layer, load_show
from tests.osc_kit import OSC_SHOW
from tests.showkit import single_surface_show, textured_image


@pytest.fixture
def still(ctx, tmp_path):
    """An image layer and nothing else: a still picture."""
    show = single_surface_show(tmp_path, textured_image(32, 24), np.eye(3), (32, 24))
    player = ShowPlayer(show, HeadlessOutputs(ctx))
    yield player
    player.renderer.release()


def _run(player: ShowPlayer, times) -> int:
    before = player.outputs.presented
    for t in times:
        player.step(t)
    return player.outputs.presented - before


def test_a_still_picture_is_drawn_once_then_held(still):
    assert _run(still, [0.0]) == 1
    picture = still.renderer.read_output("out").copy()
    assert _run(still, [n / 30 for n in range(1, 60)]) == 0
    assert still.frames == 60 and still.drawn == 1
    np.testing.assert_array_equal(still.renderer.read_output("out"), picture)


def test_a_command_a_fade_and_a_pattern_are_drawn_then_held_again(still):
    _run(still, [0.0, 0.1])
    still.submit("layer.opacity", 0.5, 1.0, path={"layer": "img"}, source="test")  # 1 s fade
    drawn = _run(still, [0.2 + n / 10 for n in range(15)])  # 0.2 .. 1.6 s
    # at 0.2 s the fade starts from the opacity already drawn; 0.3 .. 1.2 s each differ
    assert drawn == 10
    ticket = still.submit("output.testpattern", "grid", path={"output": "out"}, source="test")
    assert _run(still, [1.7, 1.8, 1.9]) == 1
    assert ticket.result is not None and ticket.result.ok
    still.always_draw = True
    assert _run(still, [2.0, 2.1]) == 2


def test_a_show_of_solid_colours_is_held_between_cues(ctx):
    show = load_show(OSC_SHOW)
    player = ShowPlayer(show, HeadlessOutputs(ctx), start_cue="1")
    try:
        _run(player, [0.0, 0.1])
        assert _run(player, [0.2, 0.3, 0.4]) == 0  # solids only: held
    finally:
        player.renderer.release()


def test_a_playing_clip_moves_and_a_clip_held_on_its_last_frame_does_not(ctx, show_dir):
    show = load_show(show_dir)
    clip = next(layer for layer in show.layers if layer.kind == "video")
    player = ShowPlayer(show, HeadlessOutputs(ctx))
    try:
        source_frame = player.live.frame(0.0)
        lf = next(lf for lf in source_frame.layers if lf.layer.name == clip.name)
        player.live.engine.set_opacity(clip.name, 1.0, 0.0)
        _run(player, [0.0])
        key = player.renderer._source_key(clip, lf.content)
        source = player.renderer._sources[key]
        period = 1.0 / source.fps
        assert not source.animating(0.0)  # frame 0 is on the texture
        assert not source.animating(period * 0.9)  # still frame 0's interval
        assert source.animating(period * 1.01)  # frame 1 is due
        duration = source.duration_s
        assert not source.animating(duration * 10)  # looping: frame 0 again
        held = Layer(**{**clip.__dict__, "loop": False})
        source.layer = held
        assert source.animating(duration / 2) and source.animating(duration + 1.0)
        # draws the last frame (live, once the decode-ahead worker has it: a jump to the
        # end is a seek, and until then the old frame stays up and the source animates)
        player.step(duration + 1.0)
        deadline = time.monotonic() + 5.0
        while source.animating(duration + 1.0) and time.monotonic() < deadline:
            time.sleep(0.01)
            player.step(duration + 1.0)
        assert not source.animating(duration + 2.0)  # and holds it
    finally:
        player.renderer.release()
