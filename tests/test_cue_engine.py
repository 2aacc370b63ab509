"""The cue engine, as operators use it: GO, BACK, GOTO, waits, follows, fades, pause, panic.

Every test drives the engine with a manual show clock and checks exact values, frame by
frame where a fade is involved. Expected values are written from the definitions (linear
interpolation, the curve formulas), never computed with the engine's own helpers.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.cues import CueEngine, Fade, ease
from mapping.show import Show, load_show

FPS = 30

SHOW = """
schema_version = 1
name = "cue-spec"
[canvas]
size = [64, 48]
[[outputs]]
name = "left"
resolution = [64, 48]
[[outputs]]
name = "right"
resolution = [64, 48]
[[surfaces]]
name = "wall"
output = "left"
polygon = [[0, 0], [64, 0], [64, 48], [0, 48]]
corners = [[0, 0], [64, 0], [64, 48], [0, 48]]
[[surfaces]]
name = "door"
output = "right"
polygon = [[0, 0], [64, 0], [64, 48], [0, 48]]
corners = [[0, 0], [64, 0], [64, 48], [0, 48]]
[[layers]]
name = "a"
kind = "solid"
color = "#ff0000"
opacity = 0.0
[[layers]]
name = "b"
kind = "solid"
color = "#0000ff"
opacity = 0.0
[[layers]]
name = "gen"
kind = "solid"
color = "#00ff00"
opacity = 0.0
params = { speed = 1.0 }
"""

CUES = """
[[cues]]
number = 1
name = "open"
fade = 2.0
[cues.layers.a]
opacity = 1.0

[[cues]]
number = 1.5
name = "blue"
fade = 1.0
curve = "ease-in-out"
[cues.layers.b]
opacity = 0.5
params = {}
[cues.layers.a]
color = "#ffffff"

