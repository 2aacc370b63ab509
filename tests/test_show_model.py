"""The show model's own answers: clip in and out points, cue labels, durations and lists,
look-ups by name, and the specs of parameters a layer made in code is given; what a cue sets
on surfaces and outputs, the files a show lists and watches, and the messages for parameters
a content file does not declare.

Each expectation is written out from the show text of its test. Pure: no GL, no decoding
(the clip file only has to exist: loading checks files, it does not open media).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mapping.color import OutputColor
from mapping.errors import ValidationError
from mapping.params import ParamSpec
from mapping.show import (
    Cue,
    Layer,
    LayerChange,
    Output,
    OutputChange,
    Show,
    SurfaceChange,
    load_show,
)

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


# --- a show with a surface: cue states of surfaces and outputs, files, parameters -----------

WALL_HEAD = """\
schema_version = 1
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
[[surfaces]]
name = "wall"
output = "out"
polygon = [[0, 0], [32, 0], [32, 16], [0, 16]]
corners = [[0, 0], [32, 0], [32, 16], [0, 16]]
[[layers]]
name = "bg"
kind = "solid"
color = "#ff0000"
"""
"""Fifteen lines; what a test appends starts on line 16."""


def write_show(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "show.toml").write_text(text, encoding="utf-8")
    return folder


def load_wall(folder: Path, extra: str, head: str = WALL_HEAD) -> Show:
    return load_show(write_show(folder, head + extra))


def wall_problems(
    folder: Path, extra: str, head: str = WALL_HEAD
) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationError) as info:
        load_wall(folder, extra, head)
    for p in info.value.problems:
        assert p.file == folder / "show.toml"
    return [(p.key_path, p.message, p.line) for p in info.value.problems]


# --- what a cue sets on surfaces and outputs -----------------------------------------------


def test_a_cue_sets_a_surfaces_visibility_and_an_outputs_level(tmp_path: Path) -> None:
    show = load_wall(
        tmp_path,
        '[[cues]]\nname = "a"\n[cues.surfaces.wall]\nvisible = false\n'
        "[cues.outputs.out]\nlevel = 0.25\n"
        '[[cues]]\nname = "b"\n[cues.surfaces.wall]\nvisible = true\n'
        "[cues.outputs.out]\nlevel = 1\n"
        '[[cues]]\nname = "c"\n[cues.surfaces.wall]\n[cues.outputs.out]\n'
        '[[cues]]\nname = "d"\n[cues.outputs.out]\nlevel = 0\n',
    )
    a, b, c, d = show.cues
    assert (a.surfaces, a.outputs) == ({"wall": SurfaceChange(False)}, {"out": OutputChange(0.25)})
    assert (b.surfaces, b.outputs) == ({"wall": SurfaceChange(True)}, {"out": OutputChange(1.0)})
    assert (c.surfaces, c.outputs) == ({"wall": SurfaceChange(None)}, {"out": OutputChange(None)})
    assert (d.surfaces, d.outputs) == ({}, {"out": OutputChange(0.0)})
    assert isinstance(b.outputs["out"].level, float)


def test_bad_surface_and_output_states_in_a_cue(tmp_path: Path) -> None:
    extra = (
        '[[cues]]\nname = "a"\n'  # 16, 17
        "[cues.surfaces.wall]\nvisible = 1\n"  # 18, 19
        "[cues.outputs.out]\nlevel = 1.01\n"  # 20, 21
        '[[cues]]\nname = "b"\n'  # 22, 23
        '[cues.surfaces.wall]\nvisible = "no"\nshown = true\n'  # 24, 25, 26
        "[cues.outputs.out]\nlevel = -0.01\n"  # 27, 28
    )
    assert wall_problems(tmp_path, extra) == [
        ("cues[0].surfaces.wall.visible", "expected true or false, got number 1", 19),
        ("cues[0].outputs.out.level", "expected a number between 0.0 and 1.0, got 1.01", 21),
        (
            "cues[1].surfaces.wall.shown",
            "unknown key; expected one of: visible",
            26,
        ),
        ("cues[1].surfaces.wall.visible", "expected true or false, got string 'no'", 25),
        ("cues[1].outputs.out.level", "expected a number between 0.0 and 1.0, got -0.01", 28),
    ]


# --- the files a show needs and watches -----------------------------------------------------

CAL = """\
schema_version = 1
[surfaces.wing]
output = "out"
H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

INVERT = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage); }
"""

WIPE = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/
void main() { gl_FragColor = IMG_NORM_PIXEL(endImage, isf_FragNormCoord); }
"""

FILES_SHOW = """\
schema_version = 1
[canvas]
size = [32, 16]
reference = "media/ref.png"
[[outputs]]
name = "out"
resolution = [32, 16]
[[surfaces]]
name = "wall"
output = "out"
polygon = [[0, 0], [32, 0], [32, 16], [0, 16]]
corners = [[0, 0], [32, 0], [32, 16], [0, 16]]
[[surfaces]]
name = "wing"
output = "out"
polygon = [[0, 0], [8, 0], [8, 8], [0, 8]]
calibration = "cal.toml"
[[layers]]
name = "bg"
kind = "solid"
color = "#ff0000"
[[layers]]
name = "pic"
kind = "image"
file = "media/a.png"
filters = [{ shader = "shaders/invert.fs" }, { shader = "shaders/invert.fs", name = "again" }]
[[layers]]
name = "clip"
kind = "video"
file = "media/v.mp4"
[[cues]]
name = "one"
transition = "shaders/wipe.fs"
[cues.layers.pic]
file = "media/b.png"
[cues.layers.clip]
file = "media/w.mp4"
transition = "shaders/wipe2.fs"
[[cues]]
name = "two"
[cues.layers.bg]
color = "#00ff00"
[cues.layers.pic]
opacity = 0.5
"""


def files_folder(folder: Path, blend: bool) -> Path:
    """A show using every kind of file: a canvas reference, images, videos, filters,
    transitions of a cue and of a cue layer, a calibration file; with ``blend``, the
    show folder's ``calibration.toml`` (the [blend] default) exists too."""
    (folder / "media").mkdir(parents=True)
    (folder / "shaders").mkdir()
    for name in ("ref.png", "a.png", "b.png", "v.mp4", "w.mp4"):
        (folder / "media" / name).write_bytes(b"not decoded when loading")
    (folder / "shaders" / "invert.fs").write_text(INVERT, encoding="utf-8")
    for name in ("wipe.fs", "wipe2.fs"):
        (folder / "shaders" / name).write_text(WIPE, encoding="utf-8")
    (folder / "cal.toml").write_text(CAL, encoding="utf-8")
    if blend:
        (folder / "calibration.toml").write_text("schema_version = 1\n", encoding="utf-8")
    return write_show(folder, FILES_SHOW)


def test_every_file_the_show_needs_with_its_key_path_and_kind(tmp_path: Path) -> None:
    show = load_show(files_folder(tmp_path, blend=False))
    root = tmp_path.resolve()
    media, shaders = root / "media", root / "shaders"
    assert show.content_files() == [
        ("canvas.reference", media / "ref.png", "image"),
        ("layers[1].file", media / "a.png", "image"),
        ("layers[2].file", media / "v.mp4", "video"),
        ("cues[0].layers.pic.file", media / "b.png", "image"),
        ("cues[0].layers.clip.file", media / "w.mp4", "video"),
        ("layers[1].filters[0].shader", shaders / "invert.fs", "isf"),
        ("layers[1].filters[1].shader", shaders / "invert.fs", "isf"),
        ("cues[0].transition", shaders / "wipe.fs", "isf"),
        ("cues[0].layers.clip.transition", shaders / "wipe2.fs", "isf"),
    ]
    assert show.isf_files() == show.content_files()[5:]
    assert show.media_files() == [(key, path) for key, path, _ in show.content_files()]


