"""Show-file problems, word for word: key path, line and message for each kind of mistake.

Where ``test_show_errors.py`` breaks the demo show the way a person might, this file starts
from the smallest valid show and checks the exact text a person reads, the line it points
at, and the values that are accepted at the edges of what is allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import mapping.show
from mapping.errors import ValidationError
from mapping.show import Show, load_show

MINI = """\
schema_version = 1
name = "mini"

[canvas]
size = [64, 48]

[[outputs]]
name = "out"
resolution = [64, 48]

[[outputs]]
name = "side"
resolution = [32, 24]

[[surfaces]]
name = "s"
output = "out"
polygon = [[0, 0], [64, 0], [64, 48], [0, 48]]
corners = [[0, 0], [64, 0], [64, 48], [0, 48]]

[[surfaces]]
name = "t"
output = "side"
polygon = [[0, 0], [32, 0], [32, 24]]
homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]

[[layers]]
name = "bg"
kind = "solid"
color = "#336699"

[[cues]]
name = "go"
[cues.layers.bg]
opacity = 0.5
"""


def load_edited(tmp_path: Path, old: str = "", new: str = "") -> Show:
    assert old in MINI, old
    (tmp_path / "show.toml").write_text(MINI.replace(old, new, 1), encoding="utf-8")
    return load_show(tmp_path)


def problems(tmp_path: Path, old: str, new: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ValidationError) as info:
        load_edited(tmp_path, old, new)
    for p in info.value.problems:
        assert p.file == tmp_path / "show.toml"
    return [(p.key_path, p.line, p.message) for p in info.value.problems]


def test_the_minimal_show_loads(tmp_path):
    show = load_edited(tmp_path)
    assert show.name == "mini"
    assert [o.name for o in show.outputs] == ["out", "side"]
    assert [s.name for s in show.surfaces] == ["s", "t"]
    assert show.layers[0].content == (0x33 / 255, 0x66 / 255, 0x99 / 255, 1.0)
    assert show.layers[0].region_canvas_px == (0.0, 0.0, 64.0, 48.0)  # the whole canvas
    assert show.cues[0].layers["bg"].opacity == 0.5


# --- top level ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("5", "number 5"),
        ("2.5", "number 2.5"),
        ("true", "boolean true"),
        ("false", "boolean false"),
        ("{ a = 1 }", "a table"),
        ("1979-05-27", "date-time 1979-05-27"),
        ("[1, 2]", "array [1, 2]"),
    ],
)
def test_a_name_that_is_not_a_string_says_what_it_got(tmp_path, value, described):
    assert problems(tmp_path, 'name = "mini"', f"name = {value}") == [
        ("name", 2, f"expected a string, got {described}")
    ]


def test_a_show_without_a_name_is_named_after_its_folder(tmp_path):
    assert load_edited(tmp_path, 'name = "mini"\n', "").name == tmp_path.name


def test_a_missing_schema_version(tmp_path):
    assert problems(tmp_path, "schema_version = 1\n", "") == [
        ("schema_version", None, "missing (required)")
    ]


def test_unknown_top_level_key(tmp_path):
    assert problems(tmp_path, "schema_version = 1\n", "schema_version = 1\nnmae = 'x'\n") == [
        ("nmae", 2, "unknown key (did you mean 'name'?); expected one of: "
                    "schema_version, name, canvas, outputs, surfaces, layers, cues, control, "
                    "blend, span, nodes, cluster")
    ]  # fmt: skip


def test_a_missing_canvas_table(tmp_path):
    assert problems(tmp_path, "[canvas]\nsize = [64, 48]\n", "") == [
        ("canvas", None, "missing [canvas] table with size = [width, height]")
    ]


def test_a_canvas_without_size(tmp_path):
    assert problems(tmp_path, "size = [64, 48]", "") == [("canvas.size", 4, "missing (required)")]


SIZE_MESSAGE = "expected [width, height] in pixels (integers 1..16384), got array "


@pytest.mark.parametrize("size", ["[0, 48]", "[64, 0]", "[16385, 48]", "[64, 16385]", "[64]"])
def test_canvas_sizes_outside_1_to_16384_are_refused(tmp_path, size):
    assert problems(tmp_path, "size = [64, 48]", f"size = {size}") == [
        ("canvas.size", 5, SIZE_MESSAGE + size)
    ]


@pytest.mark.parametrize("size", ["[true, 48]", "[64, 48.0]", '"64x48"'])
def test_canvas_sizes_must_be_integers(tmp_path, size):
    [(key_path, line, message)] = problems(tmp_path, "size = [64, 48]", f"size = {size}")
    assert (key_path, line) == ("canvas.size", 5)
    assert message.startswith("expected [width, height] in pixels (integers 1..16384), got ")


@pytest.mark.parametrize("size", [[1, 1], [16384, 16384]])
def test_canvas_sizes_at_the_limits_are_accepted(tmp_path, size):
    show = load_edited(tmp_path, "size = [64, 48]", f"size = {size}")
    assert show.canvas.size_px == tuple(size)


@pytest.mark.parametrize(
    ("key", "value", "described"),
    [
        ("outputs", "3", "number 3"),
        ("layers", '"bg"', "string 'bg'"),
        ("cues", "{ name = 'go' }", "a table"),
    ],
)
def test_a_section_that_is_not_an_array_of_tables(tmp_path, key, value, described):
    # every [[key]] block removed, the key given at the top (before any table) instead
    text = re.sub(rf"\[\[{key}\]\]\n(?:[^\n]+\n)*\n?", "", MINI)
    assert f"[[{key}]]" not in text
    (tmp_path / "show.toml").write_text(f"{key} = {value}\n" + text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    got = [(p.key_path, p.line, p.message) for p in info.value.problems]
    assert (key, 1, f"expected an array of tables ([[{key}]]), got {described}") in got


def test_an_array_entry_that_is_not_a_table(tmp_path):
    (tmp_path / "show.toml").write_text(
        'cues = ["go", { name = "x" }]\n' + MINI[: MINI.index("[[cues]]")]
    )
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [(p.key_path, p.line, p.message) for p in info.value.problems] == [
        ("cues[0]", 1, "expected a table, got string 'go'")
    ]


def test_a_show_without_outputs(tmp_path):
    section = MINI[MINI.index("[[outputs]]") : MINI.index("[[surfaces]]")]
    assert problems(tmp_path, section, "") == [
        ("outputs", None, "missing: a show needs at least one [[outputs]] projector")
    ]


def test_an_empty_array_of_outputs_is_no_output(tmp_path):
    # docs/show-format.md: `outputs` is required, at least one
    section = MINI[MINI.index("[[outputs]]") : MINI.index("[[surfaces]]")]
    assert problems(tmp_path, section, "") == [
        ("outputs", None, "missing: a show needs at least one [[outputs]] projector")
    ]
    (tmp_path / "show.toml").write_text("outputs = []\n" + MINI.replace(section, ""))
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [(p.key_path, p.line, p.message) for p in info.value.problems] == [
        ("outputs", 1, "missing: a show needs at least one [[outputs]] projector")
    ]
    (tmp_path / "show.toml").write_text("outputs = [1]\n" + MINI.replace(section, ""))
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [(p.key_path, p.line, p.message) for p in info.value.problems] == [
        ("outputs[0]", 1, "expected a table, got number 1")
    ]


# --- outputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("display = -1", ("outputs[1].display", 14, "expected an integer 0..63, got number -1")),
        ("display = 1.0", ("outputs[1].display", 14, "expected an integer 0..63, got number 1.0")),
        ("display = true", ("outputs[1].display", 14,
           "expected an integer 0..63,"
           " got boolean true")),
        ("position = [1.5, 0]",
         ("outputs[1].position", 14, "expected [x, y] integers -16384..16384, got array [1.5, 0]")),
        ("position = [0]", ("outputs[1].position", 14,
           "expected [x, y] integers -16384..16384,"
           " got array [0]")),
    ],
)  # fmt: skip
def test_output_problems(tmp_path, line, expected):
    found = problems(tmp_path, "resolution = [32, 24]", f"resolution = [32, 24]\n{line}")
    assert expected in found


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('name = "out"', ("outputs[1].name", 12, "duplicate output name 'out'")),
        ('name = ""', ("outputs[1].name", 12, "expected a non-empty string, got string ''")),
        ("name = 7", ("outputs[1].name", 12, "expected a non-empty string, got number 7")),
        ("name = true", ("outputs[1].name", 12, "expected a non-empty string, got boolean true")),
    ],
)
def test_output_name_problems(tmp_path, line, expected):
    assert expected in problems(tmp_path, 'name = "side"', line)


def test_outputs_take_display_and_position(tmp_path):
    show = load_edited(
        tmp_path,
        "resolution = [32, 24]",
        "resolution = [32, 24]\ndisplay = 2\nposition = [-10, 20]",
    )
    assert show.output("side").display == 2
    assert show.output("side").position == (-10, 20)
    assert show.output("out").display == 0 and show.output("out").position == (0, 0)


# --- surfaces -------------------------------------------------------------------------------

SQUARE = "polygon = [[0, 0], [64, 0], [64, 48], [0, 48]]"
PIN = "corners = [[0, 0], [64, 0], [64, 48], [0, 48]]"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (SQUARE, "polygon = [[0, 0], [64, 0]]",
         [("surfaces[0].polygon", 18, "expected at least 3 points, got 2")]),
        (SQUARE, 'polygon = "square"',
         [("surfaces[0].polygon", 18, "expected a list of [x, y] points, got string 'square'")]),
        (SQUARE, "polygon = [[0, 0], [64, 0], [64, 1e999], [0, 48]]",
         [("surfaces[0].polygon", 18, "expected a list of [x, y] points, got array "
                                      "[[0, 0], [64, 0], [64, inf], [0, 48]]")]),
        (SQUARE, "polygon = [[0, 0], [64, 0], [64, 48, 1], [0, 48]]",
         [("surfaces[0].polygon", 18, "expected a list of [x, y] points, got array "
                                      "[[0, 0], [64, 0], [64, 48, 1], [0, 48]]")]),
        (PIN, "corners = [[0, 0], [64, 0], [64, 48]]",
         [("surfaces[0].corners", 19, "expected a list of 4 [x, y] points, got array "
                                      "[[0, 0], [64, 0], [64, 48]]")]),
        (PIN, "corners = [[0, 0], [64, 0], [128, 0], [0, 48]]",
         [("surfaces[0].corners", 19,
           "degenerate corner pin: corners 0, 1 and 2 are collinear")]),
        (PIN, PIN + "\npins = [[0, 0], [1, 1], [2, 2], [0, 5]]",
         [("surfaces[0].pins", 20, "degenerate pins: corners 0, 1 and 2 are collinear")]),
        (PIN, "", [("surfaces[0]", 15, "expected exactly one of corners, homography, "
                                       "calibration; got none")]),
        (PIN, PIN + "\nhomography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]",
         [("surfaces[0]", 15, "expected exactly one of corners, homography, calibration; "
                              "got corners, homography")]),
        ("homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]",
         "homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\npins = [[0, 0], [1, 0], [1, 1], [0, 1]]",
         [("surfaces[1].pins", 26, "pins only go with corners")]),
        ("homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]", "homography = [[1, 0], [0, 1]]",
         [("surfaces[1].homography", 25,
           "expected a 3×3 H_canvas_to_projector (row-major array of numbers like [[1.0, 0.0, "
           "0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), got shape (2, 2): array [[1, 0], [0, 1]]")]),
        ("homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]",
         "homography = [[1, 0, 0], [0, 1, 0], [-0.1, 0, 1]]",
         [("surfaces[1].homography", 25, "the mapping sends part of the polygon through "
                                          "infinity (behind the projector)")]),
        ('output = "side"', 'output = "sdie"',
         [("surfaces[1].output", 23, "unknown output 'sdie' (did you mean 'side'?); "
                                     "outputs are: out, side")]),
        ('name = "t"', 'name = "s"', [("surfaces[1].name", 22, "duplicate surface name 's'")]),
        ('name = "t"', 'nmae = "t"',
         [("surfaces[1].nmae", 22, "unknown key (did you mean 'name'?); expected one of: "
                                   "name, output, polygon, pins, corners, homography, calibration"),
          ("surfaces[1].name", 21, "missing (required)")]),
        ("homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]", "calibration = 5",
         [("surfaces[1].calibration", 25,
           'expected { file = "...", surface = "..." }, got number 5')]),
        ("homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]", 'calibration = "nope.toml"',
         [("surfaces[1].calibration.file", 25, None)]),
    ],
)  # fmt: skip
def test_surface_problems(tmp_path, old, new, expected):
    found = problems(tmp_path, old, new)
    if expected[-1][2] is None:  # message checked by its start only (it holds tmp_path)
        assert [(k, n) for k, n, _ in found] == [(k, n) for k, n, _ in expected]
        assert found[0][2].startswith("file not found: nope.toml (looked for ")
    else:
        assert found == expected


def test_a_corner_pin_maps_the_polygon_or_its_pins_onto_the_corners(tmp_path):
    pinned = load_edited(tmp_path, PIN, "corners = [[10, 5], [60, 2], [62, 40], [8, 44]]")
    s = pinned.surfaces[0]
    assert s.mapping == "corners"
    np.testing.assert_allclose(s.polygon_projector_px, [[10, 5], [60, 2], [62, 40], [8, 44]])


def test_explicit_pins_are_what_the_corners_pin(tmp_path):
    show = load_edited(
        tmp_path, PIN, "corners = [[0, 0], [32, 0], [32, 24], [0, 24]]\n"
                       "pins = [[0, 0], [128, 0], [128, 96], [0, 96]]"
    )  # fmt: skip
    # pins twice the polygon's size onto corners half its size: a quarter scale
    np.testing.assert_allclose(
        show.surfaces[0].polygon_projector_px, [[0, 0], [16, 0], [16, 12], [0, 12]], atol=1e-9
    )


def test_a_non_quad_polygon_is_pinned_by_its_bounding_box(tmp_path):
    show = load_edited(
        tmp_path, SQUARE + "\n" + PIN,
        "polygon = [[0, 0], [64, 0], [64, 48], [32, 24], [0, 48]]\n"
        "corners = [[0, 0], [32, 0], [32, 24], [0, 24]]",
    )  # fmt: skip
    np.testing.assert_allclose(
        show.surfaces[0].polygon_projector_px,
        [[0, 0], [32, 0], [32, 24], [16, 12], [0, 24]],
        atol=1e-9,
    )


# --- layers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rgba"),
    [
        ('"#336699"', (0x33 / 255, 0x66 / 255, 0x99 / 255, 1.0)),
        ('"#33669980"', (0x33 / 255, 0x66 / 255, 0x99 / 255, 0x80 / 255)),
        ('"#ABCDEF"', (0xAB / 255, 0xCD / 255, 0xEF / 255, 1.0)),
        ("[1, 0.5, 0]", (1.0, 0.5, 0.0, 1.0)),
        ("[0.1, 0.2, 0.3, 0.4]", (0.1, 0.2, 0.3, 0.4)),
        ("[0, 0, 0, 0]", (0.0, 0.0, 0.0, 0.0)),
    ],
)
def test_colours_as_hex_or_lists(tmp_path, value, rgba):
    show = load_edited(tmp_path, 'color = "#336699"', f"color = {value}")
    assert show.layers[0].content == rgba


@pytest.mark.parametrize(
    "value", ['"#3366"', '"336699"', "[1.5, 0, 0]", "[-0.1, 0, 0]", "[1, 0]", "[1, 0, 0, 1, 1]"]
)
def test_colours_out_of_range_or_malformed(tmp_path, value):
    [(key_path, line, message)] = problems(tmp_path, 'color = "#336699"', f"color = {value}")
    assert (key_path, line) == ("layers[0].color", 30)
    assert message.startswith('expected a colour "#rrggbb" or [r, g, b] with values 0..1, got ')


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("opacity = 1.5",
         ("layers[0].opacity", 31, "expected a number between 0.0 and 1.0, got 1.5")),
        ("opacity = -0.5",
         ("layers[0].opacity", 31, "expected a number between 0.0 and 1.0, got -0.5")),
        ('opacity = "half"', ("layers[0].opacity", 31,
           "expected a number between 0.0 and 1.0,"
           " got string 'half'")),
        ("opacity = true", ("layers[0].opacity", 31,
           "expected a number between 0.0 and 1.0,"
           " got boolean true")),
        ("opacity = nan", ("layers[0].opacity", 31,
           "expected a number between 0.0 and 1.0,"
           " got number nan")),
        ('blend = "overlay"',
         ("layers[0].blend", 31, "unknown blend mode 'overlay'; expected one of: "
                                 "normal, add, multiply, screen")),
        ("loop = 1", ("layers[0].loop", 31, "expected true or false, got number 1")),
        ("region = [0, 0, 0, 10]", ("layers[0].region", 31, "expected [x, y, width, height] in "
                                    "canvas pixels, x and y -65536..65536,"
                                    " width and height 0.01..16384, "
                                    "got array [0, 0, 0, 10]")),
        ("region = [0, 0, 10, -1]", ("layers[0].region", 31, "expected [x, y, width, height] in "
                                     "canvas pixels, x and y -65536..65536,"
                                     " width and height 0.01..16384, "
                                    "got array [0, 0, 10, -1]")),
        ("region = [0, 0, 10]", ("layers[0].region", 31, "expected [x, y, width, height] in "
                                 "canvas pixels, x and y -65536..65536,"
                                 " width and height 0.01..16384, "
                                    "got array [0, 0, 10]")),
        ('file = "x.png"', ("layers[0].file", 31, "'file' is for image, video and audio layers; "
                                                  "a solid layer takes 'color'")),
    ],
)  # fmt: skip
def test_layer_problems(tmp_path, line, expected):
    found = problems(tmp_path, 'color = "#336699"', f'color = "#336699"\n{line}')
    assert expected in found


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ('"slid"', "unknown kind 'slid' (did you mean 'solid'?); expected one of: "
                   "solid, image, video, shader, live, audio, isf"),
        ("3", "unknown kind 3; expected one of: solid, image, video, shader, live, audio, isf"),
    ],
)  # fmt: skip
def test_unknown_layer_kinds(tmp_path, kind, expected):
    assert ("layers[0].kind", 29, expected) in problems(
        tmp_path, 'kind = "solid"', f"kind = {kind}"
    )


def test_a_layer_of_unknown_kind_is_not_asked_for_its_in_and_out_points(tmp_path):
    """Which layers take ``in``/``out`` depends on the kind: with the kind wrong, only the
    kind is reported (and nothing fails looking up a kind that does not exist)."""
    assert problems(tmp_path, 'kind = "solid"', 'kind = "vidoe"\nin = 1.0\nout = 2.0') == [
        ("layers[0].kind", 29, "unknown kind 'vidoe' (did you mean 'video'?); expected one of: "
                               "solid, image, video, shader, live, audio, isf")
    ]  # fmt: skip


def test_layers_take_region_blend_opacity_and_loop(tmp_path):
    show = load_edited(
        tmp_path, 'color = "#336699"',
        'color = "#336699"\nregion = [1, 2.5, 3, 4]\nblend = "screen"\nopacity = 0.25\n'
        "loop = false",
    )  # fmt: skip
    layer = show.layer("bg")
    assert (layer.region_canvas_px, layer.blend, layer.opacity, layer.loop) == (
        (1.0, 2.5, 3.0, 4.0), "screen", 0.25, False
    )  # fmt: skip


def test_a_duplicate_layer_name(tmp_path):
    extra = '\n[[layers]]\nname = "bg"\nkind = "solid"\ncolor = [0, 0, 0]\n'
    found = problems(tmp_path, 'color = "#336699"\n', 'color = "#336699"\n' + extra)
    assert ("layers[1].name", 33, "duplicate layer name 'bg'") in found


# --- cues -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("opacity = 0.5", "opacity = 2",
         ("cues[0].layers.bg.opacity", 35, "expected a number between 0.0 and 1.0, got 2")),
        ("opacity = 0.5", "opacty = 0.5",
         ("cues[0].layers.bg.opacty", 35, "unknown key (did you mean 'opacity'?); "
                                          "expected one of: opacity, color, params, fade, curve, "
                                          "transition, transition_params")),
        ("opacity = 0.5", 'color = "red"',
         ("cues[0].layers.bg.color", 35, 'expected a colour "#rrggbb" or [r, g, b] with values '
                                         "0..1, got string 'red'")),
        ("[cues.layers.bg]\nopacity = 0.5", "layers = 5",
         ("cues[0].layers", 34, "expected a table of layer states, got number 5")),
        ("[cues.layers.bg]\nopacity = 0.5", "layers = { bg = 0.5 }",
         ("cues[0].layers.bg", 34, "expected a table like { opacity = 1.0 }, got number 0.5")),
        ('name = "go"', 'name = "go"\nfade = -1',
         ("cues[0].fade", 34, "expected a number between 0.0 and 86400.0 s, got -1")),
        ('name = "go"', "fade = 1", ("cues[0].name", 32, "missing (required)")),
    ],
)  # fmt: skip
def test_cue_problems(tmp_path, old, new, expected):
    assert expected in problems(tmp_path, old, new)


def test_a_cue_sets_opacity_and_content(tmp_path):
    show = load_edited(tmp_path, "opacity = 0.5", "opacity = 0.5\ncolor = [0, 1, 0]")
    change = show.cues[0].layers["bg"]
    assert (change.opacity, change.content) == (0.5, (0.0, 1.0, 0.0, 1.0))
    assert show.cues[0].fade_s == 0.0


def test_a_duplicate_cue_name(tmp_path):
    found = problems(tmp_path, "opacity = 0.5\n", 'opacity = 0.5\n\n[[cues]]\nname = "go"\n')
    assert ("cues[1].name", 38, "duplicate cue name 'go'") in found


# --- the show object ------------------------------------------------------------------------


def test_looking_up_an_unknown_name_raises_key_error_naming_it(tmp_path):
    show = load_edited(tmp_path)
    for lookup in (show.output, show.layer, show.cue_index):
        with pytest.raises(KeyError) as info:
            lookup("nope")
        assert info.value.args == ("nope",)
    assert show.cue_index("go") == 0
    assert show.file == tmp_path / "show.toml"
    assert [s.name for s in show.surfaces_on("side")] == ["t"]


def test_a_long_value_is_cut_to_60_characters_in_messages(tmp_path):
    # corners with 5 points: the message shows the value, cut after 57 characters
    five = [[1000 + i, 2000 + i] for i in range(5)]
    found = problems(tmp_path, PIN, f"corners = {five}")
    text = repr(five)
    assert len(text) > 60
    assert found == [
        ("surfaces[0].corners", 19, f"expected a list of 4 [x, y] points, got array {text[:57]}...")
    ]


@pytest.mark.parametrize("length", [60, 61])
def test_values_up_to_60_characters_are_shown_whole(tmp_path, length):
    value = [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]
    value[0][0] = int("1" * (length - len(repr(value)) + 1))
    text = repr(value)
    assert len(text) == length
    [(_, _, message)] = problems(tmp_path, PIN, f"corners = {value}")
    shown = message.removeprefix("expected a list of 4 [x, y] points, got array ")
    assert shown == (text if length <= 60 else text[:57] + "...")


# --- more edges -----------------------------------------------------------------------------


def test_a_folder_without_a_show_file_says_so_exactly(tmp_path):
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    [problem] = info.value.problems
    assert (problem.file, problem.key_path, problem.line, problem.message) == (
        tmp_path / "show.toml", "", None,
        "show file not found: expected a folder containing show.toml",
    )  # fmt: skip


def test_a_syntax_error_at_the_very_end_has_no_line(tmp_path):
    (tmp_path / "show.toml").write_text('schema_version = 1\nname = "abc', encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    [problem] = info.value.problems
    assert (problem.line, problem.message) == (
        None, "TOML syntax error: Unterminated string (at end of document)"
    )  # fmt: skip


def test_bytes_that_are_not_utf8_even_in_a_comment_are_named_with_their_line(tmp_path):
    # the calibration loader refuses the same byte: both say it the same way (issue 10)
    text = MINI.replace("[canvas]", "# caf\xe9 (Latin-1)\n[canvas]").encode("latin-1")
    line = text[: text.index(b"\xe9")].count(b"\n") + 1
    (tmp_path / "show.toml").write_bytes(text)
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    [problem] = info.value.problems
    assert (problem.line, problem.key_path) == (line, "")
    assert problem.message.startswith("not UTF-8 text: byte 0xe9 at column 6 is not valid UTF-8")


def test_a_show_file_path_is_as_good_as_its_folder(tmp_path):
    load_edited(tmp_path)
    assert load_show(tmp_path / "show.toml").root == tmp_path


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("outputs", ("outputs[1].name", 11, "missing (required)")),
        ("layers", ("layers[0].name", 27, "missing (required)")),
    ],
)
def test_a_table_without_its_name(tmp_path, table, expected):
    old = {"outputs": 'name = "side"\n', "layers": 'name = "bg"\n'}[table]
    assert expected in problems(tmp_path, old, "")


@pytest.mark.parametrize("region", ["[0, 0, 0.5, 0.25]", "[-10, -10, 1, 1]"])
def test_a_small_or_offset_region_is_fine(tmp_path, region):
    show = load_edited(tmp_path, 'color = "#336699"', f'color = "#336699"\nregion = {region}')
    assert show.layers[0].region_canvas_px == tuple(float(v) for v in json.loads(region))


def test_a_region_of_zero_height_is_refused(tmp_path):
    found = problems(tmp_path, 'color = "#336699"', 'color = "#336699"\nregion = [0, 0, 10, 0]')
    assert [k for k, _, _ in found] == ["layers[0].region"]


def test_a_quad_polygon_is_pinned_by_its_own_corners(tmp_path):
    show = load_edited(
        tmp_path, SQUARE + "\n" + PIN,
        "polygon = [[0, 0], [64, 8], [60, 48], [4, 40]]\n"
        "corners = [[10, 5], [60, 2], [62, 40], [8, 44]]",
    )  # fmt: skip
    np.testing.assert_allclose(
        show.surfaces[0].polygon_projector_px, [[10, 5], [60, 2], [62, 40], [8, 44]], atol=1e-9
    )


def test_every_bad_layer_state_in_a_cue_and_every_bad_cue_is_reported(tmp_path):
    cues = (
        '[[cues]]\nname = "go"\n[cues.layers]\nbg = 0.5\nfg = { opacity = 1 }\n'
        "bg2 = { opacty = 1 }\n\n"
        '[[cues]]\nfade = 1\n\n[[cues]]\nname = "late"\nfade = -1\n\n'
        '[[cues]]\nname = "ok"\n'
    )
    extra_layer = '\n[[layers]]\nname = "bg2"\nkind = "solid"\ncolor = [0, 0, 0]\n\n'
    text = MINI[: MINI.index("[[cues]]")] + extra_layer + cues
    (tmp_path / "show.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [p.key_path for p in info.value.problems] == [
        "cues[0].layers.bg",
        "cues[0].layers.fg",
        "cues[0].layers.bg2.opacty",
        "cues[1].name",
        "cues[2].fade",
    ]


# --- calibration references ------------------------------------------------------------------

CAL = "homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]"


@pytest.fixture
def with_calibration(tmp_path):
    """The demo venue's calibration file beside the show (one surface, 'right-wing',
    made for output 'right'); output 'side' renamed 'right' so that it matches."""
    cal = tmp_path / "cal.toml"
    cal.write_text((REPO / "shows" / "calibrations" / "demo-venue.toml").read_text())
    return cal


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ('{ file = "cal.toml", sufrace = "right-wing" }',
         ("surfaces[1].calibration.sufrace", 25,
          "unknown key (did you mean 'surface'?); expected one of: file, surface")),
        ('{ surface = "right-wing" }', ("surfaces[1].calibration.file", 25, "missing (required)")),
        ('{ file = "cal.toml", surface = 3 }',
         ("surfaces[1].calibration.surface", 25, "expected a non-empty string, got number 3")),
    ],
)  # fmt: skip
def test_calibration_reference_problems(tmp_path, with_calibration, ref, expected):
    assert expected in problems(tmp_path, CAL, f"calibration = {ref}")


def test_a_calibration_entry_the_file_does_not_have(tmp_path, with_calibration):
    found = problems(tmp_path, CAL, 'calibration = { file = "cal.toml", surface = "nope" }')
    assert found == [
        ("surfaces[1].calibration", 25,
         f"calibration file {with_calibration} has no surface 'nope'; it has: right-wing")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"100"', "unknown cue '100' (did you mean '10'?)"),  # hinted from the cue numbers
        ('"zz"', "unknown cue 'zz'"),
        ("true", 'expected a cue number like 1, 1.5 or "2a", got boolean true'),
    ],
)
def test_a_cue_next_that_is_no_cue(tmp_path, value, expected):
    found = problems(tmp_path, 'name = "go"\n', f'name = "go"\nnumber = 10\nnext = {value}\n')
    assert found == [("cues[0].next", 35, expected)]


def test_a_polygon_over_the_vertex_limit_is_refused(tmp_path, monkeypatch):
    """The limit is 100 000 vertices (a file that long takes 0.8 s to read); lowered to 3
    here, surface 's' (4 vertices) is over it and surface 't' (3) is not."""
    monkeypatch.setattr(mapping.show, "MAX_POLYGON_VERTICES", 3)
    assert problems(tmp_path, "", "") == [
        ("surfaces[0].polygon", 18, "expected a list of [x, y] points (at most 3), got 4 points")
    ]


SIDE = 'output = "side"\npolygon = [[0, 0], [32, 0], [32, 24]]\n'


def test_a_surface_without_a_name_has_no_follow_on_problem_from_its_calibration(
    tmp_path, with_calibration
):
    """The entry is looked for under the surface's name; without a name only the name is
    reported (not "no surface ''" in the file)."""
    found = problems(tmp_path, 'name = "t"\n', "")
    assert found == [("surfaces[1].name", 21, "missing (required)")]
    found = problems(tmp_path, 'name = "t"\n' + SIDE + CAL, SIDE + 'calibration = "cal.toml"')
    assert found == [("surfaces[1].name", 21, "missing (required)")]
    # the file is still read and checked
    with_calibration.write_text("schema_version = 1\n[surfaces.x]\n")
    with pytest.raises(ValidationError) as info:
        load_edited(tmp_path, 'name = "t"\n' + SIDE + CAL, SIDE + 'calibration = "cal.toml"')
    assert [(p.file.name, p.key_path) for p in info.value.problems] == [
        ("show.toml", "surfaces[1].name"),
        ("cal.toml", "surfaces.x.output"),
        ("cal.toml", "surfaces.x.H_canvas_to_projector"),
    ]


def test_a_calibration_made_for_another_output(tmp_path, with_calibration):
    found = problems(tmp_path, CAL, 'calibration = { file = "cal.toml", surface = "right-wing" }')
    assert found == [
        ("surfaces[1].calibration", 25,
         "calibration for 'right-wing' was made for output 'right', "
         "but the surface is on output 'side'")
    ]  # fmt: skip


def test_a_calibration_reference_by_surface_name_or_by_file_alone(tmp_path, with_calibration):
    text = MINI.replace('name = "side"', 'name = "right"').replace(
        'output = "side"', 'output = "right"'
    )
    text = text.replace('name = "t"', 'name = "right-wing"')
    (tmp_path / "show.toml").write_text(text.replace(CAL, 'calibration = "cal.toml"'))
    show = load_show(tmp_path)
    surface = show.surfaces[1]
    assert (surface.mapping, surface.calibration_file) == ("calibration", with_calibration)
    assert surface.H_canvas_to_projector.dtype == np.float64
    np.testing.assert_allclose(
        surface.H_canvas_to_projector[0], [1.449728729, -0.036812336, -1073.693598163]
    )


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        ('kind = "solid"\n', ("layers[0].kind", 27, "missing (required)")),
        (SQUARE + "\n", ("surfaces[0].polygon", 15, "missing (required)")),
    ],
)
def test_a_missing_key_is_named_with_its_table(tmp_path, old, expected):
    assert expected in problems(tmp_path, old, "")