[[cues]]
number = 2
name = "dark"
fade = 3.0
[cues.layers.a]
opacity = 0.0
[cues.layers.b]
opacity = 0.0
[cues.surfaces.door]
visible = false
[cues.outputs.right]
level = 0.4
"""


def make_show(tmp_path: Path, cues: str = CUES, extra: str = "") -> Show:
    folder = tmp_path / "show"
    folder.mkdir(exist_ok=True)
    (folder / "show.toml").write_text(textwrap.dedent(SHOW) + textwrap.dedent(cues) + extra)
    return load_show(folder)


def opacity(engine: CueEngine, t: float, layer: str = "a") -> float:
    return {lf.layer.name: lf.opacity for lf in engine.tick(t).layers}[layer]


def frames(start: float, seconds: float) -> list[float]:
    return [start + n / FPS for n in range(round(seconds * FPS) + 1)]


# --- numbering, GO, standby -------------------------------------------------------------


def test_cues_are_numbered_as_operators_number_them(tmp_path):
    show = make_show(tmp_path)
    assert [c.number for c in show.cues] == ["1", "1.5", "2"]
    assert [c.label for c in show.cues] == ["1 open", "1.5 blue", "2 dark"]
    assert show.cue_index("1.5") == 1 and show.cue_index("dark") == 2


def test_go_fires_the_standby_cue_and_moves_the_playhead(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    assert engine.tick(0.0).cue is None and engine.tick(0.0).next_cue == "1 open"
    engine.go(10.0)
    state = engine.tick(10.0)
    assert (state.cue, state.next_cue) == ("1 open", "1.5 blue")
    engine.go(20.0)
    engine.go(30.0)
    assert engine.tick(30.0).next_cue is None
    with pytest.raises(LookupError, match="no cue after cue 2 dark in list 'main'"):
        engine.go(31.0)


def test_every_frame_of_a_linear_fade_is_exact(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.go(10.0)  # cue 1: a 0 → 1 over 2 s
    for t in frames(10.0, 2.0):
        assert opacity(engine, t) == pytest.approx((t - 10.0) / 2.0, abs=1e-12)
    assert opacity(engine, 12.0) == 1.0 and opacity(engine, 99.0) == 1.0


def test_every_frame_of_an_eased_fade_follows_the_smoothstep(tmp_path):
    engine = CueEngine.at_cue(make_show(tmp_path), "1")
    engine.go(5.0)  # cue 1.5: b 0 → 0.5 over 1 s, ease-in-out
    for t in frames(5.0, 1.0):
        a = (t - 5.0) / 1.0
        assert opacity(engine, t, "b") == pytest.approx(0.5 * (3 * a * a - 2 * a**3), abs=1e-12)


def test_a_content_change_crossfades_instead_of_cutting(tmp_path):
    engine = CueEngine.at_cue(make_show(tmp_path), "1")
    engine.go(5.0)  # cue 1.5 turns layer a from red to white over 1 s (ease-in-out)
    layer = {lf.layer.name: lf for lf in engine.tick(5.5).layers}["a"]
    assert layer.content == (1.0, 1.0, 1.0, 1.0)
    assert layer.previous is not None and layer.previous.content == (1.0, 0.0, 0.0, 1.0)
    assert layer.previous.weight == pytest.approx(0.5)  # smoothstep(0.5) = 0.5
    quarter = {lf.layer.name: lf for lf in engine.tick(5.25).layers}["a"]
    assert quarter.previous.weight == pytest.approx(1 - (3 * 0.25**2 - 2 * 0.25**3))
    done = {lf.layer.name: lf for lf in engine.tick(6.0).layers}["a"]
    assert done.previous is None


def test_a_cue_sets_surfaces_and_outputs_too(tmp_path):
    engine = CueEngine.at_cue(make_show(tmp_path), "1.5")
    engine.go(0.0)  # cue 2: door hidden at once, output right fades to 0.4 over 3 s
    state = engine.tick(1.5)
    assert state.hidden_surfaces == frozenset({"door"})
    assert state.output_levels["right"] == pytest.approx(1.0 + (0.4 - 1.0) * 0.5)
    assert state.output_levels["left"] == 1.0
    assert engine.tick(3.0).output_levels["right"] == pytest.approx(0.4)


# --- BACK, GOTO, LOAD, start ------------------------------------------------------------


def test_back_fades_to_the_tracked_state_of_the_previous_cue(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.go(0.0)
    engine.go(10.0)
    engine.go(20.0)  # cue 2: everything dark
    assert opacity(engine, 30.0) == 0.0
    previous = engine.back(30.0)  # back to 1.5 with cue 2's 3 s fade
    assert previous == 1
    assert opacity(engine, 31.5, "b") == pytest.approx(0.25)
    assert opacity(engine, 33.0, "a") == 1.0 and opacity(engine, 33.0, "b") == 0.5
    state = engine.tick(33.0)
    assert (state.cue, state.next_cue) == ("1.5 blue", "2 dark")
    assert state.hidden_surfaces == frozenset()


def test_back_from_the_first_cue_returns_to_the_show_as_loaded(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.go(0.0)
    assert engine.back(5.0) is None
    assert opacity(engine, 7.0) == 0.0  # cue 1's 2 s fade, back to the layer's 0.0
    assert engine.tick(7.0).next_cue == "1 open"
    with pytest.raises(LookupError, match="no cue has run"):
        engine.back(8.0)


def test_goto_fades_to_every_cue_of_the_list_up_to_it(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.goto("1.5", 0.0)  # 1 s ease-in-out to: a white at 1.0, b at 0.5
    state = {lf.layer.name: lf for lf in engine.tick(1.0).layers}
    assert state["a"].opacity == 1.0 and state["a"].content == (1.0, 1.0, 1.0, 1.0)
    assert state["b"].opacity == 0.5
    assert engine.tick(1.0).next_cue == "2 dark"


def test_load_arms_a_cue_without_firing_it_and_preloads_its_content(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.load("1.5")
    state = engine.tick(1.0)
    assert state.cue is None and state.next_cue == "1.5 blue"
    # b is brought in (its opacity rises from 0), a gets new content
    assert [(layer.name, content) for layer, content in state.preload] == [
        ("b", (0.0, 0.0, 1.0, 1.0)),
        ("a", (1.0, 1.0, 1.0, 1.0)),
    ]
    assert opacity(engine, 1.0, "b") == 0.0
    engine.go(2.0)
    assert engine.tick(3.0).cue == "1.5 blue"


def test_start_fires_one_cue_without_moving_other_lists(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    engine.start("2", 0.0)
    assert engine.tick(0.0).cue == "2 dark" and engine.tick(0.0).next_cue is None


# --- waits, follows, loops ---------------------------------------------------------------

FOLLOWS = """
[[cues]]
number = 1
name = "wait-then-fade"
prewait = 1.5
fade = 1.0
follow = "follow"
postwait = 0.5
[cues.layers.a]
opacity = 1.0