def test_the_watched_files_are_the_show_its_calibrations_and_its_content(tmp_path: Path) -> None:
    show = load_show(files_folder(tmp_path, blend=False))
    root = tmp_path.resolve()
    content = {path for _, path, _ in show.content_files()}
    # the surface's calibration file; the [blend] default calibration.toml does not exist
    assert show.blend.calibration_file == root / "cal.toml"
    assert show.watched_files() == {tmp_path / "show.toml", root / "cal.toml"} | content


def test_an_existing_blend_calibration_file_is_watched(tmp_path: Path) -> None:
    show = load_show(files_folder(tmp_path, blend=True))
    root = tmp_path.resolve()
    content = {path for _, path, _ in show.content_files()}
    # the surfaces' own calibration file is the [blend] default when a surface uses one
    assert show.blend.calibration_file == root / "cal.toml"
    (tmp_path / "show.toml").write_text(
        FILES_SHOW.replace(
            'calibration = "cal.toml"', "homography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]"
        ),
        encoding="utf-8",
    )
    show = load_show(tmp_path)
    assert show.blend.calibration_file == tmp_path / "calibration.toml"
    assert show.watched_files() == {tmp_path / "show.toml", tmp_path / "calibration.toml"} | content


# --- the model: look-ups, labels, durations -------------------------------------------------


def test_lookups_by_name_and_their_key_errors(tmp_path: Path) -> None:
    head = WALL_HEAD.replace(
        "[[surfaces]]",
        '[[outputs]]\nname = "side"\nresolution = [8, 8]\n[[surfaces]]',
    )
    extra = (
        '[[surfaces]]\nname = "pier"\noutput = "side"\n'
        "polygon = [[0, 0], [8, 0], [8, 8]]\nhomography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n"
        '[[surfaces]]\nname = "arch"\noutput = "out"\n'
        "polygon = [[0, 0], [8, 0], [8, 8]]\nhomography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n"
        '[[layers]]\nname = "fg"\nkind = "solid"\ncolor = "#0000ff"\n'
    )
    show = load_wall(tmp_path, extra, head)
    assert show.output("side") is show.outputs[1]
    assert show.output("out") is show.outputs[0]
    assert show.surface("arch") is show.surfaces[2]
    assert show.surface("wall") is show.surfaces[0]
    assert show.layer("fg") is show.layers[1]
    assert show.layer("bg") is show.layers[0]
    assert [s.name for s in show.surfaces_on("out")] == ["wall", "arch"]
    assert [s.name for s in show.surfaces_on("side")] == ["pier"]
    assert show.surfaces_on("none") == ()
    for look_up in (show.output, show.surface, show.layer, show.cue_index):
        with pytest.raises(KeyError) as info:
            look_up("nothing")
        assert info.value.args == ("nothing",)


def test_a_cues_duration_is_its_longest_fade(tmp_path: Path) -> None:
    head = WALL_HEAD + '[[layers]]\nname = "fg"\nkind = "solid"\ncolor = "#0000ff"\n'
    extra = (
        '[[cues]]\nname = "a"\nfade = 2.5\n[cues.layers.bg]\nfade = 1.0\n'
        "[cues.layers.fg]\nopacity = 0.5\n"
        '[[cues]]\nname = "b"\nfade = 0.5\n[cues.layers.bg]\nfade = 4.0\n'
        "[cues.layers.fg]\nfade = 3.0\n"
        '[[cues]]\nname = "c"\n'
    )
    a, b, c = load_wall(tmp_path, extra, head).cues
    assert (a.duration_s(), b.duration_s(), c.duration_s()) == (2.5, 4.0, 0.0)
    assert Cue("x", {"l": LayerChange(fade_s=None)}, fade_s=0.25).duration_s() == 0.25


def test_a_layer_made_in_code_gets_one_spec_per_param_of_its_value(tmp_path: Path) -> None:
    layer = Layer(
        "l", "solid", (1.0, 0.0, 0.0, 1.0), params={"speed": 2, "on": True, "tint": [1.0, 0.5]}
    )
    specs = {spec.name: spec for spec in layer.param_specs}
    assert list(specs) == ["speed", "on", "tint"]
    assert (specs["speed"].type, specs["speed"].default) == ("float", 2.0)
    assert specs["on"].type == "bool"
    assert specs["tint"].type == "point2D"
    assert layer.param_spec("speed") is specs["speed"]
    with pytest.raises(KeyError, match="layer 'l' has no parameter 'nope'"):
        layer.param_spec("nope")


# --- parameters a content file does not declare --------------------------------------------

GEN = """\
uniform float speed; // range 0..4 default 1
uniform int bands; // range 1..8 default 3
void mainImage(out vec4 c, in vec2 f) { c = vec4(speed); }
"""

PLAIN = "void mainImage(out vec4 c, in vec2 f) { c = vec4(1.0); }\n"


def shader_layer(file: str, params: str) -> str:
    return f'[[layers]]\nname = "gen"\nkind = "shader"\nshader = "{file}"\nparams = {params}\n'


def test_a_parameter_no_uniform_declares(tmp_path: Path) -> None:
    show = tmp_path / "show"
    (show / "shaders").mkdir(parents=True)
    (show / "shaders" / "gen.glsl").write_text(GEN, encoding="utf-8")
    (show / "shaders" / "plain.glsl").write_text(PLAIN, encoding="utf-8")
    (tmp_path / "elsewhere.glsl").write_text(GEN, encoding="utf-8")
    outside = (tmp_path / "elsewhere.glsl").resolve()
    extra = (
        shader_layer("shaders/plain.glsl", "{ speed = 1.0 }")  # 16..20
        + shader_layer("../elsewhere.glsl", "{ sped = 1.0 }").replace('"gen"', '"far"')
        + shader_layer("shaders/gen.glsl", "{ bnds = 2 }").replace('"gen"', '"near"')
    )
    assert wall_problems(show, extra) == [
        (
            "layers[1].params.speed",
            "shaders/plain.glsl declares no parameters (no uniforms), so not 'speed'",
            20,
        ),
        (
            "layers[2].params.sped",
            f"{outside} declares no parameter 'sped' (did you mean 'speed'?); "
            "it declares: speed, bands",
            25,
        ),
        (
            "layers[3].params.bnds",
            "shaders/gen.glsl declares no parameter 'bnds' (did you mean 'bands'?); "
            "it declares: speed, bands",
            30,
        ),
    ]


