"""The OSCQuery namespace is generated from the command registry and the live show (no GL)."""

from __future__ import annotations

import tomllib

import pytest
from pythonosc.osc_message import OscMessage

from mapping.commands import CommandProcessor
from mapping.control.builtin import build_registry
from mapping.control.namespace import build_tree, common_path, find_node, snapshot
from mapping.control.oscquery import osc_message
from mapping.live import LiveShow
from mapping.show import load_show
from tests.conftest import REPO

DEMO = REPO / "shows" / "demo"


@pytest.fixture(scope="module")
def demo_toml() -> dict:
    return tomllib.loads((DEMO / "show.toml").read_text())


@pytest.fixture
def live() -> LiveShow:
    return LiveShow(load_show(DEMO))


def _leaves(node: dict) -> list[str]:
    if "CONTENTS" not in node:
        return [node["FULL_PATH"]]
    return [p for child in node["CONTENTS"].values() for p in _leaves(child)]


def test_a_layer_opacity_node_describes_the_command_and_its_current_value(live):
    tree = build_tree(snapshot(build_registry(), live))
    node = find_node(tree, "/layer/logo/opacity")
    assert node == {
        "FULL_PATH": "/layer/logo/opacity",
        "DESCRIPTION": "Opacity of a layer (holds until a cue changes it)",
        "TYPE": "ff",  # opacity, fade
        "RANGE": [{"MIN": 0.0, "MAX": 1.0}, {"MIN": 0.0, "MAX": 3600.0}],
        "ACCESS": 3,
        "VALUE": [0.0, 0.0],  # the logo starts hidden (show.toml opacity = 0.0); no fade
        "TAGS": ["layers"],
    }


def test_every_layer_cue_surface_and_output_of_the_show_has_its_addresses(live, demo_toml):
    tree = build_tree(snapshot(build_registry(), live))
    cue_numbers = [str(i + 1) for i in range(len(demo_toml["cues"]))]  # unnumbered: 1, 2, …
    for number in cue_numbers:
        for action in ("start", "load", "goto"):
            assert find_node(tree, f"/cue/{number}/{action}")["ACCESS"] == 0
    assert sorted(tree["CONTENTS"]["cue"]["CONTENTS"]) == sorted(cue_numbers)
    layers = [la["name"] for la in demo_toml["layers"]]
    assert sorted(tree["CONTENTS"]["layer"]["CONTENTS"]) == sorted(layers)
    surfaces = [s["name"] for s in demo_toml["surfaces"]]
    assert sorted(tree["CONTENTS"]["surface"]["CONTENTS"]) == sorted(surfaces)
    for output in demo_toml["outputs"]:
        node = find_node(tree, f"/output/{output['name']}/level")
        assert node["TYPE"] == "ff" and node["VALUE"] == [1.0, 0.0]
        assert find_node(tree, f"/output/{output['name']}/testpattern")["VALUE"] == ["off"]
    assert find_node(tree, "/layer/logo")["DESCRIPTION"] == "layer 'logo'"


def test_the_tree_holds_exactly_the_registry_addresses(live):
    registry = build_registry()
    tree = build_tree(snapshot(registry, live))
    assert sorted(_leaves(tree)) == sorted(a for a, _, _ in registry.addresses(live))


def test_access_type_and_value_follow_the_commands_arguments(live):
    tree = build_tree(snapshot(build_registry(), live))
    blackout = find_node(tree, "/blackout")
    assert (blackout["TYPE"], blackout["RANGE"], blackout["VALUE"]) == (
        "i",
        [{"MIN": 0, "MAX": 1}],
        [0],
    )
    go = find_node(tree, "/go")  # optional cue list; its query is the current cue, not an argument
    assert go["TYPE"] == "s" and go["ACCESS"] == 2 and "VALUE" not in go
    stop = find_node(tree, "/stop")  # a trigger: no value at all
    assert stop["ACCESS"] == 0 and "TYPE" not in stop and "RANGE" not in stop
    show_load = find_node(tree, "/show/load")
    assert show_load["VALUE"] == [DEMO.name] and show_load["RANGE"] == [{}]
    assert find_node(tree, "/nope") is None and find_node(tree, "/") is tree


def test_values_are_read_from_the_live_show_after_commands_apply(live):
    registry = build_registry()
    processor = CommandProcessor(registry, live)
    for name, values, path in [
        ("master", (0.25, 2.0), None),
        ("layer.opacity", (0.5,), {"layer": "logo"}),
        ("blackout", (1,), None),
    ]:
        assert processor.apply(registry.make(name, values, path=path), 10.0).ok
    tree = build_tree(snapshot(registry, live))
    assert find_node(tree, "/master")["VALUE"] == [0.25, 0.0]  # the target level
    assert find_node(tree, "/layer/logo/opacity")["VALUE"] == [0.5, 0.0]
    assert find_node(tree, "/blackout")["VALUE"] == [1]


def test_only_the_values_under_the_requested_path_are_read(live):
    registry = build_registry()
    snap = snapshot(registry, live, under="/master")
    assert dict(snap.values) == {"/master": [1.0, 0.0]}
    assert "/layer/logo/opacity" in snap.addresses  # every name, fewer queries
    layers = snapshot(registry, live, under="/layer/")
    expected = [f"/layer/{n}/{v}" for n in live.layer_names() for v in ("opacity", "content")]
    expected += [f"/layer/{n}/param/{p}" for n in live.layer_names() for p in live.param_names(n)]
    assert "/layer/clip/param/ripple.strength" in expected  # the demo clip's filter's input
    assert sorted(layers.values) == sorted(expected)
    assert snapshot(registry, live, under="/layer/sky").values.keys() == {
        "/layer/sky/opacity",
        "/layer/sky/content",
    }


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["/cue/4/start", "/cue/4/load", "/cue/4/goto"], "/cue/4"),
        (["/layer/a/opacity", "/layer/b/opacity"], "/layer"),
        (["/layer/a/opacity"], "/layer/a"),
        (["/master", "/layer/a/opacity"], "/"),
        ([], "/"),
    ],
)
def test_common_path_is_the_deepest_container_of_all_changes(paths, expected):
    assert common_path(paths) == expected


def test_a_pushed_value_is_an_osc_message_with_the_commands_type_tags():
    registry = build_registry()
    packet = osc_message("/layer/logo/opacity", registry.spec("layer.opacity"), [0.5, 0.0])
    message = OscMessage(packet)
    assert message.address == "/layer/logo/opacity"
    assert b",ff\0" in packet  # OSC type tag string: two floats
    assert message.params == [0.5, 0.0]
    text = OscMessage(osc_message("/show/load", registry.spec("show.load"), ["demo"]))
    assert text.params == ["demo"]
