"""Layer parameters in show files: declared by the content, started and cued by the show.

A generator's uniforms are its parameters (mapping/shader_params.py); the show's ``params``
give start values and cues set them, both checked against the declared type and range.
Every expectation is written from the shader text and the show text of each test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.params import ParamSpec
from mapping.show import load_show

SHADER = """\
uniform float speed; // range 0..4 default 1
uniform vec4 tint;
uniform vec2 centre;
uniform int bands; // range 1..8 default 3
uniform bool on;
void mainImage(out vec4 c, in vec2 f) { c = tint * speed; }
"""

HEAD = """\
schema_version = 1
name = "p"
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
[[surfaces]]
name = "s"
output = "out"
polygon = [[0, 0], [32, 0], [32, 16], [0, 16]]
corners = [[0, 0], [32, 0], [32, 16], [0, 16]]
"""


def write(tmp_path: Path, layers: str, cues: str = "", shader: str | None = SHADER) -> Path:
    (tmp_path / "shaders").mkdir(exist_ok=True)
    if shader is not None:
        (tmp_path / "shaders" / "gen.glsl").write_text(shader)
    text = HEAD + textwrap.dedent(layers) + textwrap.dedent(cues)
    (tmp_path / "show.toml").write_text(text)
    return tmp_path


GEN = """\
[[layers]]
name = "gen"
kind = "shader"
shader = "shaders/gen.glsl"
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ValidationError) as info:
        load_show(path)
    return [str(p) for p in info.value.problems]


def test_the_shader_declares_the_layer_parameters_with_their_defaults(tmp_path):
    show = load_show(write(tmp_path, GEN))
    layer = show.layer("gen")
    assert [s.name for s in layer.param_specs] == ["speed", "tint", "centre", "bands", "on"]
    assert layer.param_spec("speed") == ParamSpec("speed", "float", 1.0, min=0.0, max=4.0)
    assert layer.declared_by == tmp_path.resolve() / "shaders" / "gen.glsl"
    assert dict(layer.params) == {
        "speed": 1.0,
        "tint": (0.0, 0.0, 0.0, 1.0),
        "centre": (0.0, 0.0),
        "bands": 3,
        "on": False,
    }


def test_start_values_are_typed_by_the_declaration(tmp_path):
    layers = GEN + 'params = { speed = 2, tint = "#ff0000", centre = [0.5, -0.5], on = true }\n'
    params = load_show(write(tmp_path, layers)).layer("gen").params
    assert params["speed"] == 2.0 and isinstance(params["speed"], float)
    assert params["tint"] == (1.0, 0.0, 0.0, 1.0)
    assert params["centre"] == (0.5, -0.5)
    assert params["on"] is True and params["bands"] == 3


def test_an_out_of_range_start_value_names_file_key_path_line_and_range(tmp_path):
    path = write(tmp_path, GEN + "params = { speed = 7.0 }\n")
    line = (HEAD + GEN).count("\n") + 1
    assert problems(path) == [
        f"{path / 'show.toml'}:{line}: layers[0].params.speed: expected a number in 0..4, "
        "got 7 (as shaders/gen.glsl declares)"
    ]


def test_a_wrong_type_says_what_the_shader_declared(tmp_path):
    path = write(tmp_path, GEN + "params = { tint = [2, 0, 0], bands = 2.5 }\n")
    found = problems(path)
    assert len(found) == 2
    assert "layers[0].params.tint: expected a colour" in found[0] and "got [2, 0, 0]" in found[0]
    assert "layers[0].params.bands: expected an integer in 1..8, got 2.5" in found[1]


def test_an_undeclared_start_value_lists_what_the_shader_declares(tmp_path):
    (found,) = problems(write(tmp_path, GEN + "params = { sped = 1.0 }\n"))
    assert "layers[0].params.sped: shaders/gen.glsl declares no parameter 'sped'" in found
    assert "did you mean 'speed'?" in found and "it declares: speed, tint, centre" in found


CUE = """\
[[cues]]
name = "a"
fade = 2.0
[cues.layers.gen]
params = {params}
"""