[[cues]]
number = 2
name = "continue"
follow = "continue"
postwait = 2.0
[cues.layers.b]
opacity = 1.0

[[cues]]
number = 3
name = "loop-back"
fade = 0.5
follow = "follow"
next = 2
[cues.layers.b]
opacity = 0.0
"""


def test_prewait_delays_the_cue_and_follow_fires_the_next_when_its_fades_end(tmp_path):
    engine = CueEngine(make_show(tmp_path, FOLLOWS))
    engine.go(10.0)
    assert engine.tick(10.0).cue == "1 wait-then-fade"
    assert opacity(engine, 11.5) == 0.0  # still in its 1.5 s pre-wait
    assert opacity(engine, 12.0) == pytest.approx(0.5)  # half-way through its 1 s fade
    assert opacity(engine, 12.5) == 1.0
    assert engine.tick(12.9).cue == "1 wait-then-fade"
    # follow: fade ends at 12.5, post-wait 0.5 → cue 2 fires at 13.0, even if ticked later
    assert engine.tick(13.2).cue == "2 continue"
    assert opacity(engine, 13.2, "b") == 1.0


def test_continue_and_next_make_a_loop_that_keeps_exact_times(tmp_path):
    engine = CueEngine(make_show(tmp_path, FOLLOWS))
    engine.start("2", 0.0)
    # cue 2 at 0 → (continue, 2 s) cue 3 at 2.0 → (follow, fade 0.5) cue 2 at 2.5 → 4.5 → 5.0
    seen = []
    for t in frames(0.0, 5.2):
        cue = engine.tick(t).cue
        if not seen or seen[-1][1] != cue:
            seen.append((round(t * FPS), cue))
    assert seen == [
        (0, "2 continue"),
        (60, "3 loop-back"),
        (75, "2 continue"),
        (135, "3 loop-back"),
        (150, "2 continue"),
    ]
    assert engine.fired_at[1] == pytest.approx(5.0)  # cue 2's last start, at its exact time


def test_stop_cancels_waits_and_follows_and_holds_fades(tmp_path):
    engine = CueEngine(make_show(tmp_path, FOLLOWS))
    engine.go(0.0)
    engine.tick(2.0)  # in cue 1's fade: a = 0.5
    engine.stop(2.0)
    assert opacity(engine, 2.0) == pytest.approx(0.5)
    assert opacity(engine, 60.0) == pytest.approx(0.5)
    assert engine.tick(60.0).cue == "1 wait-then-fade"  # the follow never came


def test_pause_freezes_fades_waits_and_media_time_until_resume(tmp_path):
    engine = CueEngine(make_show(tmp_path, FOLLOWS))
    engine.go(0.0)
    engine.tick(2.0)
    engine.pause(2.0)  # a = 0.5, 0.5 s of fade left
    assert opacity(engine, 100.0) == pytest.approx(0.5)
    media = {lf.layer.name: lf.media_time_s for lf in engine.tick(100.0).layers}
    assert media["a"] == pytest.approx(2.0)
    engine.resume(100.0)
    assert opacity(engine, 100.25) == pytest.approx(0.75)
    assert engine.tick(101.2).cue == "2 continue"  # follow at 3.0 engine time = 101.0


def test_panic_cancels_everything_and_fades_every_layer_to_black(tmp_path):
    engine = CueEngine(make_show(tmp_path, FOLLOWS))
    engine.start("2", 0.0)
    engine.panic(1.0, 2.0)
    assert opacity(engine, 2.0, "b") == pytest.approx(0.5)
    assert opacity(engine, 3.0, "b") == 0.0
    assert engine.tick(10.0).cue == "2 continue"  # the 2 s continue never fired cue 3


def test_a_zero_time_follow_loop_cannot_hang_a_frame(tmp_path):
    loop = """