def test_a_cue_parameter_the_layer_lacks(tmp_path: Path) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "gen.glsl").write_text(GEN, encoding="utf-8")
    head = WALL_HEAD.replace('color = "#ff0000"\n', 'color = "#ff0000"\nparams = { level = 0.5 }\n')
    extra = (
        shader_layer("shaders/gen.glsl", "{ speed = 2.0 }")  # 17..21
        + '[[cues]]\nname = "a"\n'  # 22, 23
        "[cues.layers.bg]\nparams = { levl = 1.0, level = 2e9 }\n"  # 24, 25
        "[cues.layers.gen]\nparams = { sped = 1.0, bands = 9 }\n"  # 26, 27
    )
    assert wall_problems(tmp_path, extra, head) == [
        (
            "cues[0].layers.bg.params.levl",
            "layer 'bg' declares no parameter 'levl' (did you mean 'level'?); "
            "declare it in the layer's params with its start value",
            25,
        ),
        (
            "cues[0].layers.bg.params.level",
            "expected a number between -1000000000.0 and 1000000000.0, got 2000000000.0",
            25,
        ),
        (
            "cues[0].layers.gen.params.sped",
            "layer 'gen': shaders/gen.glsl declares no parameter 'sped' "
            "(did you mean 'speed'?); it declares: speed, bands",
            27,
        ),
        (
            "cues[0].layers.gen.params.bands",
            "expected an integer in 1..8, got 9 (as shaders/gen.glsl declares)",
            27,
        ),
    ]
    good = (
        shader_layer("shaders/gen.glsl", "{ speed = 2.0 }") + '[[cues]]\nname = "a"\n'
        "[cues.layers.bg]\nparams = { level = -1e9 }\n"
        "[cues.layers.gen]\nparams = { bands = 8, speed = 0 }\n"
    )
    a = load_wall(tmp_path, good, head).cues[0]
    assert a.layers["bg"].params == {"level": -1e9}
    assert a.layers["gen"].params == {"bands": 8, "speed": 0.0}


def test_a_calibration_file_without_the_surface_lists_the_surfaces_it_has(tmp_path: Path) -> None:
    two = CAL + (
        '[surfaces.arch]\noutput = "out"\n'
        "H_canvas_to_projector = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]\n"
    )
    (tmp_path / "two.toml").write_text(two, encoding="utf-8")
    (tmp_path / "empty.toml").write_text("schema_version = 1\n", encoding="utf-8")
    extra = (
        '[[surfaces]]\nname = "pier"\noutput = "out"\n'  # 16..18
        'polygon = [[0, 0], [8, 0], [8, 8]]\ncalibration = "two.toml"\n'  # 19, 20
        '[[surfaces]]\nname = "gate"\noutput = "out"\n'  # 21..23
        'polygon = [[0, 0], [8, 0], [8, 8]]\ncalibration = "empty.toml"\n'  # 24, 25
    )
    root = tmp_path.resolve()
    assert wall_problems(tmp_path, extra) == [
        (
            "surfaces[1].calibration",
            f"calibration file {root / 'two.toml'} has no surface 'pier'; it has: wing, arch",
            20,
        ),
        (
            "surfaces[2].calibration",
            f"calibration file {root / 'empty.toml'} has no surface 'gate'; it has: none",
            25,
        ),
    ]


def test_a_cue_on_an_invalid_layer_still_has_its_other_layers_checked(tmp_path: Path) -> None:
    extra = (
        '[[layers]]\nname = "bad"\nkind = "solid"\ncolor = "#00ff00"\nopacity = 2\n'  # 16..20
        '[[cues]]\nname = "a"\n'  # 21, 22
        "[cues.layers.bad]\nopacity = 0.5\n"  # 23, 24
        "[cues.layers.bg]\nopacity = 3\n"  # 25, 26
    )
    assert wall_problems(tmp_path, extra) == [
        ("layers[1].opacity", "expected a number between 0.0 and 1.0, got 2", 20),
        ("cues[0].layers.bg.opacity", "expected a number between 0.0 and 1.0, got 3", 26),
    ]


def test_pins_and_corners_are_four_points_each(tmp_path: Path) -> None:
    extra = (
        '[[surfaces]]\nname = "pier"\noutput = "out"\n'  # 16..18
        "polygon = [[0, 0], [8, 0], [8, 8], [0, 8]]\n"  # 19
        "corners = [[0, 0], [8, 0], [8, 8], [0, 8], [4, 9]]\n"  # 20
        '[[surfaces]]\nname = "gate"\noutput = "out"\n'  # 21..23
        "polygon = [[0, 0], [8, 0], [8, 8], [0, 8]]\n"  # 24
        "corners = [[0, 0], [8, 0], [8, 8], [0, 8]]\npins = [[0, 0], [8, 0], [8, 8]]\n"  # 25, 26
    )
    assert wall_problems(tmp_path, extra) == [
        (
            "surfaces[1].corners",
            "expected a list of 4 [x, y] points, got array "
            "[[0, 0], [8, 0], [8, 8], [0, 8], [4, 9]]",
            20,
        ),
        (
            "surfaces[2].pins",
            "expected a list of 4 [x, y] points, got array [[0, 0], [8, 0], [8, 8]]",
            26,
        ),
    ]


# --- cue numbers and playback keys, word for word -------------------------------------------


def test_cue_numbers_as_written(tmp_path: Path) -> None:
    extra = (
        '[[cues]]\nname = "a"\nnumber = 1\n'
        '[[cues]]\nname = "b"\nnumber = 1.5\n'
        '[[cues]]\nname = "c"\nnumber = 2.0\n'
        '[[cues]]\nname = "d"\nnumber = "3A_x-Y.z"\nnext = "a"\n'
        '[[cues]]\nname = "e"\nnext = 1.5\n'
    )
    cues = load_wall(tmp_path, extra).cues
    assert [c.number for c in cues] == ["1", "1.5", "2.0", "3A_x-Y.z", "5"]
    assert [c.next for c in cues] == [None, None, None, "a", "1.5"]


def test_every_bad_cue_playback_key_word_for_word(tmp_path: Path) -> None:
    extra = (
        '[[cues]]\nname = "a"\nnumber = true\n'  # 16-18
        '[[cues]]\nname = "b"\nnumber = "2 b"\n'  # 19-21
        '[[cues]]\nname = "c"\nnumber = nan\n'  # 22-24
        '[[cues]]\nname = "d"\ncurve = "eas-in"\n'  # 25-27
        '[[cues]]\nname = "e"\nfollow = "auto"\n'  # 28-30
        '[[cues]]\nname = "f"\nprewait = -1\n'  # 31-33
        '[[cues]]\nname = "g"\npostwait = 86401\n'  # 34-36
        '[[cues]]\nname = "h"\nfade = 86400.5\n'  # 37-39
        '[[cues]]\nname = "i"\nnext = "zz"\n'  # 40-42
        '[[cues]]\nname = "j"\nlist = " "\n'  # 43-45
        '[[cues]]\nname = "k"\nnumber = [1]\n'  # 46-48
        '[[cues]]\nname = "i"\nnext = "9"\n'  # 49-51
    )
    assert wall_problems(tmp_path, extra) == [
        ("cues[0].number", 'expected a cue number like 1, 1.5 or "2a", got boolean true', 18),
        (
            "cues[1].number",
            "expected a cue number of letters, digits, '.', '-' or '_', got '2 b'",
            21,
        ),
        ("cues[2].number", "expected a cue number like 1 or 1.5, got nan", 24),
        (
            "cues[3].curve",
            "expected one of: linear, ease-in, ease-out, ease-in-out, got string 'eas-in' "
            "(did you mean 'ease-in'?)",
            27,
        ),
        ("cues[4].follow", "expected one of: none, continue, follow, got string 'auto'", 30),
        ("cues[5].prewait", "expected a number between 0.0 and 86400.0 s, got -1", 33),
        ("cues[6].postwait", "expected a number between 0.0 and 86400.0 s, got 86401", 36),
        ("cues[7].fade", "expected a number between 0.0 and 86400.0 s, got 86400.5", 39),
        ("cues[9].list", "expected a non-empty string, got string ' '", 45),
        ("cues[10].number", 'expected a cue number like 1, 1.5 or "2a", got array [1]', 48),
        ("cues[11].name", "duplicate cue name 'i'", 50),
        ("cues[8].next", "unknown cue 'zz'", 42),
    ]


