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
    first = report.problems[0]
    assert (first.file, first.line) == (path, wrong)
    assert "gian" in report.problems[0].message


def test_every_scalar_input_type_reaches_its_uniform_with_the_reference_defaults(ctx, tmp_path):
    """long (a menu), bool without DEFAULT (VVISF: true), point2D, float clamped into range."""
    path = write_isf(
        tmp_path,
        "scalars",
        {
            "ISFVSN": "2",
            "INPUTS": [
                {
                    "NAME": "choice",
                    "TYPE": "long",
                    "VALUES": [0, 1, 2],
                    "LABELS": ["a", "b", "c"],
                    "DEFAULT": 2,
                },
                {"NAME": "flag", "TYPE": "bool"},
                {"NAME": "where", "TYPE": "point2D", "DEFAULT": [3.0, 7.0]},
                {"NAME": "amount", "TYPE": "float", "MIN": 0.2, "MAX": 0.6, "DEFAULT": 0.9},
            ],
        },
        """
        void main() {
            gl_FragColor = vec4(float(choice) / 4.0, flag ? 1.0 : 0.0, where.x / 10.0, 1.0);
            if (gl_FragCoord.x > 1.0)
                gl_FragColor = vec4(where.y / 10.0, amount, 0.0, 1.0);
        }
        """,
    )
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((2, 1), 0.0, {}))
        close(out[0, 0], [level(0.5), 255, level(0.3), 255])
        close(out[0, 1], [level(0.7), level(0.6), 0, 255])  # 0.9 clamped to MAX
        given = {"choice": 1, "flag": False, "where": (5.0, 1.0), "amount": 0.25}
        out = read_rgba(prog.render((2, 1), 0.0, given))
        close(out[0, 0], [level(0.25), 0, level(0.5), 255])
        close(out[0, 1], [level(0.1), level(0.25), 0, 255])
    finally:
        prog.release()


def test_an_event_is_true_for_the_one_render_after_it_is_set(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "flash",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "bang", "TYPE": "event"}]},
        "void main() { gl_FragColor = vec4(bang ? 1.0 : 0.0, 0.0, 0.0, 1.0); }\n",
    )
    prog = program(ctx, path)
    try:
        reds = [
            int(read_rgba(prog.render((1, 1), t, {"bang": v}))[0, 0, 0])
            for t, v in ((0.0, False), (0.1, True), (0.2, True), (0.3, False), (0.4, True))
        ]
        assert reds == [0, 255, 0, 0, 255]
    finally:
        prog.release()


def test_a_pass_into_a_target_with_size_expressions_is_read_by_the_next_pass(ctx, tmp_path):
    """Pass 0 draws into "small" at $WIDTH/2 × floor($HEIGHT*0.5)+1 and writes its own
    RENDERSIZE and PASSINDEX; pass 1 (the output) reads it back by name."""
    path = write_isf(
        tmp_path,
        "twopass",
        {
            "ISFVSN": "2",
            "PASSES": [
                {"TARGET": "small", "WIDTH": "$WIDTH/2", "HEIGHT": "floor($HEIGHT*0.5)+1"},
                {},
            ],
        },
        """
        void main() {
            if (PASSINDEX == 0) {
                gl_FragColor = vec4(RENDERSIZE / 64.0, float(PASSINDEX), 1.0);
            } else {
                vec4 h = IMG_NORM_PIXEL(small, isf_FragNormCoord);
                gl_FragColor = vec4(h.rg, RENDERSIZE.x / 64.0 + float(PASSINDEX) / 4.0, 1.0);
            }
        }
        """,
    )
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((32, 16), 0.0, {}))
        assert prog.last_pass_sizes == [(16, 9), (32, 16)]
        close(out, [level(16 / 64), level(9 / 64), level(32 / 64 + 1 / 4), 255])
    finally:
        prog.release()


def _accumulator(tmp_path: Path, is_float: bool) -> Path:
    return write_isf(
        tmp_path,
        f"acc{int(is_float)}",
        {
            "ISFVSN": "2",
            "PASSES": [{"TARGET": "acc", "PERSISTENT": True, "FLOAT": is_float}, {}],
        },
        """
        void main() {
            if (PASSINDEX == 0)
                gl_FragColor = IMG_THIS_PIXEL(acc) + vec4(0.25);
            else
                gl_FragColor = IMG_THIS_NORM_PIXEL(acc) / 4.0;
        }
        """,
    )


