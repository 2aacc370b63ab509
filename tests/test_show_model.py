"""The show model's own answers: clip in and out points, cue labels, durations and lists,
look-ups by name, and the specs of parameters a layer made in code is given.

Each expectation is written out from the show text of its test. Pure: no GL, no decoding
(the clip file only has to exist: loading checks files, it does not open media).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.params import ParamSpec
from mapping.show import Cue, Layer, LayerChange, Show, load_show

HEAD = """\
schema_version = 1
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
"""

VIDEO = '[[layers]]\nname = "v"\nkind = "video"\nfile = "clip.mp4"\n'
"""Lines 7-10; a key after it is on line 11."""


def load(folder: Path, extra: str) -> Show:
    (folder / "clip.mp4").touch()
    (folder / "show.toml").write_text(HEAD + extra, encoding="utf-8")
    return load_show(folder)


def problems(folder: Path, extra: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationError) as info:
        load(folder, extra)
    return [(p.key_path, p.message, p.line) for p in info.value.problems]


@pytest.mark.parametrize(
    ("keys", "window"),
    [
        ("in = 1.5\nout = 3", (1.5, 3.0)),
        ("in = 2", (2.0, None)),
        ("out = 2", (None, 2.0)),
        ("", (None, None)),
        ("in = 86400", (86400.0, None)),
        ("in = 0\nout = 0.001", (0.0, 0.001)),
    ],
)
def test_in_and_out_points_of_a_clip(tmp_path: Path, keys: str, window: tuple) -> None:
    layer = load(tmp_path, VIDEO + keys + "\n").layers[0]
    assert (layer.in_s, layer.out_s) == window


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            "in = 3\nout = 3",
            [("layers[0].out", "expected an out point after the in point 3 s", 12)],
        ),
        (
            "in = 2.5\nout = 1",
            [("layers[0].out", "expected an out point after the in point 2.5 s", 12)],
        ),
        ("in = -1", [("layers[0].in", "expected a number between 0.0 and 86400.0 s, got -1", 11)]),
        (
            "out = 86401",
            [("layers[0].out", "expected a number between 0.0 and 86400.0 s, got 86401", 11)],
        ),
    ],
)
def test_bad_in_and_out_points(tmp_path: Path, keys: str, expected: list) -> None:
    assert problems(tmp_path, VIDEO + keys + "\n") == expected


def test_in_and_out_points_only_for_clips(tmp_path: Path) -> None:
    solid = '[[layers]]\nname = "s"\nkind = "solid"\ncolor = "#ffffff"\nin = 1\nout = 2\n'
    assert problems(tmp_path, solid) == [
        ("layers[0].in", "'in' is for video and audio layers, not solid layers", 11),
        ("layers[0].out", "'out' is for video and audio layers, not solid layers", 12),
    ]


CUES = """\
[[layers]]
name = "s"
kind = "solid"
color = "#ffffff"
[[layers]]
name = "t"
kind = "solid"
color = "#000000"
[[cues]]
name = "open"
fade = 2.0
[cues.layers.s]
opacity = 0.5
fade = 3.5
[cues.layers.t]
opacity = 0.25
[[cues]]
number = "7b"
name = "side"
list = "side"
fade = 4.0
[cues.layers.s]
opacity = 1.0
fade = 1.0
[[cues]]
number = 3
name = "7b"
"""


def test_cue_labels_durations_lists_and_look_ups(tmp_path: Path) -> None:
    show = load(tmp_path, CUES)
    assert [c.label for c in show.cues] == ["1 open", "7b side", "3 7b"]
    assert [c.duration_s() for c in show.cues] == [3.5, 4.0, 0.0]
    assert [c.cue_list for c in show.cues] == ["main", "side", "main"]
    assert show.cue_lists() == ("main", "side")
    # a number before a name: "7b" is cue 2's number and cue 3's name
    assert (show.cue_index("7b"), show.cue_index("3"), show.cue_index("open")) == (1, 2, 0)
    with pytest.raises(KeyError, match="'nope'"):
        show.cue_index("nope")
    assert show.cues[0].layers == {
        "s": LayerChange(opacity=0.5, fade_s=3.5),
        "t": LayerChange(opacity=0.25),
    }


def test_a_cue_without_a_number_is_labelled_by_its_name() -> None:
    assert Cue("plain").label == "plain"
    assert Cue("plain", number="4").label == "4 plain"


def test_look_ups_by_name(tmp_path: Path) -> None:
    extra = (
        '[[outputs]]\nname = "o2"\nresolution = [8, 8]\n'
        '[[surfaces]]\nname = "a"\noutput = "o2"\npolygon = [[0, 0], [8, 0], [8, 8], [0, 8]]\n'
        "corners = [[0, 0], [8, 0], [8, 8], [0, 8]]\n"
        '[[surfaces]]\nname = "b"\noutput = "out"\npolygon = [[0, 0], [8, 0], [8, 8], [0, 8]]\n'
        "corners = [[0, 0], [8, 0], [8, 8], [0, 8]]\n"
    )
    show = load(tmp_path, extra)
    assert [s.name for s in show.surfaces_on("o2")] == ["a"]
    assert [s.name for s in show.surfaces_on("out")] == ["b"]
    assert show.surfaces_on("none") == ()
    assert show.surface("b").output == "out"
    assert show.output("o2").resolution == (8, 8)
    with pytest.raises(KeyError, match="'c'"):
        show.surface("c")


def test_a_layer_made_in_code_types_its_params_by_their_values() -> None:
    layer = Layer("g", "shader", Path("x.glsl"), params={"speed": 2, "tint": [1.0, 0.5, 0.0, 1.0]})
    assert layer.param_spec("speed") == ParamSpec("speed", "float", 2.0, None, None)
    assert layer.param_spec("tint").type == "color"
    with pytest.raises(KeyError, match="layer 'g' has no parameter 'speeed'"):
        layer.param_spec("speeed")
    declared = ParamSpec("speed", "float", 1.0, 0.0, 4.0)
    layer = Layer("g", "shader", Path("x.glsl"), params={"speed": 2.0}, param_specs=(declared,))
    assert layer.param_specs == (declared,)