def test_every_bad_layer_state_of_a_cue_word_for_word(tmp_path: Path) -> None:
    head = WALL_HEAD + '[[layers]]\nname = "pic"\nkind = "image"\nfile = "a.png"\n'  # 16-19
    (tmp_path / "a.png").write_bytes(b"not decoded when loading")
    extra = (
        '[[cues]]\nname = "a"\nlayers = 3\n'  # 20-22
        '[[cues]]\nname = "b"\n[cues.layers]\nbgg = { opacity = 1 }\npic = 0.5\n'  # 23-27
        'bg = { opacty = 1, file = "a.png", fade = -2, curve = "fast" }\n'  # 28
        '[[cues]]\nname = "c"\n[cues.layers.pic]\ncolor = "#ffffff"\nshader = "x.glsl"\n'  # 29-33
    )
    assert wall_problems(tmp_path, extra, head) == [
        ("cues[0].layers", "expected a table of layer states, got number 3", 22),
        ("cues[1].layers.bgg", "unknown layer 'bgg' (did you mean 'bg'?)", 26),
        ("cues[1].layers.pic", "expected a table like { opacity = 1.0 }, got number 0.5", 27),
        (
            "cues[1].layers.bg.file",
            "'file' is for image, video and audio layers; layer 'bg' is a solid layer and "
            "takes 'color'",
            28,
        ),
        (
            "cues[1].layers.bg.opacty",
            "unknown key (did you mean 'opacity'?); expected one of: opacity, color, params, "
            "fade, curve, transition, transition_params",
            28,
        ),
        ("cues[1].layers.bg.fade", "expected a number between 0.0 and 86400.0 s, got -2", 28),
        (
            "cues[2].layers.pic.color",
            "'color' is for solid layers; layer 'pic' is a image layer and takes 'file'",
            32,
        ),
        (
            "cues[2].layers.pic.shader",
            "'shader' is for shader and isf layers; layer 'pic' is a image layer and takes 'file'",
            33,
        ),
    ]


# --- file references ---------------------------------------------------------------------------


def test_a_file_reference_is_the_resolved_file(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "real.png").write_bytes(b"x")
    (tmp_path / "media" / "link.png").symlink_to("real.png")
    head = WALL_HEAD.replace("size = [32, 16]", 'size = [32, 16]\nreference = "media/link.png"')
    show = load_wall(tmp_path, "", head)
    assert show.canvas.reference == (tmp_path / "media" / "real.png").resolve()


def test_a_file_reference_that_is_no_file(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "loop.png").symlink_to("loop.png")
    extra = (
        '[[layers]]\nname = "a"\nkind = "image"\nfile = "media"\n'  # 16-19
        '[[layers]]\nname = "b"\nkind = "image"\nfile = "loop.png"\n'  # 20-23
        '[[layers]]\nname = "c"\nkind = "image"\nfile = " "\n'  # 24-27
        '[[layers]]\nname = "d"\nkind = "image"\nfile = "media/gone.png"\n'  # 28-31
    )
    assert wall_problems(tmp_path, extra) == [
        ("layers[1].file", "media: is a folder, expected a file", 19),
        (
            "layers[2].file",
            "loop.png: cannot read file: a symlink loop (a link that points back at itself)",
            23,
        ),
        ("layers[3].file", "expected a non-empty string, got string ' '", 27),
        (
            "layers[4].file",
            f"file not found: media/gone.png (looked for {tmp_path.resolve() / 'media/gone.png'})",
            31,
        ),
    ]


def test_every_bad_surface_and_output_of_a_cue_word_for_word(tmp_path: Path) -> None:
    extra = (
        '[[cues]]\nname = "a"\nsurfaces = 3\noutputs = "x"\n'  # 16-19
        '[[cues]]\nname = "b"\n'  # 20, 21
        "[cues.surfaces]\nwal = { visible = true }\nwall = false\n"  # 22-24
        "[cues.outputs]\not = { level = 1 }\nout = 0.5\n"  # 25-27
        '[[cues]]\nname = "c"\n'  # 28, 29
        "[cues.surfaces]\nwall = { visible = true }\n"  # 30, 31
        "[cues.outputs]\nout = { level = 0.5, lvl = 1 }\n"  # 32, 33
    )
    assert wall_problems(tmp_path, extra) == [
        ("cues[0].surfaces", "expected a table, got number 3", 18),
        ("cues[1].surfaces.wal", "unknown surface 'wal' (did you mean 'wall'?)", 23),
        ("cues[1].surfaces.wall", "expected a table like { visible = … }, got boolean false", 24),
        ("cues[1].outputs.ot", "unknown output 'ot' (did you mean 'out'?)", 26),
        ("cues[1].outputs.out", "expected a table like { level = … }, got number 0.5", 27),
        (
            "cues[2].outputs.out.lvl",
            "unknown key (did you mean 'level'?); expected one of: level",
            33,
        ),
    ]
    extra = '[[cues]]\nname = "a"\noutputs = "x"\n'
    assert wall_problems(tmp_path, extra) == [
        ("cues[0].outputs", "expected a table, got string 'x'", 18)
    ]


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ('"#3366"', "string '#3366'"),
        ('"336699"', "string '336699'"),
        ('"#33669g"', "string '#33669g'"),
        ('"#3366998"', "string '#3366998'"),
        ("[1.5, 0, 0]", "array [1.5, 0, 0]"),
        ("[-0.1, 0, 0]", "array [-0.1, 0, 0]"),
        ("[1, 0]", "array [1, 0]"),
        ("[1, 0, 0, 1, 1]", "array [1, 0, 0, 1, 1]"),
        ("[0, 0, true]", "array [0, 0, True]"),
        ("0.5", "number 0.5"),
    ],
)
def test_a_colour_that_is_no_colour_word_for_word(tmp_path: Path, value: str, got: str) -> None:
    head = WALL_HEAD.replace('color = "#ff0000"', f"color = {value}")
    assert wall_problems(tmp_path, "", head) == [
        (
            "layers[0].color",
            f'expected a colour "#rrggbb" or [r, g, b] with values 0..1, got {got}',
            15,
        )
    ]


# --- outputs: defaults and the edges of every key ---------------------------------------------


def test_an_outputs_defaults(tmp_path: Path) -> None:
    out = load_wall(tmp_path, "").outputs[0]
    assert out == Output("out", (32, 16), 0, (0, 0), 2.2, OutputColor(), None)
    assert (out.color.brightness, out.color.contrast, out.color.gamma) == (0.0, 1.0, 1.0)
    assert out.color.gains == (1.0, 1.0, 1.0) and out.color.lut is None