[[cues]]
number = 1
name = "x"
follow = "continue"
next = 2
[[cues]]
number = 2
name = "y"
follow = "continue"
next = 1
"""
    engine = CueEngine(make_show(tmp_path, loop))
    engine.go(0.0)
    engine.tick(0.0)  # returns, though each cue fires the other at the same instant


# --- several lists, live edits -----------------------------------------------------------


def test_each_cue_list_has_its_own_playhead(tmp_path):
    lists = (
        CUES
        + """
[[cues]]
number = 100
name = "attract"
list = "attract"
[cues.layers.gen]
opacity = 1.0
params = { speed = 3.0 }
"""
    )
    show = make_show(tmp_path, lists)
    assert show.cue_lists() == ("main", "attract")
    engine = CueEngine(show)
    engine.go(0.0, "attract")
    assert engine.tick(0.0).cue == "100 attract"
    assert engine.playhead["main"] == 0  # the main list has not moved
    frame = {lf.layer.name: lf for lf in engine.tick(0.0).layers}
    assert frame["gen"].params == {"speed": 3.0}
    engine.go(1.0, "main")
    assert engine.tick(1.0).cue == "1 open"


def test_live_edits_fade_and_report_what_they_replaced(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    assert engine.set_opacity("b", 0.8, 1.0, fade_s=2.0) == 0.0
    assert opacity(engine, 2.0, "b") == pytest.approx(0.4)
    assert engine.opacity_target("b") == 0.8
    assert engine.set_param("gen", "speed", 5.0, 0.0) == 1.0
    assert engine.param("gen", "speed", 0.0) == 5.0
    assert engine.set_visible("wall", False) is True
    assert engine.tick(0.0).hidden_surfaces == frozenset({"wall"})


# --- properties of the curves ------------------------------------------------------------


@given(
    st.sampled_from(["linear", "ease-in", "ease-out", "ease-in-out"]),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_every_curve_is_monotonic_and_exact_at_both_ends(curve, a, b):
    assert ease(curve, 0.0) == 0.0 and ease(curve, 1.0) == 1.0
    lo, hi = sorted((a, b))
    assert ease(curve, lo) <= ease(curve, hi)
    assert 0.0 <= ease(curve, lo) <= 1.0


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.01, 100.0),
    st.floats(-50.0, 200.0),
)
def test_a_fade_never_leaves_its_interval_and_lands_exactly(start, end, duration, t):
    from mapping.cues import Fade

    fade = Fade(start, end, 0.0, duration, "ease-in-out")
    value = fade.at(t)
    assert min(start, end) - 1e-12 <= value <= max(start, end) + 1e-12
    assert fade.at(duration) == end and fade.at(0.0) == start


@pytest.mark.parametrize(
    ("curve", "formula"),
    [
        ("linear", lambda a: a),
        ("ease-in", lambda a: a * a),
        ("ease-out", lambda a: 1 - (1 - a) ** 2),
        ("ease-in-out", lambda a: 3 * a * a - 2 * a**3),
    ],
)
def test_each_curve_follows_its_formula_and_clamps(curve, formula):
    for a in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert ease(curve, a) == pytest.approx(formula(a), abs=1e-12)
    assert ease(curve, 1.5) == 1.0 and ease(curve, -0.5) == 0.0


OVERRIDES = """
[[cues]]
number = 1
name = "mixed"
fade = 4.0
curve = "ease-in"
[cues.layers.a]
opacity = 1.0
fade = 1.0
curve = "linear"
[cues.layers.b]
opacity = 1.0
[cues.layers.gen]
params = { speed = 3.0 }
[cues.outputs.left]
level = 0.0
"""


def test_a_layer_can_have_its_own_fade_and_curve_inside_a_cue(tmp_path):
    engine = CueEngine(make_show(tmp_path, OVERRIDES))
    assert engine.show.cues[0].duration_s() == 4.0
    engine.go(0.0)
    assert opacity(engine, 0.5, "a") == pytest.approx(0.5)  # its own 1 s, linear
    assert opacity(engine, 2.0, "b") == pytest.approx(0.25)  # the cue's 4 s, ease-in: 0.5²
    frame = engine.tick(2.0)
    speed = {lf.layer.name: lf.params for lf in frame.layers}["gen"]["speed"]
    assert speed == pytest.approx(1.0 + 2.0 * 0.25)  # params fade with the cue's curve too
    assert frame.output_levels["left"] == pytest.approx(1.0 - 0.25)  # and output levels
    assert engine.progress(2.0) == pytest.approx(0.5)
    assert engine.busy(2.0) and not engine.busy(4.0)


def test_a_hidden_surface_comes_back_with_a_cue_or_an_edit(tmp_path):
    engine = CueEngine.at_cue(make_show(tmp_path), "2")
    assert engine.visible("door") is False
    assert engine.set_visible("door", True) is False
    assert engine.visible("door") is True and engine.tick(0.0).hidden_surfaces == frozenset()


def test_stop_holds_params_and_levels_too(tmp_path):
    engine = CueEngine(make_show(tmp_path, OVERRIDES))
    engine.go(0.0)
    engine.stop(2.0)
    frame = engine.tick(50.0)
    assert {lf.layer.name: lf.params for lf in frame.layers}["gen"]["speed"] == pytest.approx(1.5)
    assert frame.output_levels["left"] == pytest.approx(0.75)
    assert not engine.busy(50.0)


def test_cues_are_found_by_index_number_or_name_and_not_otherwise(tmp_path):
    engine = CueEngine(make_show(tmp_path))
    assert engine.index(2) == 2 and engine.index("1.5") == 1 and engine.index("open") == 0
    for bad in (3, -1, "7", "nope"):
        with pytest.raises(KeyError):
            engine.index(bad)


# --- edges of the specification (each kills a mutant that survived: docs/testing.md) -------

# Two lists interleaved in file order, eased cues that move outputs, params and content.
EDGES = """
[[cues]]
number = 1
name = "m1"
fade = 1.0
curve = "ease-in-out"
[cues.layers.a]
opacity = 1.0
color = "#ffffff"
[cues.layers.gen]
params = { speed = 3.0 }
[cues.outputs.right]
level = 0.0