def test_a_typo_in_a_cue_parameter_still_fails_to_load(tmp_path):
    (found,) = problems(write(tmp_path, GEN, CUE.replace("{params}", "{ speeed = 2.0 }")))
    assert "cues[0].layers.gen.params.speeed" in found
    assert "did you mean 'speed'?" in found


def test_cue_values_are_typed_and_range_checked(tmp_path):
    show = load_show(write(tmp_path, GEN, CUE.replace("{params}", "{ tint = [0, 1, 0], on = 1 }")))
    assert dict(show.cues[0].layers["gen"].params) == {"tint": (0.0, 1.0, 0.0, 1.0), "on": True}
    (found,) = problems(write(tmp_path, GEN, CUE.replace("{params}", "{ bands = 9 }")))
    assert "cues[0].layers.gen.params.bands: expected an integer in 1..8, got 9" in found


def test_old_shows_with_float_params_still_load(tmp_path):
    old = "uniform float speed;\nvoid mainImage(out vec4 c, in vec2 f) { c = vec4(speed); }\n"
    show = load_show(write(tmp_path, GEN + "params = { speed = 1.0 }\n", shader=old))
    assert dict(show.layer("gen").params) == {"speed": 1.0}
    solid = '[[layers]]\nname = "wash"\nkind = "solid"\ncolor = "#ffffff"\nparams = { k = 2.0 }\n'
    layer = load_show(write(tmp_path, solid)).layer("wash")  # content that declares nothing
    assert dict(layer.params) == {"k": 2.0} and layer.param_specs == (ParamSpec("k", "float", 2.0),)
    assert layer.declared_by is None


def test_an_unreadable_shader_leaves_no_declared_params_and_the_show_loads(tmp_path):
    path = write(tmp_path, GEN + "params = { speed = 1.0 }\n", shader=None)
    (tmp_path / "shaders" / "gen.glsl").write_bytes(b"\xff\xfe not text")
    layer = load_show(path).layer("gen")
    assert layer.declared_by is None and dict(layer.params) == {"speed": 1.0}


def test_an_unreadable_shader_types_start_values_by_their_shape(tmp_path):
    layers = GEN + 'params = { speed = 2, tint = "#ff0000", centre = [1, 2], on = true }\n'
    cue = CUE.replace("{params}", "{ tint = [0, 0, 1] }")
    path = write(tmp_path, layers, cue, shader=None)
    (tmp_path / "shaders" / "gen.glsl").write_bytes(b"\xff\xfe not UTF-8")
    show = load_show(path)
    layer = show.layer("gen")
    assert [(s.name, s.type) for s in layer.param_specs] == [
        ("speed", "float"),
        ("tint", "color"),
        ("centre", "point2D"),
        ("on", "bool"),
    ]
    assert dict(layer.params) == {
        "speed": 2.0,
        "tint": (1.0, 0.0, 0.0, 1.0),
        "centre": (1.0, 2.0),
        "on": True,
    }
    assert show.cues[0].layers["gen"].params["tint"] == (0.0, 0.0, 1.0, 1.0)


def test_filter_parameters_flatten_to_one_dot(tmp_path):
    solid = (
        '[[layers]]\nname = "wash"\nkind = "solid"\ncolor = "#ffffff"\n'
        "[layers.params]\nlevel = 1.0\nblur.amount = 0.5\n"
    )
    assert dict(load_show(write(tmp_path, solid)).layer("wash").params) == {
        "level": 1.0,
        "blur.amount": 0.5,
    }
    deep = solid.replace("blur.amount = 0.5", "blur.x.amount = 0.5")
    (found,) = problems(write(tmp_path, deep))
    assert "layers[0].params.blur.x: expected a parameter name" in found


# --- image parameters: a file in the show folder -------------------------------------------