def test_an_outputs_keys_at_both_edges(tmp_path: Path) -> None:
    keys = (
        "display = 63\nposition = [-16384, 16384]\ngamma = 1\n"
        "[outputs.color]\nbrightness = -1\ncontrast = 0\ngamma = 0.2\ngains = [0, 4, 0]\n"
    )
    head = WALL_HEAD.replace("resolution = [32, 16]\n", "resolution = [16384, 1]\n" + keys)
    out = load_wall(tmp_path, "", head).outputs[0]
    assert (out.resolution, out.display, out.position, out.gamma) == (
        (16384, 1),
        63,
        (-16384, 16384),
        1.0,
    )
    assert out.color == OutputColor(-1.0, 0.0, 0.2, (0.0, 4.0, 0.0))
    keys = (
        "display = 0\nposition = [16384, -16384]\ngamma = 4\n"
        "[outputs.color]\nbrightness = 1\ncontrast = 4\ngamma = 5\ngains = [4, 0, 4]\n"
    )
    head = WALL_HEAD.replace("resolution = [32, 16]\n", "resolution = [1, 16384]\n" + keys)
    out = load_wall(tmp_path, "", head).outputs[0]
    assert (out.resolution, out.display, out.position, out.gamma) == (
        (1, 16384),
        0,
        (16384, -16384),
        4.0,
    )
    assert out.color == OutputColor(1.0, 4.0, 5.0, (4.0, 0.0, 4.0))


def test_an_outputs_keys_one_step_beyond_each_edge(tmp_path: Path) -> None:
    keys = (
        "display = 64\nposition = [-16385, 0]\ngamma = 0.99\n"  # 7-9
        "[outputs.color]\nbrightness = 1.01\ncontrast = -0.01\ngamma = 0.19\n"  # 10-13
        "gains = [4.01, 0, 0]\n"  # 14
    )
    head = WALL_HEAD.replace("resolution = [32, 16]\n", "resolution = [16385, 0]\n" + keys)
    assert wall_problems(tmp_path, "", head) == [
        (
            "outputs[0].resolution",
            "expected [width, height] in pixels (integers 1..16384), got array [16385, 0]",
            6,
        ),
        ("outputs[0].display", "expected an integer 0..63, got number 64", 7),
        (
            "outputs[0].position",
            "expected [x, y] integers -16384..16384, got array [-16385, 0]",
            8,
        ),
        ("outputs[0].gamma", "expected a number between 1.0 and 4.0, got 0.99", 9),
        ("outputs[0].color.brightness", "expected a number between -1.0 and 1.0, got 1.01", 11),
        ("outputs[0].color.contrast", "expected a number between 0.0 and 4.0, got -0.01", 12),
        ("outputs[0].color.gamma", "expected a number between 0.2 and 5.0, got 0.19", 13),
        ("outputs[0].color.gains[0]", "expected a number between 0.0 and 4.0, got 4.01", 14),
    ]
    head = WALL_HEAD.replace("resolution = [32, 16]\n", "resolution = [32, 16]\ngamma = 4.01\n")
    assert wall_problems(tmp_path, "", head) == [
        ("outputs[0].gamma", "expected a number between 1.0 and 4.0, got 4.01", 7)
    ]


# --- which folder load_show reads ---------------------------------------------------------------


def test_load_show_reads_the_folder_of_any_file_in_it(tmp_path: Path) -> None:
    folder = write_show(tmp_path / "venue", WALL_HEAD)
    (folder / "notes.txt").write_text("a file that is not the show file", encoding="utf-8")
    for path in (folder, str(folder), folder / "show.toml", folder / "notes.txt"):
        show = load_show(path)
        assert (show.root, show.name) == (folder, "venue")


def test_load_show_of_a_path_that_is_no_show_folder(tmp_path: Path) -> None:
    for path in (tmp_path / "nowhere", tmp_path / "nowhere" / "show.toml"):
        with pytest.raises(ValidationError) as info:
            load_show(path)
        assert [(p.file, p.key_path, p.message, p.line) for p in info.value.problems] == [
            (
                tmp_path / "nowhere" / "show.toml",
                "",
                "show file not found: expected a folder containing show.toml",
                None,
            )
        ]
    long = tmp_path / ("x" * 300)  # too long a name to ask whether it is a file
    with pytest.raises(ValidationError) as info:
        load_show(long)
    assert [(p.file, p.key_path, p.message) for p in info.value.problems] == [
        (long / "show.toml", "", "cannot read show file: the path is too long")
    ]


# --- layers: defaults, sound, edges ----------------------------------------------------------


def test_a_layers_defaults(tmp_path: Path) -> None:
    layer = load_wall(tmp_path, "").layers[0]
    assert layer == Layer(
        "bg", "solid", (1.0, 0.0, 0.0, 1.0), 1.0, "normal", (0.0, 0.0, 32.0, 16.0)
    )
    assert (layer.loop, layer.audio, layer.in_s, layer.out_s) == (True, True, None, None)
    assert (layer.params, layer.param_specs, layer.declared_by, layer.filters) == ({}, (), None, ())


def test_a_layers_sound_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(b"x")
    (tmp_path / "s.wav").write_bytes(b"x")
    extra = (
        '[[layers]]\nname = "v"\nkind = "video"\nfile = "v.mp4"\naudio = false\n'
        '[[layers]]\nname = "s"\nkind = "audio"\nfile = "s.wav"\nin = 0.5\nout = 2\n'
    )
    _, video, sound = load_wall(tmp_path, extra).layers
    assert (video.kind, video.audio, video.loop) == ("video", False, True)
    assert (sound.kind, sound.audio, sound.in_s, sound.out_s) == ("audio", True, 0.5, 2.0)
    assert sound.content == tmp_path.resolve() / "s.wav"
    extra = '[[layers]]\nname = "v"\nkind = "video"\nfile = "v.mp4"\naudio = 1\n'  # 16-20
    assert wall_problems(tmp_path, extra) == [
        ("layers[1].audio", "expected true or false, got number 1", 20)
    ]


def test_a_layers_opacity_and_region_at_both_edges(tmp_path: Path) -> None:
    extra = (
        '[[layers]]\nname = "a"\nkind = "solid"\ncolor = "#000000"\nopacity = 0\n'
        "region = [-65536, 65536, 0.01, 16384]\n"
        '[[layers]]\nname = "b"\nkind = "solid"\ncolor = "#000000"\nopacity = 1\n'
        "region = [65536, -65536, 16384, 0.01]\n"
    )
    _, a, b = load_wall(tmp_path, extra).layers
    assert (a.opacity, a.region_canvas_px) == (0.0, (-65536.0, 65536.0, 0.01, 16384.0))
    assert (b.opacity, b.region_canvas_px) == (1.0, (65536.0, -65536.0, 16384.0, 0.01))
    expected = (
        "expected [x, y, width, height] in canvas pixels, x and y -65536..65536, "
        "width and height 0.01..16384, got array "
    )
    extra = (
        '[[layers]]\nname = "a"\nkind = "solid"\ncolor = "#000000"\nopacity = -0.01\n'  # 16-20
        "region = [-65537, 0, 1, 1]\n"  # 21
        '[[layers]]\nname = "b"\nkind = "solid"\ncolor = "#000000"\nopacity = 1.01\n'  # 22-26
        "region = [0, 0, 0.009, 16384.5]\n"  # 27
        '[[layers]]\nname = "a"\nkind = "solid"\ncolor = "#000000"\n'  # 28-31
    )
    assert wall_problems(tmp_path, extra) == [
        ("layers[1].opacity", "expected a number between 0.0 and 1.0, got -0.01", 20),
        ("layers[1].region", expected + "[-65537, 0, 1, 1]", 21),
        ("layers[2].opacity", "expected a number between 0.0 and 1.0, got 1.01", 26),
        ("layers[2].region", expected + "[0, 0, 0.009, 16384.5]", 27),
        ("layers[3].name", "duplicate layer name 'a'", 29),
    ]