[[cues]]
number = 2
name = "x1"
list = "extra"
[cues.layers.b]
opacity = 0.5

[[cues]]
number = 3
name = "m2"
fade = 0.5
[cues.layers.a]
opacity = 0.5

[[cues]]
number = 4
name = "m3"
prewait = 0.5
[cues.layers.gen]
params = { speed = 7.0 }

[[cues]]
number = 5
name = "x2"
list = "extra"
[cues.layers.b]
opacity = 0.25
"""


def layer_frames(engine: CueEngine, t: float) -> dict:
    return {lf.layer.name: lf for lf in engine.tick(t).layers}


def smoothstep(a: float) -> float:
    return a * a * (3 - 2 * a)


def test_goto_fades_opacity_content_params_and_levels_along_the_cues_curve(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.goto("m1", 10.0)
    s = smoothstep(0.25)  # 0.15625, exact in binary
    frame = layer_frames(engine, 10.25)
    assert frame["a"].opacity == s
    assert frame["a"].previous.weight == 1.0 - s  # the red fading out under the white
    assert frame["gen"].params == {"speed": 1.0 + 2.0 * s}
    assert engine.level("right", 10.25) == 1.0 - s
    assert engine.tick(10.25).output_levels == {"left": 1.0, "right": 1.0 - s}
    assert engine.progress(10.25) == 0.25
    assert engine.progress(11.0) == 1.0


def test_goto_the_cue_already_shown_changes_nothing(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.go(0.0)  # m1: a 0 → 1 over 1 s
    engine.goto("m1", 5.0)
    frame = layer_frames(engine, 5.5)
    assert frame["a"].opacity == 1.0 and frame["a"].previous is None
    assert frame["gen"].params == {"speed": 3.0}


def test_the_tracked_state_of_a_list_skips_the_other_lists_cues(tmp_path):
    engine = CueEngine.at_cue(make_show(tmp_path, EDGES), "m2")  # m1 then m2; x1 skipped
    frame = layer_frames(engine, 0.0)
    assert frame["a"].opacity == 0.5 and frame["b"].opacity == 0.0
    assert engine.level("right", 0.0) == 0.0 and engine.level("left", 0.0) == 0.0 + 1.0
    # at_cue's state is at t = 0: its content started then
    assert layer_frames(engine, 0.5)["a"].media_time_s == 0.5
    engine = CueEngine.at_cue(make_show(tmp_path, EDGES), "x2")
    assert layer_frames(engine, 0.0)["b"].opacity == 0.25
    assert layer_frames(engine, 0.0)["a"].opacity == 0.0


def test_back_goes_to_the_previous_cue_of_the_same_list(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.start("m3", 0.0)
    assert engine.back(1.0) == 2  # m2, past x1 of the other list
    engine.start("x2", 2.0)
    engine.go(3.0, "main")  # the active list is main again
    assert engine.back(4.0, "extra") == 1  # x1: BACK in the list it names
    assert engine.current_cue("extra").name == "x1"


def test_unknown_lists_and_cue_indexes_are_named_in_the_error(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    with pytest.raises(KeyError, match="nowhere"):
        engine.go(0.0, "nowhere")
    assert engine.index(0) == 0 and engine.index(4) == 4
    with pytest.raises(KeyError) as error:
        engine.index(5)
    assert error.value.args == (5,)
    empty = CueEngine(make_show(tmp_path, ""))
    with pytest.raises(LookupError, match=r"^no cue in list 'main'$"):
        empty.go(0.0)


def test_load_arms_a_cue_of_another_list(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    assert engine.load("x2") == 4
    assert engine.standby_cue("extra").name == "x2"
    assert engine.active_list == "extra"
    assert engine.tick(0.0).next_cue == "5 x2"


def test_a_prewait_under_a_second_still_delays_the_cue(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.start("m3", 10.0)  # prewait 0.5
    assert engine.busy(10.2)
    assert engine.progress(10.2) == 1.0  # nothing fired yet: no action in progress
    assert layer_frames(engine, 10.4)["gen"].params == {"speed": 1.0}
    assert layer_frames(engine, 10.5)["gen"].params == {"speed": 7.0}


def test_progress_of_a_short_fade_and_of_no_cue(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    assert engine.progress(3.0) == 1.0  # nothing has run
    engine.goto("m2", 3.0)  # 0.5 s
    assert engine.progress(3.0) == 0.0
    assert engine.progress(3.125) == 0.25
    assert engine.progress(9.0) == 1.0


def test_busy_while_any_one_fade_runs(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.set_opacity("a", 1.0, 0.0, fade_s=0.5)
    assert engine.busy(0.0) and engine.busy(0.25)
    assert not engine.busy(0.5)
    engine.set_level("left", 0.5, 1.0, fade_s=0.5)
    assert engine.busy(1.25) and not engine.busy(1.5)
    engine.stop(1.5)  # holding a settled fade leaves nothing running
    assert not engine.busy(1.5)


def test_pauses_add_up(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.pause(1.0)
    engine.resume(1.25)
    engine.pause(2.0)
    engine.resume(2.5)
    assert engine.engine_time(3.0) == 3.0 - 0.75


def test_panic_while_paused_fades_from_the_moment_of_the_panic(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.set_opacity("a", 1.0, 0.0)
    engine.pause(1.0)
    engine.panic(3.0, fade_s=1.0)  # resumes: 2 s paused
    assert opacity(engine, 3.5) == 0.5 and opacity(engine, 4.0) == 0.0


def test_live_edits_during_a_fade_report_the_value_at_that_moment(tmp_path):
    show = make_show(tmp_path, EDGES)
    engine = CueEngine(show)
    assert engine.set_opacity("a", 1.0, 0.0) == 0.0  # no fade given: a cut
    assert engine.opacity("a", 0.0) == 1.0
    engine.set_opacity("a", 0.0, 1.0, fade_s=1.0)
    assert engine.set_opacity("a", 1.0, 1.5) == 0.5
    engine.set_param("gen", "speed", 3.0, 2.0, fade_s=1.0)
    assert engine.param("gen", "speed", 2.5) == 2.0
    assert engine.set_param("gen", "speed", 0.0, 2.75) == 2.5
    assert engine.set_level("right", 0.0, 4.0) == 1.0
    assert engine.level("right", 4.0) == 0.0
    engine.set_level("right", 1.0, 5.0, fade_s=2.0)
    assert engine.set_level("right", 1.0, 5.5) == 0.25
    assert engine.level("right", 5.5) == 1.0


def test_a_content_edit_cuts_or_crossfades_and_reports_the_content_it_replaced(tmp_path):
    show = make_show(tmp_path, EDGES)
    engine = CueEngine(show)
    red, blue = show.layer("a").content, show.layer("b").content
    assert engine.set_content("a", blue, 2.0) == red  # no fade given: a cut
    frame = layer_frames(engine, 2.5)["a"]
    assert frame.content == blue and frame.previous is None and frame.media_time_s == 0.5
    assert engine.content("a") == blue
    assert engine.set_content("a", red, 4.0, fade_s=1.0) == blue
    frame = layer_frames(engine, 4.25)["a"]
    assert frame.content == red and frame.media_time_s == 0.25
    assert frame.previous.content == blue
    assert frame.previous.media_time_s == 2.25  # blue has played since 2.0
    assert frame.previous.weight == 0.75
    assert layer_frames(engine, 5.0)["a"].previous is None  # the crossfade is over


def test_a_frame_carries_its_show_time_and_a_full_master(tmp_path):
    state = CueEngine(make_show(tmp_path, EDGES)).tick(12.5)
    assert state.show_time_s == 12.5 and state.master == 1.0


def test_only_layers_the_standby_cue_brings_in_are_preloaded(tmp_path):
    cues = """
