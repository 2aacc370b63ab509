"""Reading ISF headers (no GL): the reference host's defaults, v1 files, the kind of file,
pass-size expressions, and problems named by key path and line.

Expected values are the ISF specification's and VVISF's rules written out as literals.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.isf import ExprError, Expression, param_specs, parse_isf
from mapping.isf.translate import PRELUDE_LINE, TranslateError, rewrite_macros, translate
from mapping.params import ParamSpec
from tests.isfkit import write_isf
from tests.showkit import write_png

BODY = "void main() { gl_FragColor = vec4(1.0); }\n"


def problems(path: Path) -> list:
    with pytest.raises(ValidationError) as caught:
        parse_isf(path)
    return caught.value.problems


def test_inputs_without_defaults_get_the_reference_hosts_values(tmp_path):
    path = write_isf(
        tmp_path,
        "defaults",
        {
            "ISFVSN": "2.0",
            "INPUTS": [
                {"NAME": "a", "TYPE": "float"},
                {"NAME": "b", "TYPE": "float", "MIN": 2.0, "MAX": 4.0},
                {"NAME": "c", "TYPE": "float", "MIN": -1.0},  # one bound alone: ignored
                {"NAME": "d", "TYPE": "float", "MIN": 0.0, "MAX": 1.0, "DEFAULT": -3},
                {"NAME": "e", "TYPE": "bool"},
                {"NAME": "f", "TYPE": "long", "VALUES": [4, 8], "LABELS": ["four", "eight"]},
                {"NAME": "g", "TYPE": "long", "MIN": 1, "MAX": 9},
                {"NAME": "h", "TYPE": "color"},
                {"NAME": "i", "TYPE": "point2D", "LABEL": "Centre"},
                {"NAME": "j", "TYPE": "event"},
                {"NAME": "k", "TYPE": "image"},
                {"NAME": "l", "TYPE": "audio", "MAX": 256},
                {"NAME": "m", "TYPE": "audioFFT"},
            ],
        },
        BODY,
    )
    doc = parse_isf(path)
    assert doc.isf_version == 2
    assert doc.kind == "generator"
    assert [p.name for p in doc.params] == list("abcdefghijk")  # audio is not settable
    assert [i.name for i in doc.inputs] == list("abcdefghijklm")
    specs = {p.name: p for p in doc.params}
    assert specs["a"] == ParamSpec("a", "float", 0.5, 0.0, 1.0)
    assert specs["b"] == ParamSpec("b", "float", 3.0, 2.0, 4.0)
    assert specs["c"] == ParamSpec("c", "float", 0.5, 0.0, 1.0)
    assert specs["d"].default == 0.0  # clamped into MIN..MAX
    assert specs["e"] == ParamSpec("e", "bool", True)
    # VVISF leaves a long without DEFAULT null, which its uniform upload reads as 0
    # (ISFDoc.cpp, ISFVal::getLongVal), even outside the menu or MIN..MAX
    assert specs["f"] == ParamSpec("f", "long", 0, 4, 8, (4, 8), ("four", "eight"))
    assert specs["g"] == ParamSpec("g", "long", 0, 1, 9)
    assert specs["h"] == ParamSpec("h", "color", (0.0,) * 4, (0.0,) * 4, (1.0,) * 4)
    assert specs["i"] == ParamSpec("i", "point2D", (0.0, 0.0), label="Centre")
    assert specs["j"] == ParamSpec("j", "event", False)
    assert specs["k"] == ParamSpec("k", "image", "")
    assert doc.input("l").max == 256 and doc.input("m").max is None
    assert param_specs(path) == doc.params
    assert doc.passes[0].target is None and len(doc.passes) == 1


def test_the_kind_of_file_follows_its_image_inputs(tmp_path):
    image = {"TYPE": "image"}
    filt = write_isf(tmp_path, "f", {"INPUTS": [{"NAME": "inputImage", **image}]}, BODY)
    trans = write_isf(
        tmp_path,
        "t",
        {
            "INPUTS": [
                {"NAME": "startImage", **image},
                {"NAME": "endImage", **image},
                {"NAME": "progress", "TYPE": "float"},
            ]
        },
        BODY,
    )
    half = write_isf(tmp_path, "h", {"INPUTS": [{"NAME": "startImage", **image}]}, BODY)
    assert [parse_isf(p).kind for p in (filt, trans, half)] == [
        "filter",
        "transition",
        "generator",
    ]


def test_the_shader_source_starts_after_the_header_line(tmp_path):
    path = tmp_path / "x.fs"
    path.write_text('// a comment\n/*{\n"ISFVSN": "2"\n}*/ trailing\nvoid main() {}\n')
    doc = parse_isf(path)
    assert doc.fragment_first_line == 5
    assert doc.fragment_source == "void main() {}\n"


def test_v1_persistent_buffers_as_an_object_give_their_passes_size_and_float(tmp_path):
    path = write_isf(
        tmp_path,
        "v1",
        {
            "INPUTS": [{"NAME": "scale", "TYPE": "float", "DEFAULT": 2}],
            "PERSISTENT_BUFFERS": {"trail": {"WIDTH": "$WIDTH/$scale", "FLOAT": 1}},
            "PASSES": [{"TARGET": "trail"}, {"TARGET": "temp", "HEIGHT": 10}, {}],
        },
        BODY,
    )
    doc = parse_isf(path)
    assert doc.isf_version == 1
    trail, temp, last = doc.passes
    assert (trail.target, trail.persistent, trail.float, trail.width) == (
        "trail",
        True,
        True,
        "$WIDTH/$scale",
    )
    assert (temp.persistent, temp.float, temp.height) == (False, False, "10.0")
    assert last.target is None
    assert [b.target for b in doc.buffers] == ["trail", "temp"]


def test_imported_images_resolve_against_the_files_folder(tmp_path):
    import numpy as np

    write_png(tmp_path / "tex" / "a.png", np.zeros((2, 2, 4), np.uint8))
    path = write_isf(tmp_path, "imp", {"IMPORTED": [{"NAME": "noise", "PATH": "tex/a.png"}]}, BODY)
    (imp,) = parse_isf(path).imported
    assert (imp.name, imp.path) == ("noise", tmp_path / "tex" / "a.png")
    missing = write_isf(tmp_path, "gone", {"IMPORTED": {"noise": {"PATH": "nope.png"}}}, BODY)
    (p,) = problems(missing)
    assert p.key_path == "IMPORTED.noise.PATH" and "nope.png" in p.message


def test_bad_json_names_the_line_of_the_file(tmp_path):
    path = tmp_path / "bad.fs"
    path.write_text(
        '\n/*{\n  "ISFVSN": "2",\n  "INPUTS": [\n    {"NAME": "a" "TYPE": "float"}\n]}*/\n'
    )
    (p,) = problems(path)
    assert p.line == 5 and "not valid JSON" in p.message and p.file == path


@pytest.mark.parametrize(
    ("entry", "key_path", "expected"),
    [
        ({"NAME": "a", "TYPE": "float", "DEFAULT": "high"}, "INPUTS[1].DEFAULT", "a number"),
        ({"NAME": "a", "TYPE": "color", "DEFAULT": [1, 0]}, "INPUTS[1].DEFAULT", "4 numbers"),
        ({"NAME": "a", "TYPE": "point2D", "MAX": 3}, "INPUTS[1].MAX", "2 numbers"),
        (
            {"NAME": "a", "TYPE": "long", "VALUES": [1, 2], "LABELS": ["x"]},
            "INPUTS[1].LABELS",
            "1 labels for 2",
        ),
        ({"NAME": "a", "TYPE": "bool", "DEFAULT": "yes"}, "INPUTS[1].DEFAULT", "true or false"),
        ({"NAME": "a", "TYPE": "colour"}, "INPUTS[1].TYPE", "did you mean 'color'"),
        ({"NAME": "2a", "TYPE": "float"}, "INPUTS[1].NAME", "not a GLSL name"),
        ({"NAME": "TIME", "TYPE": "float"}, "INPUTS[1].NAME", "ISF built-in"),
        ({"NAME": "sample", "TYPE": "float"}, "INPUTS[1].NAME", "GLSL word"),
        ({"TYPE": "float"}, "INPUTS[1].NAME", "expected the input's name"),
    ],
)
def test_wrong_input_entries_name_the_key_path_and_what_was_expected(
    tmp_path, entry, key_path, expected
):
    path = write_isf(tmp_path, "x", {"INPUTS": [{"NAME": "ok", "TYPE": "float"}, entry]}, BODY)
    (p,) = problems(path)
    assert p.key_path == key_path
    assert expected in p.message
    assert p.line is not None and p.line > 1


def test_pass_size_expressions_are_checked_against_the_inputs(tmp_path):
    path = write_isf(
        tmp_path,
        "x",
        {
            "INPUTS": [{"NAME": "scale", "TYPE": "float"}],
            "PASSES": [
                {"TARGET": "a", "WIDTH": "$WIDTH/$sacle"},
                {"TARGET": "b", "HEIGHT": "$HEIGHT*("},
                {"TARGET": "c", "PERSISTENT": "maybe"},
            ],
        },
        BODY,
    )
    found = {p.key_path: (p.message, p.line) for p in problems(path)}
    message, line = found["PASSES[0].WIDTH"]
    assert "'$WIDTH/$sacle' reads 'sacle'" in message and "did you mean 'scale'" in message
    assert "$sacle" in path.read_text().splitlines()[line - 1]
    found = {k: m for k, (m, _) in found.items()}
    assert "ends too early" in found["PASSES[1].HEIGHT"]
    assert "true or false" in found["PASSES[2].PERSISTENT"]


def test_a_file_without_a_header_comment_is_refused(tmp_path):
    path = tmp_path / "plain.fs"
    path.write_text(BODY)
    (p,) = problems(path)
    assert "JSON header" in p.message
    (missing,) = problems(tmp_path / "absent.fs")
    assert "not found" in missing.message


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("$WIDTH/2", {"WIDTH": 64}, 32.0),
        ("floor($WIDTH*0.5)+1", {"WIDTH": 33}, 17.0),
        ("max($WIDTH, $HEIGHT) - 2 ^ 3", {"WIDTH": 10, "HEIGHT": 20}, 12.0),
        ("2 ^ 3 ^ 2", {}, 512.0),
        ("-$WIDTH % 7", {"WIDTH": 10}, -3.0),
        ("$HEIGHT > 100", {"HEIGHT": 120}, 1.0),
        ("if($scale > 1, $WIDTH / scale, $WIDTH)", {"WIDTH": 64, "scale": 4}, 16.0),
        ("ceil(pi) + round(2.5) + sqrt(16)", {}, 4.0 + 3.0 + 4.0),
        ("1 && 0 || !0", {}, 1.0),
    ],
)
def test_expressions_evaluate_like_arithmetic(text, values, expected):
    assert Expression(text).evaluate(values) == pytest.approx(expected)


def test_expressions_never_run_python_and_divide_by_zero_as_nan():
    for bad in ("__import__('os')", "WIDTH.real", "[1]", "1 +", "foo(1)", "(1", ""):
        with pytest.raises(ExprError):
            Expression(bad)
    assert math.isnan(Expression("$WIDTH / 0").evaluate({"WIDTH": 1}))
    with pytest.raises(ExprError):
        Expression("$nope").evaluate({})
    assert Expression("$WIDTH*$scale").names == {"WIDTH", "scale"}


def test_macro_rewrites_keep_every_line(tmp_path):
    source = "vec4 a = IMG_NORM_PIXEL(img,\n    vec2(0.5, 0.5));\nvec2 s = IMG_SIZE( img );\n"
    out = rewrite_macros(source, 10)
    assert out.count("\n") == source.count("\n")
    assert "VVSAMPLER_2DBYNORM(img, _img_imgRect, _img_imgSize, _img_flip," in out
    assert "(_img_imgSize.xy)" in out
    with pytest.raises(TranslateError) as caught:
        rewrite_macros("\n\nIMG_PIXEL(img)", 10)
    assert caught.value.line == 12
    commented = "// IMG_PIXEL(img)\n/* IMG_SIZE(a, b)\n */ vec2 s = IMG_SIZE(img);\n"
    assert rewrite_macros(commented, 1) == commented.replace("IMG_SIZE(img)", "(_img_imgSize.xy)")


def test_the_translation_puts_the_artists_lines_under_their_own_numbers(tmp_path):
    path = write_isf(
        tmp_path,
        "x",
        {"INPUTS": [{"NAME": "inputImage", "TYPE": "image"}, {"NAME": "n", "TYPE": "long"}]},
        BODY,
    )
    doc = parse_isf(path)
    sources = translate(doc)
    assert sources.fragment.startswith("#version 330 core\n")
    assert f"#line {doc.fragment_first_line}\n{BODY}" in sources.fragment
    assert f"#line {PRELUDE_LINE}\n" in sources.fragment
    for declaration in (
        "uniform sampler2D inputImage;",
        "uniform vec4 _inputImage_imgRect;",
        "uniform vec2 _inputImage_imgSize;",
        "uniform bool _inputImage_flip;",
        "uniform int n;",
        "in vec2 isf_FragNormCoord;",
        "uniform vec4 DATE;",
    ):
        assert declaration in sources.fragment
    assert "out vec2 isf_FragNormCoord;" in sources.vertex
    assert sources.samplers == ("inputImage",)