# --- [blend]: where the adjustments are read from -----------------------------------------------

BLENDED = CAL + "[blend]\nblack_level = 0.02\n"


def test_blend_reads_the_adjustments_of_its_calibration_file(tmp_path: Path) -> None:
    (tmp_path / "cal.toml").write_text(BLENDED, encoding="utf-8")
    (tmp_path / "plain.toml").write_text(CAL, encoding="utf-8")
    root = tmp_path.resolve()
    blend = load_wall(tmp_path, '[blend]\ncalibration = "cal.toml"\n').blend
    assert (blend.enabled, blend.calibration_file) == (False, root / "cal.toml")
    assert (blend.calibration.black_level, blend.calibration.edges) == (0.02, ())
    blend = load_wall(tmp_path, '[blend]\nenabled = true\ncalibration = "plain.toml"\n').blend
    assert (blend.enabled, blend.calibration_file) == (True, root / "plain.toml")
    assert blend.calibration.black_level == 0.0
    # by default, the first calibration file a surface uses
    surface = (
        '[[surfaces]]\nname = "wing"\noutput = "out"\npolygon = [[0, 0], [8, 0], [8, 8]]\n'
        'calibration = "cal.toml"\n[blend]\nenabled = true\n'
    )
    blend = load_wall(tmp_path, surface).blend
    assert (blend.enabled, blend.calibration_file) == (True, root / "cal.toml")
    assert blend.calibration.black_level == 0.02
    # else calibration.toml in the show folder, when it exists
    (tmp_path / "calibration.toml").write_text(BLENDED, encoding="utf-8")
    blend = load_wall(tmp_path, "").blend
    assert (blend.enabled, blend.calibration_file) == (False, tmp_path / "calibration.toml")
    assert blend.calibration.black_level == 0.02