MASKED = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "mask", "TYPE": "image" },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 0.5, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage) * IMG_THIS_PIXEL(mask); }
"""

WASH = '[[layers]]\nname = "wash"\nkind = "solid"\ncolor = "#ffffff"\n'
"""Lines 13-16 after HEAD; a key after it is on line 17."""


def masked_folder(tmp_path: Path) -> Path:
    import cv2
    import numpy as np

    (tmp_path / "shaders").mkdir(exist_ok=True)
    (tmp_path / "shaders" / "mask.fs").write_text(MASKED, encoding="utf-8")
    (tmp_path / "media").mkdir(exist_ok=True)
    assert cv2.imwrite(str(tmp_path / "media" / "m.png"), np.zeros((2, 2, 3), np.uint8))
    (tmp_path / "media" / "notes.txt").write_text("not a picture", encoding="utf-8")
    return tmp_path


def test_an_image_parameter_names_an_image_file_in_the_show_folder(tmp_path):
    folder = masked_folder(tmp_path)
    filters = 'filters = [{ shader = "shaders/mask.fs", params = { mask = "media/m.png" } }]\n'
    cue = '[[cues]]\nname = "a"\n[cues.layers.wash]\nparams = { "mask.mask" = "media/m.png" }\n'
    show = load_show(write(folder, WASH + filters, cue, shader=None))
    assert dict(show.layer("wash").params) == {"mask.mask": "media/m.png", "mask.amount": 0.5}
    assert dict(show.cues[0].layers["wash"].params) == {"mask.mask": "media/m.png"}


def test_an_image_parameter_that_is_no_image_file(tmp_path):
    folder = masked_folder(tmp_path)
    expected = "(expected the name of an image file in the show folder)"
    filters = 'filters = [{ shader = "shaders/mask.fs", params = { mask = "media/nope.png" } }]\n'
    cue = '[[cues]]\nname = "a"\n[cues.layers.wash]\nparams = { "mask.mask" = "m.png" }\n'
    with pytest.raises(ValidationError) as info:
        load_show(write(folder, WASH + filters, cue, shader=None))
    assert [(p.key_path, p.message, p.line) for p in info.value.problems] == [
        (
            "layers[0].filters[0].params.mask",
            f"image not found: media/nope.png (looked for {folder / 'media/nope.png'}) {expected}",
            17,
        ),
    ]
    filters = (
        'filters = [{ shader = "shaders/mask.fs" }]\n'  # 17
        '[layers.params]\nmask.mask = "media/notes.txt"\n'  # 18, 19
    )
    with pytest.raises(ValidationError) as info:
        load_show(write(folder, WASH + filters, cue, shader=None))
    assert [(p.key_path, p.message, p.line) for p in info.value.problems] == [
        (
            "layers[0].params.mask.mask",
            f"media/notes.txt: not an image file (PNG, JPEG, TIFF, WebP, …) {expected}",
            19,
        ),
    ]
    filters = 'filters = [{ shader = "shaders/mask.fs" }]\n'
    with pytest.raises(ValidationError) as info:
        load_show(write(folder, WASH + filters, cue, shader=None))
    assert [(p.key_path, p.message, p.line) for p in info.value.problems] == [
        (
            "cues[0].layers.wash.params.mask.mask",
            f"image not found: m.png (looked for {folder / 'm.png'}) {expected}",
            21,
        ),
    ]


def test_an_unreadable_shaders_values_are_checked_by_their_shape_alone(tmp_path):
    path = write(
        tmp_path, GEN + 'params = { tint = [2, 0, 0], mask = "nowhere.png" }\n', shader=None
    )
    (tmp_path / "shaders" / "gen.glsl").write_bytes(b"\xff\xfe not UTF-8")
    with pytest.raises(ValidationError) as info:
        load_show(path)
    # no "(as ... declares)": nothing declared the type; an image is not looked for
    assert [(p.key_path, p.message) for p in info.value.problems] == [
        (
            "layers[0].params.tint",
            'expected a colour "#rrggbb", "#rrggbbaa" or [r, g, b] / [r, g, b, a] '
            "with values 0..1, got [2, 0, 0]",
        )
    ]
    path = write(tmp_path, GEN + 'params = { mask = "nowhere.png" }\n', shader=None)
    (tmp_path / "shaders" / "gen.glsl").write_bytes(b"\xff\xfe not UTF-8")
    assert dict(load_show(path).layer("gen").params) == {"mask": "nowhere.png"}