@pytest.mark.parametrize("is_float", [True, False])
def test_a_persistent_buffer_accumulates_over_frames_a_float_one_beyond_one(
    ctx, tmp_path, is_float
):
    prog = program(ctx, _accumulator(tmp_path, is_float))
    try:
        seen = [read_rgba(prog.render((4, 2), n / 30, {}))[..., 0] for n in range(6)]
        for n, red in enumerate(seen, 1):
            total = 0.25 * n if is_float else min(0.25 * n, 1.0)  # RGBA8 holds 0..1
            close(red, level(total / 4.0))
        # a new size starts the buffer again from transparent black
        close(read_rgba(prog.render((3, 2), 0.3, {}))[..., 0], level(0.25 / 4))
    finally:
        prog.release()


def test_imported_images_are_read_with_their_top_row_at_the_top(ctx, tmp_path):
    picture = np.zeros((4, 4, 4), np.uint8)
    picture[..., 0] = np.arange(4)[None, :] * 70
    picture[..., 1] = np.arange(4)[:, None] * 80
    picture[..., 3] = 255
    write_png(tmp_path / "pics" / "grid.png", picture)
    path = write_isf(
        tmp_path,
        "imported",
        {"ISFVSN": "2", "IMPORTED": {"grid": {"PATH": "pics/grid.png"}}},
        """
        void main() {
            vec4 size = vec4(0.0, 0.0, IMG_SIZE(grid).x / 8.0, 0.0);
            gl_FragColor = IMG_PIXEL(grid, gl_FragCoord.xy) + size;
        }
        """,
    )
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((4, 4), 0.0, {}))
        close(out[..., :2], picture[..., :2])
        close(out[..., 2], level(0.5))
    finally:
        prog.release()


def test_img_pixel_reads_pixels_and_img_norm_pixel_reads_the_whole_image(ctx, tmp_path):
    """An 8×2 input drawn at 4×2: IMG_PIXEL at the fragment's pixel reads column x of the
    input; IMG_NORM_PIXEL at isf_FragNormCoord falls between columns 2x and 2x+1."""
    path = write_isf(
        tmp_path,
        "pixels",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "inputImage", "TYPE": "image"}]},
        """
        void main() {
            gl_FragColor = vec4(IMG_PIXEL(inputImage, gl_FragCoord.xy).r,
                                IMG_NORM_PIXEL(inputImage, isf_FragNormCoord).r, 0.0, 1.0);
        }
        """,
    )
    image = np.zeros((2, 8, 4), np.uint8)
    image[..., 0] = np.arange(8)[None, :] * 30
    image[..., 3] = 255
    tex = upload(ctx, image)
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((4, 2), 0.0, {}, {"inputImage": tex}))
        x = np.arange(4)
        close(out[..., 0], (30 * x)[None, :])
        close(out[..., 1], (60 * x + 15)[None, :])
    finally:
        prog.release()
        tex.release()


def test_a_custom_vertex_shader_feeds_the_fragment_shader(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "vertex",
        {"ISFVSN": "2"},
        """
        varying vec2 doubled;
        void main() {
            gl_FragColor = vec4(doubled / 2.0, 0.0, 1.0);
        }
        """,
        vertex="""
        varying vec2 doubled;
        void main() {
            isf_vertShaderInit();
            doubled = isf_FragNormCoord * 2.0;
        }
        """,
    )
    prog = program(ctx, path)
    try:
        assert prog.doc.vertex_file == path.with_suffix(".vs")
        out = read_rgba(prog.render((4, 2), 0.0, {}))
        xs = (np.arange(4) + 0.5) / 4
        close(out[..., 0], np.array([level(x) for x in xs])[None, :])
        close(out[..., 1], np.array([[level(0.75)], [level(0.25)]]))
    finally:
        prog.release()


def test_a_v1_file_in_old_glsl_compiles_under_330_core(ctx, tmp_path):
    """No ISFVSN, PERSISTENT_BUFFERS, vv_FragNormCoord, texture2D, gl_FragColor, #version."""
    path = write_isf(
        tmp_path,
        "old",
        {
            "INPUTS": [{"NAME": "inputImage", "TYPE": "image"}],
            "PERSISTENT_BUFFERS": ["memory"],
            "PASSES": [{"TARGET": "memory"}, {}],
        },
        """
        #version 120
        void main() {
            if (PASSINDEX == 0)
                gl_FragColor = texture2D(memory, vv_FragNormCoord) + vec4(0.5, 0.0, 0.0, 0.0);
            else
                gl_FragColor = vec4(texture2D(memory, vv_FragNormCoord).r,
                                    IMG_THIS_PIXEL(inputImage).g, 0.0, 1.0);
        }
        """,
    )
    doc = parse_isf(path)
    assert doc.isf_version == 1
    assert doc.passes[0].persistent
    image = np.full((2, 2, 4), 200, np.uint8)
    tex = upload(ctx, image)
    prog = IsfProgram(ctx, doc)
    try:
        close(read_rgba(prog.render((2, 2), 0.0, {}, {"inputImage": tex}))[..., :2], [128, 200])
        close(read_rgba(prog.render((2, 2), 0.1, {}, {"inputImage": tex}))[..., :2], [255, 200])
    finally:
        prog.release()
        tex.release()