def test_a_bad_calibration_file_is_reported_once_however_many_use_it(tmp_path: Path) -> None:
    (tmp_path / "cal.toml").write_text(CAL + "[blend]\nblack_level = 2\n", encoding="utf-8")
    surface = (
        '[[surfaces]]\nname = "wing"\noutput = "out"\npolygon = [[0, 0], [8, 0], [8, 8]]\n'
        'calibration = "cal.toml"\n[blend]\ncalibration = "cal.toml"\n'
    )
    with pytest.raises(ValidationError) as info:
        load_wall(tmp_path, surface)
    assert [(p.file, p.key_path) for p in info.value.problems] == [
        (tmp_path.resolve() / "cal.toml", "blend.black_level")
    ]
    (tmp_path / "calibration.toml").write_text("schema_version = 7\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_wall(tmp_path, "[blend]\nenabled = true\n")
    assert [(p.file, p.key_path) for p in info.value.problems] == [
        (tmp_path / "calibration.toml", "schema_version")
    ]


# --- params tables, layer and cue -----------------------------------------------------------

NAME_EXPECTED = "expected a parameter name usable in GLSL (or filter.input), with a value"


def test_params_tables_flatten_and_every_bad_name_is_reported(tmp_path: Path) -> None:
    head = WALL_HEAD + "[layers.params]\nk = 1\nblur = { amount = 0.5, _on = 1 }\n"  # 16-18
    show = load_wall(tmp_path, '[[cues]]\nname = "a"\n[cues.layers.bg]\nparams = { k = 2 }\n', head)
    assert dict(show.layers[0].params) == {"k": 1.0, "blur.amount": 0.5, "blur._on": 1.0}
    assert dict(show.cues[0].layers["bg"].params) == {"k": 2.0}
    head = WALL_HEAD + (
        '[layers.params]\n"a b" = 1\n"1x" = 2\nblur = { "x-y" = 1, x = { z = 1 } }\nok = 3\n'
    )  # 16-20
    extra = (
        '[[layers]]\nname = "fg"\nkind = "solid"\ncolor = "#000000"\nparams = { k = 1 }\n'
        '[[cues]]\nname = "a"\n'  # 26, 27
        "[cues.layers.fg]\nparams = 3\n"  # 28, 29
        '[[cues]]\nname = "b"\n'  # 30, 31
        '[cues.layers.fg]\nparams = { "k.k.k" = 1, "" = 2, k = 0.5 }\n'  # 32, 33
    )
    assert wall_problems(tmp_path, extra, head) == [
        ("layers[0].params.a b", NAME_EXPECTED, 17),
        ("layers[0].params.1x", NAME_EXPECTED, 18),
        ("layers[0].params.blur.x-y", NAME_EXPECTED, 19),
        ("layers[0].params.blur.x", NAME_EXPECTED, 19),
        ("cues[0].layers.fg.params", "expected a table like { speed = 1.0 }, got number 3", 29),
        ("cues[1].layers.fg.params.k.k.k", NAME_EXPECTED, 33),
        ("cues[1].layers.fg.params.", NAME_EXPECTED, 33),
    ]
    head = WALL_HEAD + "params = [1]\n"
    assert wall_problems(tmp_path, "", head) == [
        ("layers[0].params", "expected a table like { speed = 1.0 }, got array [1]", 16)
    ]


def test_a_layer_made_in_code_keeps_its_specs_first_and_adds_the_missing_ones() -> None:
    declared = ParamSpec("speed", "float", 1.0, 0.0, 4.0)
    layer = Layer(
        "g", "shader", Path("x.glsl"), params={"speed": 2.0, "gain": 3, "on": False},
        param_specs=(declared,),
    )  # fmt: skip
    assert layer.param_specs == (
        declared,
        ParamSpec("gain", "float", 3.0),
        ParamSpec("on", "bool", False),
    )


def test_a_cue_layer_state_sets_exactly_what_it_gives(tmp_path: Path) -> None:
    head = WALL_HEAD + "params = { k = 1 }\n"
    extra = (
        '[[cues]]\nname = "a"\nfade = 3\ncurve = "ease-out"\nprewait = 0.5\npostwait = 86400\n'
        'follow = "continue"\nlist = "side"\n'
        "[cues.layers.bg]\nopacity = 0.5\ncolor = [0, 1, 0]\nparams = { k = 2 }\nfade = 1.5\n"
        'curve = "ease-in"\n'
        '[[cues]]\nname = "b"\nfollow = "follow"\n[cues.layers.bg]\n'
    )
    a, b = load_wall(tmp_path, extra, head).cues
    assert a.layers == {"bg": LayerChange(0.5, (0.0, 1.0, 0.0, 1.0), {"k": 2.0}, 1.5, "ease-in")}
    assert (a.fade_s, a.curve, a.prewait_s, a.postwait_s, a.follow, a.cue_list) == (
        3.0, "ease-out", 0.5, 86400.0, "continue", "side"
    )  # fmt: skip
    assert b.layers == {"bg": LayerChange()}
    assert (b.fade_s, b.curve, b.prewait_s, b.postwait_s, b.follow, b.cue_list, b.next) == (
        0.0, "linear", 0.0, 0.0, "follow", "main", None
    )  # fmt: skip
    assert (b.number, b.transition, b.surfaces, b.outputs) == ("2", None, {}, {})


def test_a_calibrated_surface_takes_its_entrys_mesh(tmp_path: Path) -> None:
    meshed = (
        CAL + "mesh_size = [2, 2]\nmesh_offsets_px = [[0, 0], [1.5, -0.25], [2, 3], [-4, 0.5]]\n"
    )
    (tmp_path / "cal.toml").write_text(
        meshed + '[surfaces.plain]\noutput = "out"\n'
        "H_canvas_to_projector = [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]\n",
        encoding="utf-8",
    )
    extra = (
        '[[surfaces]]\nname = "wing"\noutput = "out"\npolygon = [[0, 0], [8, 0], [8, 8]]\n'
        'calibration = "cal.toml"\n'
        '[[surfaces]]\nname = "arch"\noutput = "out"\npolygon = [[0, 0], [8, 0], [8, 8]]\n'
        'calibration = { file = "cal.toml", surface = "plain" }\n'
    )
    wall, wing, arch = load_wall(tmp_path, extra).surfaces
    cal = tmp_path.resolve() / "cal.toml"
    assert (wall.mapping, wall.calibration_file, wall.calibration_entry, wall.mesh) == (
        "corners", None, None, None
    )  # fmt: skip
    assert (wing.mapping, wing.calibration_file, wing.calibration_entry) == (
        "calibration", cal, "wing"
    )  # fmt: skip
    assert wing.mesh is not None
    np.testing.assert_array_equal(
        wing.mesh.offsets_px, [[[0, 0], [1.5, -0.25]], [[2, 3], [-4, 0.5]]]
    )
    assert (arch.calibration_file, arch.calibration_entry, arch.mesh) == (cal, "plain", None)
    np.testing.assert_array_equal(arch.H_canvas_to_projector, [[2, 0, 0], [0, 2, 0], [0, 0, 1]])


def test_content_keys_of_other_kinds_on_a_layer_word_for_word(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    extra = (
        '[[layers]]\nname = "pic"\nkind = "image"\nfile = "a.png"\n'  # 16-19
        'color = "#000000"\nshader = "x.glsl"\ndevice = "/dev/video0"\n'  # 20-22
        '[[layers]]\nname = "cam"\nkind = "live"\ndevice = "/dev/video0"\nfile = "a.png"\n'  # 23-27
    )
    assert wall_problems(tmp_path, extra) == [
        ("layers[1].color", "'color' is for solid layers; a image layer takes 'file'", 20),
        (
            "layers[1].shader",
            "'shader' is for shader and isf layers; a image layer takes 'file'",
            21,
        ),
        ("layers[1].device", "'device' is for live layers; a image layer takes 'file'", 22),
        (
            "layers[2].file",
            "'file' is for image, video and audio layers; a live layer takes 'device'",
            27,
        ),
    ]


def test_after_a_bad_surface_or_output_state_the_next_ones_are_checked(tmp_path: Path) -> None:
    extra = (
        '[[cues]]\nname = "a"\n'  # 16, 17
        "[cues.surfaces]\nwall = { visible = 1 }\nwal = { visible = true }\n"  # 18-20
        "[cues.outputs]\nout = 0.5\not = { level = 1 }\n"  # 21-23
    )
    assert wall_problems(tmp_path, extra) == [
        ("cues[0].surfaces.wall.visible", "expected true or false, got number 1", 19),
        ("cues[0].surfaces.wal", "unknown surface 'wal' (did you mean 'wall'?)", 20),
        ("cues[0].outputs.out", "expected a table like { level = … }, got number 0.5", 22),
        ("cues[0].outputs.ot", "unknown output 'ot' (did you mean 'out'?)", 23),
    ]


def test_after_a_bad_layer_state_the_next_ones_are_checked(tmp_path: Path) -> None:
    head = WALL_HEAD + '[[layers]]\nname = "fg"\nkind = "solid"\ncolor = "#000000"\n'  # 16-19
    extra = (
        '[[cues]]\nname = "a"\n[cues.layers]\n'  # 20-22
        'bg = { opacity = 2 }\nfg = { curve = "fast" }\n'  # 23, 24
    )
    assert wall_problems(tmp_path, extra, head) == [
        ("cues[0].layers.bg.opacity", "expected a number between 0.0 and 1.0, got 2", 23),
        (
            "cues[0].layers.fg.curve",
            "expected one of: linear, ease-in, ease-out, ease-in-out, got string 'fast'",
            24,
        ),
    ]


def test_surface_points_are_float64_whatever_numbers_the_file_gives(tmp_path: Path) -> None:
    surface = load_wall(tmp_path, "").surfaces[0]  # integers in the file
    assert surface.polygon_canvas_px.dtype == np.float64
    assert surface.polygon_canvas_px.shape == (4, 2)
    assert surface.H_canvas_to_projector.dtype == np.float64


# --- a layer with a bad parameter is invalid: its cues are not checked against it ----------------


@pytest.mark.parametrize(
    ("layer_params", "cue_params", "problem"),
    [
        # show-declared parameters (a solid layer): plain numbers, ±1e9
        (
            "{ k = 2e9 }",
            "{ k = 1 }",
            (
                "layers[1].params.k",
                "expected a number between -1000000000.0 and 1000000000.0, got 2000000000.0",
            ),
        ),
        (
            "{ on = true }",
            "{ on = 2 }",
            (
                "layers[1].params.on",
                "expected a number between -1000000000.0 and 1000000000.0, got boolean true",
            ),
        ),
        ('{ "a b" = 1 }', '{ "a b" = 1 }', ("layers[1].params.a b", NAME_EXPECTED)),
    ],
)
def test_a_bad_show_declared_parameter_makes_no_follow_on_problem(
    tmp_path: Path, layer_params: str, cue_params: str, problem: tuple
) -> None:
    extra = (
        f'[[layers]]\nname = "fg"\nkind = "solid"\ncolor = "#000000"\nparams = {layer_params}\n'
        f'[[cues]]\nname = "a"\n[cues.layers.fg]\nparams = {cue_params}\n'
    )
    assert [(key, message) for key, message, _ in wall_problems(tmp_path, extra)] == [problem]


@pytest.mark.parametrize(
    ("file", "layer_params", "cue_params", "problem"),
    [
        (
            "gen.glsl",
            "{ sped = 1 }",
            "{ sped = 2 }",
            (
                "layers[1].params.sped",
                "shaders/gen.glsl declares no parameter 'sped' (did you mean 'speed'?); "
                "it declares: speed, bands",
            ),
        ),
        (
            "gen.glsl",
            "{ speed = 9 }",
            "{ speed = 9 }",
            (
                "layers[1].params.speed",
                "expected a number in 0..4, got 9 (as shaders/gen.glsl declares)",
            ),
        ),
        (
            "broken.glsl",  # cannot be read: values typed by their shape
            "{ tint = [2, 0, 0] }",
            "{ tint = [2, 0, 0] }",
            (
                "layers[1].params.tint",
                'expected a colour "#rrggbb", "#rrggbbaa" or [r, g, b] / [r, g, b, a] '
                "with values 0..1, got [2, 0, 0]",
            ),
        ),
    ],
)
def test_a_bad_declared_parameter_makes_no_follow_on_problem(
    tmp_path: Path, file: str, layer_params: str, cue_params: str, problem: tuple
) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "gen.glsl").write_text(GEN, encoding="utf-8")
    (tmp_path / "shaders" / "broken.glsl").write_bytes(b"\xff\xfe not UTF-8")
    extra = (
        shader_layer(f"shaders/{file}", layer_params)
        + f'[[cues]]\nname = "a"\n[cues.layers.gen]\nparams = {cue_params}\n'
    )
    assert [(key, message) for key, message, _ in wall_problems(tmp_path, extra)] == [problem]


def test_a_layer_with_filters_and_params_that_are_no_table(tmp_path: Path) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "invert.fs").write_text(INVERT, encoding="utf-8")
    head = WALL_HEAD + 'filters = [{ shader = "shaders/invert.fs" }]\nparams = [1]\n'  # 16, 17
    assert wall_problems(tmp_path, "", head) == [
        ("layers[0].params", "expected a table like { speed = 1.0 }, got array [1]", 17)
    ]