[[cues]]
number = 1
name = "in"
[cues.layers.gen]
params = { speed = 2.0 }
[cues.layers.a]
opacity = 1.0
"""
    show = make_show(tmp_path, cues)
    engine = CueEngine(show)
    # gen (opacity 0) only changes a param: not drawn, nothing to open; a comes in
    assert [layer.name for layer, _ in engine.tick(0.0).preload] == ["a"]
    engine.set_opacity("a", 0.5, 0.0)  # already on screen: nothing to open either
    assert engine.tick(0.0).preload == ()


def test_a_zero_length_fade_is_at_its_end_at_every_time():
    fade = Fade(0.0, 1.0, t0=5.0, duration=0.0)
    assert fade.at(4.0) == 1.0 and fade.at(5.0) == 1.0
    assert not fade.running(5.0)


def test_a_fade_runs_from_its_first_instant_to_just_before_its_end():
    fade = Fade(0.0, 1.0, t0=2.0, duration=0.5)
    assert not fade.running(1.999)
    assert fade.running(2.0) and fade.running(2.4)
    assert not fade.running(2.5)


def test_back_skips_a_cue_of_another_list_in_between(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.start("m2", 0.0)  # file order: m1, x1 (extra), m2
    assert engine.back(1.0) == 0


def test_a_cue_brings_a_hidden_surface_back(tmp_path):
    cues = """
