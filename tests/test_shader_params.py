"""A generator's parameters are its uniform declarations (mapping/shader_params.py).

Each test writes a shader text and states, by hand, what the artist declared: names, types,
ranges, defaults and lines; and what the host never sets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.kinds import LAYER_KINDS, params_function
from mapping.media.errors import MediaError
from mapping.params import ParamSpec
from mapping.shader_params import scan_uniforms

SHADER = """\
// a header comment: uniform float commented_out;
precision highp float;
uniform float speed; // range 0..4 default 1
uniform highp float a, b = 2.5;
uniform vec3 tint = vec3(1.0, 0.5, 0.0);
/* uniform float in_a_block_comment;
   uniform vec4 also_not; */
uniform vec4 col; // default 1, 0, 0
uniform int bands; // range 1..8
uniform bool on;
uniform vec2 centre; // range -1..1 default 0.5, -0.5
uniform float iTime;
uniform sampler2D tex;
uniform mat4 m;
uniform float arr[4];
uniform vec4 iMouse;
uniform float bad; // range 4..1
layout(location = 3) uniform float late;
uniform Light { vec3 pos; } light;
void mainImage(out vec4 c, in vec2 f) { c = vec4(speed); }
"""


@pytest.fixture
def scanned(tmp_path: Path):
    path = tmp_path / "s.glsl"
    path.write_text(SHADER)
    return scan_uniforms(path)


def test_declared_uniforms_become_typed_parameters(scanned):
    assert scanned.params == (
        ParamSpec("speed", "float", 1.0, min=0.0, max=4.0),
        ParamSpec("a", "float", 0.0),
        ParamSpec("b", "float", 2.5),
        ParamSpec("tint", "color", (1.0, 0.5, 0.0, 1.0)),  # vec3: RGB, alpha 1
        ParamSpec("col", "color", (1.0, 0.0, 0.0, 1.0)),
        ParamSpec("bands", "long", 1, min=1, max=8),  # 0 moved into the range
        ParamSpec("on", "bool", False),
        ParamSpec("centre", "point2D", (0.5, -0.5), min=(-1.0, -1.0), max=(1.0, 1.0)),
        ParamSpec("bad", "float", 0.0),  # its annotation is refused: no range
        ParamSpec("late", "float", 0.0),
    )
    assert scanned.glsl_types["tint"] == "vec3" and scanned.glsl_types["col"] == "vec4"


def test_uniforms_the_host_never_sets_are_listed_with_their_lines(scanned):
    assert [(u.name, u.line, u.glsl_type) for u in scanned.unset] == [
        ("tex", 13, "sampler2D"),
        ("m", 14, "mat4"),
        ("arr", 15, "float[4]"),
        ("iMouse", 16, "vec4"),
        ("Light", 19, "block"),
    ]
    assert "Shadertoy input" in scanned.unset[3].reason


def test_a_bad_annotation_is_a_problem_at_its_line(scanned):
    assert scanned.problems == ((17, "uniform 'bad': range 4..1 is empty"),)


def test_prose_in_a_comment_is_no_annotation_and_a_garbled_one_is_reported(tmp_path):
    path = tmp_path / "s.glsl"
    path.write_text("uniform float a; // range of the bands\nuniform float b; // range 0..x\n")
    result = scan_uniforms(path)
    assert [s.name for s in result.params] == ["a", "b"]
    ((line, message),) = result.problems
    assert line == 2 and "cannot read the annotation 'range 0..x'" in message


def test_a_default_outside_the_range_is_reported(tmp_path):
    path = tmp_path / "s.glsl"
    path.write_text("uniform float x; // range 0..1 default 3\n")
    result = scan_uniforms(path)
    assert result.params == (ParamSpec("x", "float", 0.0, min=0.0, max=1.0),)
    assert result.problems == ((1, "uniform 'x': default: expected a number in 0..1, got 3"),)


def test_the_shader_kind_declares_its_params_through_the_kinds_table(tmp_path):
    path = tmp_path / "s.glsl"
    path.write_text("uniform float level;\nvoid mainImage(out vec4 c, in vec2 f) {}\n")
    read = params_function(LAYER_KINDS["shader"])
    assert read is not None and read(path) == (ParamSpec("level", "float", 0.0),)
    assert params_function(LAYER_KINDS["image"]) is None


def test_an_unreadable_shader_is_a_media_error_naming_it(tmp_path):
    path = tmp_path / "s.glsl"
    path.write_bytes(b"\xff\xfe uniform float x;")
    with pytest.raises(MediaError) as info:
        scan_uniforms(path)
    assert info.value.path == path and "UTF-8" in info.value.reason
    with pytest.raises(MediaError):
        scan_uniforms(tmp_path / "missing.glsl")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "uniform",
                " ",
                "float",
                "vec4",
                "int",
                "x",
                "y",
                ",",
                ";",
                "[2]",
                "=",
                "1.0",
                "(",
                ")",
                "{",
                "}",
                "//",
                "/*",
                "*/",
                "\n",
                "range",
                "0..4",
                "default",
                "highp",
                "layout(location=0)",
                "#",
                "vec3(1,2)",
                "sampler2D",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_the_scanner_never_raises_on_any_text(text):
    result = scan_uniforms(Path("any.glsl"), text)
    names = [spec.name for spec in result.params]
    assert all(name.isidentifier() for name in names)
    assert all(line >= 1 for line, _ in result.problems)
