"""Typed parameters under control: cue fades, the ``layer.param`` command, OSCQuery (no GL).

A generator declaring one parameter of each type is cued, set over the registry the way
OSC sends it, and published; every expected value is the definition written out (a linear
fade is at its mean halfway; a switch happens at the fade's start; an event is true for
one frame).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mapping.commands import CommandProcessor
from mapping.control.builtin import build_registry
from mapping.control.namespace import build_tree, find_node, snapshot
from mapping.control.osc_codec import parse_packet
from mapping.control.oscquery import osc_message
from mapping.cues import CueEngine
from mapping.live import LiveShow
from mapping.params import ParamSpec
from mapping.show import load_show
from tests.test_show_params import HEAD, SHADER

SHOW = (
    HEAD
    + """\
[[layers]]
name = "gen"
kind = "shader"
shader = "shaders/gen.glsl"
params = { tint = [1.0, 0.0, 0.0, 1.0] }
[[cues]]
name = "blue"
fade = 2.0
[cues.layers.gen]
params = { tint = [0.0, 0.0, 1.0, 0.0], centre = [1.0, -2.0], bands = 8, on = true }
"""
)


@pytest.fixture
def show(tmp_path: Path):
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "gen.glsl").write_text(SHADER)
    (tmp_path / "show.toml").write_text(textwrap.dedent(SHOW))
    return load_show(tmp_path)


def params_at(engine: CueEngine, t: float) -> dict:
    return dict(engine.tick(t).layers[0].params)


def test_a_cue_fades_colours_and_points_and_switches_the_rest_at_its_start(show):
    engine = CueEngine(show)
    engine.go(0.0)
    start = params_at(engine, 0.0)
    assert start["tint"] == (1.0, 0.0, 0.0, 1.0) and start["centre"] == (0.0, 0.0)
    assert start["bands"] == 8 and start["on"] is True  # discrete: switched at the start
    half = params_at(engine, 1.0)
    assert half["tint"] == pytest.approx((0.5, 0.0, 0.5, 0.5), abs=1e-12)
    assert half["centre"] == pytest.approx((0.5, -1.0), abs=1e-12)
    end = params_at(engine, 2.0)
    assert end["tint"] == (0.0, 0.0, 1.0, 0.0) and end["centre"] == (1.0, -2.0)


def test_goto_restores_the_tracked_typed_values(show):
    engine = CueEngine(show)
    engine.set_param("gen", "tint", (0.0, 1.0, 0.0, 1.0), 0.0)
    engine.set_param("gen", "bands", 2, 0.0)
    engine.goto("1", 10.0, fade_s=0.0)
    values = params_at(engine, 10.0)
    assert values["tint"] == (0.0, 0.0, 1.0, 0.0) and values["bands"] == 8


def test_an_event_is_true_for_exactly_one_frame(tmp_path):
    (tmp_path / "s.glsl").write_text("uniform float x;\n")
    layer_show = load_show(_show_with(tmp_path))
    layer = layer_show.layer("gen")
    event = ParamSpec("flash", "event", False)
    show = _with_specs(layer_show, (*layer.param_specs, event), {**layer.params, "flash": False})
    engine = CueEngine(show)
    assert params_at(engine, 0.0)["flash"] is False
    engine.set_param("gen", "flash", True, 0.1)
    assert params_at(engine, 0.2)["flash"] is True
    assert params_at(engine, 0.3)["flash"] is False


def _show_with(tmp_path: Path) -> Path:
    text = SHOW.split("[[cues]]")[0].replace("shaders/gen.glsl", "s.glsl")
    (tmp_path / "show.toml").write_text(
        text.replace("params = { tint = [1.0, 0.0, 0.0, 1.0] }", "")
    )
    return tmp_path


def _with_specs(show, specs, params):
    import dataclasses

    layer = dataclasses.replace(show.layers[0], param_specs=specs, params=params)
    return dataclasses.replace(show, layers=(layer,))


@pytest.fixture
def control(show):
    live = LiveShow(show)
    registry = build_registry()
    return live, registry, CommandProcessor(registry, live)


def send(control, param: str, *values, mode="set"):
    _live, registry, processor = control
    command = registry.make(
        "layer.param", list(values), path={"layer": "gen", "param": param}, mode=mode
    )
    return processor.apply(command, 0.0)


@pytest.mark.parametrize(
    ("param", "values", "expected"),
    [
        ("speed", (2.5,), 2.5),
        ("bands", (5,), 5),
        ("bands", (5.0,), 5),  # OSC floats that are integers
        ("on", (0,), False),
        ("on", (True,), True),
        ("tint", (0.1, 0.2, 0.3), (0.1, 0.2, 0.3, 1.0)),  # RGB: alpha 1
        ("tint", (0.1, 0.2, 0.3, 0.4), (0.1, 0.2, 0.3, 0.4)),
        ("tint", ("#ff0000",), (1.0, 0.0, 0.0, 1.0)),
        ("centre", (3.0, -4.0), (3.0, -4.0)),
    ],
)
def test_layer_param_takes_the_declared_type_and_answers_typed(control, param, values, expected):
    result = send(control, param, *values)
    assert result.ok, result.message
    assert result.value == expected and type(result.value) is type(expected)


@pytest.mark.parametrize(
    ("param", "values", "words"),
    [
        ("speed", (5.0,), "expected a number in 0..4, got 5"),
        ("bands", (2.5,), "expected an integer in 1..8, got 2.5"),
        ("on", (2,), "expected true or false"),
        ("tint", (0.1, 0.2), "got 2 value(s)"),
        ("tint", (1.5, 0.0, 0.0), "with values 0..1"),
        ("centre", (1.0,), "got 1 value(s)"),
        ("speed", (1.0, 2.0, 3.0), "then an optional fade, got 3 values"),
    ],
)
def test_a_wrong_value_is_an_error_reply_naming_the_parameter(control, param, values, words):
    result = send(control, param, *values)
    assert not result.ok
    assert f"'gen' parameter '{param}'" in result.message and words in result.message


def test_a_value_then_a_fade_fades_floats_and_colours(control):
    live = control[0]
    assert send(control, "speed", 3.0, 2.0).ok  # value, fade
    assert live.engine.param("gen", "speed", 1.0) == pytest.approx(2.0)  # 1 → 3, halfway
    assert send(control, "tint", 0.0, 0.0, 1.0, 1.0, 2.0).ok  # RGBA then the fade
    assert live.engine.param("gen", "tint", 1.0) == pytest.approx((0.5, 0.0, 0.5, 1.0))


def test_relative_changes_apply_to_numbers_within_their_range(control):
    assert send(control, "speed", 2.0, mode="add").value == 3.0
    assert send(control, "speed", 2.0, mode="add").value == 4.0  # clamped at the declared max
    assert not send(control, "tint", 0.1, mode="add").ok


def test_oscquery_publishes_each_parameter_type_range_and_value(control):
    live, registry, _ = control
    tree = build_tree(snapshot(registry, live))
    fade = {"MIN": 0.0, "MAX": 3600.0}
    node = find_node(tree, "/layer/gen/param/tint")
    assert (node["TYPE"], node["VALUE"]) == ("fffff", [1.0, 0.0, 0.0, 1.0, 0.0])
    assert node["RANGE"] == [{"MIN": 0.0, "MAX": 1.0}] * 4 + [fade]
    node = find_node(tree, "/layer/gen/param/speed")
    assert (node["TYPE"], node["RANGE"], node["VALUE"]) == (
        "ff",
        [{"MIN": 0.0, "MAX": 4.0}, fade],
        [1.0, 0.0],
    )
    node = find_node(tree, "/layer/gen/param/bands")
    assert (node["TYPE"], node["RANGE"][0], node["VALUE"]) == ("if", {"MIN": 1, "MAX": 8}, [3, 0.0])
    node = find_node(tree, "/layer/gen/param/on")
    assert (node["TYPE"], node["VALUE"]) == ("Tf", [False, 0.0])
    node = find_node(tree, "/layer/gen/param/centre")
    assert (node["TYPE"], node["VALUE"]) == ("fff", [0.0, 0.0, 0.0])


def test_binary_data_is_refused_when_applied(control):
    result = send(control, "speed", b"\x00")
    assert not result.ok and "expected a number in 0..4" in result.message


def test_a_pushed_colour_is_one_osc_message_of_its_components_and_fade(control):
    _live, registry, _ = control
    spec = registry.spec("layer.param")
    data = osc_message("/layer/gen/param/tint", spec, [1.0, 0.5, 0.0, 1.0, 0.0])
    message = parse_packet(data)
    assert message.tags == "fffff" and list(message.args) == [1.0, 0.5, 0.0, 1.0, 0.0]
    data = osc_message("/layer/gen/param/on", spec, [True, 0.0])
    assert parse_packet(data).tags == "Tf"


def test_an_event_fires_from_a_message_without_a_value(tmp_path):
    (tmp_path / "s.glsl").write_text("uniform float x;\n")
    loaded = load_show(_show_with(tmp_path))
    layer = loaded.layer("gen")
    event = ParamSpec("flash", "event", False)
    show = _with_specs(loaded, (*layer.param_specs, event), {**layer.params, "flash": False})
    live = LiveShow(show)
    registry = build_registry()
    processor = CommandProcessor(registry, live)
    command = registry.make("layer.param", [], path={"layer": "gen", "param": "flash"})
    assert processor.apply(command, 0.0).ok
    assert params_at(live.engine, 0.1)["flash"] is True
    assert params_at(live.engine, 0.2)["flash"] is False
    empty = registry.make("layer.param", [], path={"layer": "gen", "param": "x"})
    result = processor.apply(empty, 0.0)
    assert not result.ok and "expected a number" in result.message