def test_time_timedelta_frameindex_and_date_are_set_each_render(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "clock",
        {"ISFVSN": "2"},
        """
        void main() {
            gl_FragColor = vec4(TIME / 4.0, TIMEDELTA * 2.0, float(FRAMEINDEX) / 10.0, 1.0);
            if (gl_FragCoord.x > 1.0)
                gl_FragColor = vec4(DATE.y / 12.0, DATE.z / 31.0, DATE.w / 86400.0, 1.0);
        }
        """,
    )
    prog = program(ctx, path)
    date = datetime.datetime(2026, 11, 26, 18, 0, 0)
    try:
        first = read_rgba(prog.render((2, 1), 1.0, {}, date=date))
        close(first[0, 0], [level(0.25), 0, 0, 255])
        close(first[0, 1], [level(11 / 12), level(26 / 31), level(0.75), 255])
        second = read_rgba(prog.render((2, 1), 1.25, {}, date=date))
        close(second[0, 0], [level(1.25 / 4), level(0.5), level(0.1), 255])
        third = read_rgba(prog.render((2, 1), 1.5, {}, frame_index=7, date=date))
        close(third[0, 0, 2], level(0.7))
    finally:
        prog.release()


def test_compile_errors_name_the_fs_line_and_the_vs_line(ctx, tmp_path):
    fs = write_isf(
        tmp_path,
        "broken",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "gain", "TYPE": "float"}]},
        """
        void main() {
            float x = gain;
            gl_FragColor = vec4(x * undefinedName);
        }
        """,
    )
    wrong = next(i for i, t in enumerate(fs.read_text().splitlines(), 1) if "undefinedName" in t)
    assert wrong > 8  # the JSON header's lines count
    with pytest.raises(ShaderError) as caught:
        load_isf_program(ctx, fs)
    assert (caught.value.file, caught.value.diagnostics[0].line) == (fs, wrong)
    assert "undefinedName" in caught.value.diagnostics[0].source_line

    vs = write_isf(
        tmp_path,
        "badvertex",
        {"ISFVSN": "2"},
        "void main() { gl_FragColor = vec4(1.0); }\n",
        vertex="void main() {\n    isf_vertShaderInit();\n    gl_Position.x += missing;\n}\n",
    )
    with pytest.raises(ShaderError) as caught:
        load_isf_program(ctx, vs)
    assert caught.value.file == vs.with_suffix(".vs")
    assert caught.value.diagnostics[0].line == 3


def test_a_header_problem_is_a_shader_error_with_its_key_path(ctx, tmp_path):
    path = write_isf(
        tmp_path, "bad", {"INPUTS": [{"NAME": "x", "TYPE": "flaot"}]}, "void main() {}\n"
    )
    with pytest.raises(ShaderError) as caught:
        load_isf_program(ctx, path)
    assert "INPUTS[0].TYPE" in str(caught.value)
    assert "did you mean 'float'" in str(caught.value)


def test_a_transition_mixes_its_start_and_end_images_by_progress(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "fade",
        {
            "ISFVSN": "2",
            "INPUTS": [
                {"NAME": "startImage", "TYPE": "image"},
                {"NAME": "endImage", "TYPE": "image"},
                {"NAME": "progress", "TYPE": "float"},
            ],
        },
        """
        void main() {
            gl_FragColor = mix(IMG_THIS_NORM_PIXEL(startImage), IMG_THIS_NORM_PIXEL(endImage),
                               progress);
        }
        """,
    )
    start = np.zeros((2, 2, 4), np.uint8)
    start[0] = (200, 0, 0, 255)  # top row red, bottom row blue
    start[1] = (0, 0, 200, 255)
    end = np.full((2, 2, 4), (0, 100, 0, 255), np.uint8)
    textures = {"startImage": upload(ctx, start), "endImage": upload(ctx, end)}
    prog = program(ctx, path)
    try:
        assert prog.doc.kind == "transition"
        out = read_rgba(prog.render((2, 2), 0.0, {"progress": 0.25}, textures))
        close(out[0], [150, 25, 0, 255])
        close(out[1], [0, 25, 150, 255])
    finally:
        prog.release()
        for tex in textures.values():
            tex.release()