def test_a_layers_params_split_between_its_content_and_its_filters(tmp_path: Path) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "invert.fs").write_text(INVERT, encoding="utf-8")
    head = WALL_HEAD + (
        'filters = [{ shader = "shaders/invert.fs" }]\n'
        'params = { other = { x = 1 }, "invert.amount" = 0.25, k = 2, "more.y" = 3 }\n'
    )
    layer = load_wall(tmp_path, "", head).layers[0]
    assert dict(layer.params) == {
        "other.x": 1.0,
        "k": 2.0,
        "more.y": 3.0,
        "invert.amount": 0.25,
    }
    head = WALL_HEAD + (
        'filters = [{ shader = "shaders/invert.fs" }]\nparams = { "invert.x.y" = 1 }\n'  # 16, 17
    )
    assert wall_problems(tmp_path, "", head) == [
        ("layers[0].params.invert.x.y", "invert.fs has no input 'x.y'; its inputs: amount", 17)
    ]


@pytest.mark.parametrize(
    ("color", "problem"),
    [
        (
            "gains = [1, 1]",
            ("outputs[0].color.gains", "expected [r, g, b] numbers 0.0..4.0, got array [1, 1]"),
        ),
        (
            "gains = [9, 1, 1]",
            ("outputs[0].color.gains[0]", "expected a number between 0.0 and 4.0, got 9"),
        ),
        (
            'lut = "none.cube"',
            ("outputs[0].color.lut", "file not found: none.cube (looked for {root}/none.cube)"),
        ),
        ('lut = "bad.cube"', ("", "LUT_3D_SIZE 2 needs 8 rows of three numbers, found 1")),
        (
            "contrast = 5",
            ("outputs[0].color.contrast", "expected a number between 0.0 and 4.0, got 5"),
        ),
    ],
)
def test_an_output_with_a_bad_colour_correction_is_left_out(
    tmp_path: Path, color: str, problem: tuple
) -> None:
    # the output is invalid: the span's check of its display is no follow-on problem
    (tmp_path / "bad.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n", encoding="utf-8")
    head = WALL_HEAD.replace(
        "resolution = [32, 16]\n", f"resolution = [32, 16]\ncolor = {{ {color} }}\n"
    )
    with pytest.raises(ValidationError) as info:
        load_wall(tmp_path, "[span]\ndisplays = [1]\n", head)
    key, message = problem
    assert [(p.key_path, p.message) for p in info.value.problems] == [
        (key, message.format(root=tmp_path.resolve()))
    ]


RES = "resolution = [32, 16]"
NUMBER_64 = "expected an integer 0..63, got number 64"
GAMMA_05 = "expected a number between 1.0 and 4.0, got 0.5"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'name = "out"',
            "name = 3",
            ("outputs[0].name", "expected a non-empty string, got number 3"),
        ),
        (
            RES,
            "resolution = [0, 1]",
            (
                "outputs[0].resolution",
                "expected [width, height] in pixels (integers 1..16384), got array [0, 1]",
            ),
        ),
        (RES, RES + "\ndisplay = 64", ("outputs[0].display", NUMBER_64)),
        (
            RES,
            RES + "\nposition = [1.5, 0]",
            ("outputs[0].position", "expected [x, y] integers -16384..16384, got array [1.5, 0]"),
        ),
        (RES, RES + "\ngamma = 0.5", ("outputs[0].gamma", GAMMA_05)),
        (
            RES,
            RES + '\nnode = "n9"',
            ("outputs[0].node", "unknown node 'n9': the show declares no [[nodes]]"),
        ),
    ],
)
def test_an_output_with_any_bad_key_is_left_out(
    tmp_path: Path, old: str, new: str, problem: tuple
) -> None:
    # the output is invalid: the span's check of its display is no follow-on problem
    head = WALL_HEAD.replace(old, new, 1)
    with pytest.raises(ValidationError) as info:
        load_wall(tmp_path, "[span]\ndisplays = [1]\n", head)
    assert [(p.key_path, p.message) for p in info.value.problems] == [problem]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("opacity = 2", ("layers[1].opacity", "expected a number between 0.0 and 1.0, got 2")),
        (
            'blend = "over"',
            (
                "layers[1].blend",
                "unknown blend mode 'over'; expected one of: normal, add, multiply, screen",
            ),
        ),
        (
            "region = [0, 0, 0, 1]",
            (
                "layers[1].region",
                "expected [x, y, width, height] in canvas pixels, x and y -65536..65536, "
                "width and height 0.01..16384, got array [0, 0, 0, 1]",
            ),
        ),
        ("loop = 1", ("layers[1].loop", "expected true or false, got number 1")),
        ("audio = 1", ("layers[1].audio", "expected true or false, got number 1")),
        ("in = 1", ("layers[1].in", "'in' is for video and audio layers, not solid layers")),
        (
            "filters = 3",
            (
                "layers[1].filters",
                'expected an array of filters like [{ shader = "shaders/blur.fs" }], got number 3',
            ),
        ),
        (
            "params = 3",
            ("layers[1].params", "expected a table like { speed = 1.0 }, got number 3"),
        ),
        (
            "color = 3",
            (
                "layers[1].color",
                'expected a colour "#rrggbb" or [r, g, b] with values 0..1, got number 3',
            ),
        ),
    ],
)
def test_a_layer_with_any_bad_key_is_not_cued(tmp_path: Path, key: str, problem: tuple) -> None:
    # the layer is invalid: a cue's bad opacity for it is no follow-on problem
    layer = '[[layers]]\nname = "fg"\nkind = "solid"\n'
    layer += key + "\n" if key.startswith("color") else f'color = "#000000"\n{key}\n'
    extra = layer + '[[cues]]\nname = "a"\n[cues.layers.fg]\nopacity = 5\n'
    assert [(k, message) for k, message, _ in wall_problems(tmp_path, extra)] == [problem]


def test_every_bad_declared_parameter_of_a_layer_is_reported(tmp_path: Path) -> None:
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "gen.glsl").write_text(GEN, encoding="utf-8")
    extra = shader_layer("shaders/gen.glsl", "{ sped = 1, bands = 9, spd = 2 }")
    assert [key for key, _, _ in wall_problems(tmp_path, extra)] == [
        "layers[1].params.sped",
        "layers[1].params.bands",
        "layers[1].params.spd",
    ]