[[cues]]
number = 1
name = "show-door"
[cues.surfaces.door]
visible = true
"""
    engine = CueEngine(make_show(tmp_path, cues))
    engine.set_visible("door", False)
    engine.go(0.0)
    assert engine.tick(0.0).hidden_surfaces == frozenset()


def test_firing_a_loaded_cue_disarms_it(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.load("m2")
    assert engine.loaded == {2}
    engine.go(0.0)
    assert engine.loaded == set()


def test_opacity_is_read_mid_fade(tmp_path):
    engine = CueEngine(make_show(tmp_path, EDGES))
    engine.set_opacity("a", 1.0, 0.0, fade_s=2.0)
    assert engine.opacity("a", 0.5) == 0.25


def test_progress_of_a_cue_without_a_fade_and_of_one_still_waiting(tmp_path):
    extra = """
[[cues]]
number = 6
name = "m4"
prewait = 0.5
fade = 1.0
[cues.layers.a]
opacity = 0.25
"""
    engine = CueEngine(make_show(tmp_path, EDGES + extra))
    engine.start("x1", 0.0)  # no fade: done at once
    assert engine.progress(0.0) == 1.0
    engine.start("m4", 1.0)
    assert engine.progress(1.25) == 1.0  # not fired yet: nothing in progress
    engine.tick(1.5)  # fires now
    assert engine.progress(2.0) == 0.5