def _source(ctx, tmp_path: Path, body: str, header: dict | None = None):
    import dataclasses

    from mapping.gl.sources.base import SourceEnv
    from mapping.gl.sources.isf import IsfSource
    from mapping.show import Layer

    path = write_isf(tmp_path, "gen", header or {"ISFVSN": "2"}, body)
    quad = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
    layer = Layer("gen", "isf", path, region_canvas_px=(0.0, 0.0, 3.0, 2.0))
    env = SourceEnv(ctx, quad, canvas_size_px=(3, 2))
    return IsfSource(env, dataclasses.replace(layer), path), quad


def test_a_source_animates_only_when_the_file_reads_time_or_keeps_buffers(ctx, tmp_path):
    still, q1 = _source(ctx, tmp_path / "a", "void main() { gl_FragColor = vec4(0.5); }\n")
    moving, q2 = _source(ctx, tmp_path / "b", "void main() { gl_FragColor = vec4(fract(TIME)); }\n")
    try:
        assert not still.animating(0.0) and moving.animating(0.0)
        binding = moving.binding(0.25, {})
        assert binding is not None and binding.textures[0].size == (3, 2)
        close(read_rgba(binding.textures[0]), [level(0.25)] * 4)
        assert still.binding(0.0, {}) is still.binding(1.0, {})  # drawn once
    finally:
        for source in (still, moving):
            source.release()
        q1.release()
        q2.release()


def test_a_source_draws_again_the_frame_after_an_event(ctx, tmp_path):
    source, quad = _source(
        ctx,
        tmp_path,
        "void main() { gl_FragColor = vec4(bang ? 1.0 : 0.0, 0.0, 0.0, 1.0); }\n",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "bang", "TYPE": "event"}]},
    )
    try:
        assert not source.animating(0.0)
        red = [
            int(read_rgba(source.binding(0.0, {"bang": b}).textures[0])[0, 0, 0])
            for b in (False, True)
        ]
        assert red == [0, 255] and source.animating(0.0)
        assert int(read_rgba(source.binding(0.0, {"bang": True}).textures[0])[0, 0, 0]) == 0
        assert not source.animating(0.0)
    finally:
        source.release()
        quad.release()


def test_the_isf_benchmark_times_every_row(ctx, capsys):
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("bench_isf", bench / "bench_isf.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.main(["--size", "32", "18", "--frames", "2", "--repeat", "1"], ctx) == 0
    finally:
        sys.path.remove(str(bench))
    out = capsys.readouterr().out
    for row in ("shader generator (baseline)", "ISF, 1 pass", "ISF, 3 passes"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert float(line.split()[-2]) > 0  # a frame time was measured


def test_when_the_last_pass_has_a_target_that_buffer_is_the_output(ctx, tmp_path):
    """One persistent pass with a TARGET and a string HEIGHT (a feedback effect as
    published files write it): the output is the buffer, at the pass's size."""
    path = write_isf(
        tmp_path,
        "feedback",
        {"ISFVSN": "2", "PASSES": [{"TARGET": "fb", "PERSISTENT": True, "HEIGHT": "2"}]},
        """
        /* a block comment after the header is the artist's */
        void main() { gl_FragColor = IMG_PIXEL(fb, gl_FragCoord.xy) + vec4(0.25); }
        """,
    )
    prog = program(ctx, path)
    try:
        for _ in range(3):
            out = read_rgba(prog.render((3, 5), 0.0, {}))
        assert out.shape == (2, 3, 4)
        close(out, level(0.75))
    finally:
        prog.release()


def test_the_media_report_takes_an_isf_files_imported_image_as_an_image(tmp_path):
    from mapping.media.report import media_report
    from mapping.show import load_show

    picture = np.full((2, 2, 4), 255, np.uint8)
    write_png(tmp_path / "shaders" / "noise.png", picture)
    write_isf(
        tmp_path / "shaders",
        "ramp",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "gain", "TYPE": "float"}],
         "IMPORTED": {"noise": {"PATH": "noise.png"}}},
        "void main() { gl_FragColor = IMG_THIS_PIXEL(noise) * gain; }\n",
    )  # fmt: skip
    (tmp_path / "show.toml").write_text(SHOW)
    report = media_report(load_show(tmp_path))
    by_name = {e.info.path.name: e.info for e in report.entries}
    assert by_name["noise.png"].kind == "image" and not by_name["noise.png"].problems
    assert by_name["ramp.fs"].kind == "shader" and not by_name["ramp.fs"].problems
