"""The renderer composites layers on the canvas and warps surfaces onto outputs.

Each test renders tiny framebuffers headless and compares read-back numbers.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from mapping import geometry
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer, warp_vertices
from mapping.media.writer import VideoWriter
from mapping.patterns import SurfaceOutline, render_pattern
from mapping.show import Canvas, Cue, Layer, LayerChange, Output, Show, Surface
from tests.showkit import single_surface_show, textured_image, write_png

CANVAS = (64, 48)
IDENTITY = np.eye(3)
FULL = (0.0, 0.0, float(CANVAS[0]), float(CANVAS[1]))


def _show(root: Path, layers: tuple[Layer, ...], surfaces=None, outputs=None, cues=()) -> Show:
    w, h = CANVAS
    if surfaces is None:
        rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
        surfaces = (Surface("all", "out", rect, IDENTITY, "homography"),)
    outputs = outputs or (Output("out", CANVAS),)
    return Show(root, "t", Canvas(CANVAS), outputs, surfaces, layers, cues)


def _render(ctx, show: Show, t: float = 0.0, engine: CueEngine | None = None):
    renderer = Renderer(ctx, show)
    renderer.render((engine or CueEngine(show)).tick(t))
    canvas = renderer.read_canvas().copy()
    outputs = {n: renderer.read_output(n).copy() for n in renderer.output_names()}
    errors = dict(renderer.errors)
    renderer.release()
    return canvas, outputs, errors


BASE = (0.2, 0.4, 0.8, 1.0)
TOP = (0.6, 0.5, 0.1, 1.0)


@pytest.mark.parametrize(
    ("blend", "expected"),
    [
        ("normal", lambda d, s, a: d * (1 - a) + s * a),
        ("add", lambda d, s, a: np.minimum(d + s * a, 1.0)),
        ("multiply", lambda d, s, a: d * (1 - a + a * s)),
        ("screen", lambda d, s, a: 1 - (1 - d) * (1 - s * a)),
    ],
)
def test_blend_modes_follow_their_formulas_with_opacity(ctx, tmp_path, blend, expected):
    opacity = 0.7
    layers = (
        Layer("base", "solid", BASE, 1.0, "normal", FULL),
        Layer("top", "solid", TOP, opacity, blend, FULL),
    )
    canvas, _, _ = _render(ctx, _show(tmp_path, layers))
    want = expected(np.array(BASE[:3]), np.array(TOP[:3]), opacity) * 255
    np.testing.assert_allclose(canvas[10, 10, :3], want, atol=1.5)


def test_a_layer_covers_only_its_canvas_region(ctx, tmp_path):
    image = np.zeros((8, 8, 4), np.uint8)
    image[...] = (255, 0, 0, 255)
    path = write_png(tmp_path / "red.png", image)
    layers = (Layer("img", "image", path, 1.0, "normal", (16.0, 8.0, 20.0, 10.0)),)
    canvas, _, _ = _render(ctx, _show(tmp_path, layers))
    red = canvas[..., 0] > 128
    ys, xs = np.nonzero(red)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (16, 35, 8, 17)


def test_cue_opacity_scales_a_layer(ctx, tmp_path):
    layers = (Layer("white", "solid", (1.0, 1.0, 1.0, 1.0), 0.0, "normal", FULL),)
    cues = (Cue("half", {"white": LayerChange(opacity=0.5)}, fade_s=0.0),)
    show = _show(tmp_path, layers, cues=cues)
    canvas, _, _ = _render(ctx, show, engine=CueEngine.at_cue(show, "half"))
    assert abs(int(canvas[5, 5, 0]) - 128) <= 1


def test_surfaces_are_clipped_to_their_polygons_and_drawn_only_on_their_output(ctx, tmp_path):
    layers = (Layer("white", "solid", (1.0, 1.0, 1.0, 1.0), 1.0, "normal", FULL),)
    tri = np.array([[0, 0], [40, 0], [0, 40]], float)
    surfaces = (
        Surface("tri", "a", tri, IDENTITY, "homography"),
        Surface(
            "elsewhere",
            "b",
            np.array([[50, 30], [60, 30], [60, 40], [50, 40]], float),
            IDENTITY,
            "homography",
        ),
    )
    outputs = (Output("a", CANVAS), Output("b", CANVAS))
    _, outs, _ = _render(ctx, _show(tmp_path, layers, surfaces, outputs))
    lit_a = outs["a"][..., 0] > 0
    ys, xs = np.mgrid[0 : CANVAS[1], 0 : CANVAS[0]] + 0.5
    inside_tri = xs + ys < 40
    assert (lit_a == inside_tri).mean() > 0.97
    assert not lit_a[35:, 45:].any(), "output a must not show surface 'elsewhere'"
    assert outs["b"][35, 55, 0] == 255 and outs["b"][10, 10, 0] == 0


def test_one_vertex_buffer_per_output_carries_every_surface(tmp_path):
    w, h = CANVAS
    quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surfaces = tuple(Surface(f"s{i}", "out", quad, IDENTITY, "homography") for i in range(5))
    data = warp_vertices(_show(tmp_path, (), surfaces), "out")
    assert data.shape == (5 * 2 * 3, 19)  # 5 quads, 2 triangles each
    np.testing.assert_allclose(data[0, 2:11], geometry.mat3_to_glsl(IDENTITY))
    assert not data[:, 11:].any()  # no mesh


def test_a_test_pattern_replaces_the_show_on_its_output_and_can_be_cleared(ctx, tmp_path):
    layers = (Layer("white", "solid", (1.0, 1.0, 1.0, 1.0), 1.0, "normal", FULL),)
    show = _show(tmp_path, layers)
    renderer = Renderer(ctx, show)
    frame = CueEngine(show).tick(0.0)
    renderer.set_pattern("out", "grid")
    renderer.render(frame)
    expected = render_pattern(
        "grid",
        CANVAS,
        output_name="out",
        surfaces=[SurfaceOutline("all", show.surfaces[0].polygon_projector_px)],
    )
    np.testing.assert_array_equal(renderer.read_output("out"), expected)
    renderer.set_pattern("out", None)
    renderer.render(frame)
    assert (renderer.read_output("out")[..., :3] == 255).all()
    with pytest.raises(ValueError, match="checkerboard"):
        renderer.set_pattern("out", "zebra")
    renderer.release()


def test_missing_media_at_run_time_becomes_a_placeholder_not_a_crash(ctx, tmp_path, caplog):
    path = write_png(tmp_path / "gone.png", textured_image(16, 16))
    layers = (Layer("img", "image", path, 1.0, "normal", FULL),)
    show = _show(tmp_path, layers)
    path.unlink()  # deleted after the show was validated
    with caplog.at_level(logging.ERROR):
        canvas, _outs, errors = _render(ctx, show)
    assert "img" in errors and "gone.png" in errors["img"]
    assert "gone.png" in caplog.text
    assert canvas[..., :3].any(), "the placeholder is visible"


def test_a_generator_that_does_not_compile_is_reported_at_its_file_and_line(ctx, tmp_path, caplog):
    shader = tmp_path / "bad.glsl"
    shader.write_text("void mainImage(out vec4 c, in vec2 p) {\n    c = vec4(nope);\n}\n")
    layers = (Layer("gen", "shader", shader, 1.0, "normal", FULL),)
    with caplog.at_level(logging.ERROR):
        _, _outs, errors = _render(ctx, _show(tmp_path, layers))
    assert f"{shader}:2:" in errors["gen"]
    assert "nope" in errors["gen"]
    assert f"{shader}:2:" in caplog.text


def test_a_generator_is_a_function_of_media_time(ctx, tmp_path):
    shader = tmp_path / "time.glsl"
    shader.write_text(
        "void mainImage(out vec4 c, in vec2 p) {\n"
        "    c = vec4(fract(iTime), p.x / iResolution.x, p.y / iResolution.y, 1.0);\n}\n"
    )
    show = _show(tmp_path, (Layer("gen", "shader", shader, 1.0, "normal", FULL),))
    a, _, _ = _render(ctx, show, t=0.25)
    b, _, _ = _render(ctx, show, t=0.25)
    c, _, _ = _render(ctx, show, t=0.75)
    np.testing.assert_array_equal(a, b)
    assert abs(int(a[0, 0, 0]) - 64) <= 1 and abs(int(c[0, 0, 0]) - 191) <= 1
    # fragCoord has its origin at the bottom-left, as on Shadertoy
    assert a[-1, 0, 2] < a[0, 0, 2]


def test_a_video_layer_shows_the_frame_for_its_media_time(ctx, tmp_path):
    clip = tmp_path / "count.mp4"
    with VideoWriter(clip, CANVAS, 10, gop=5) as writer:
        for i in range(20):
            writer.write(np.full((CANVAS[1], CANVAS[0], 3), 10 * i, np.uint8))
    show = _show(tmp_path, (Layer("v", "video", clip, 1.0, "normal", FULL),))
    for t, index in ((0.0, 0), (0.55, 5), (1.23, 12), (0.31, 3), (2.05, 0)):  # 2.05 s loops
        canvas, _, errors = _render(ctx, show, t=t)
        assert not errors
        assert abs(float(canvas[..., 0].mean()) - 10 * index) < 3, (t, index)


def test_set_show_updates_geometry_and_keeps_loaded_content(ctx, tmp_path):
    image = textured_image(*CANVAS)
    show = single_surface_show(tmp_path, image, IDENTITY, CANVAS)
    renderer = Renderer(ctx, show)
    frame = CueEngine(show).tick(0.0)
    renderer.render(frame)
    before = renderer.read_output("out").copy()
    source_before = next(iter(renderer._sources.values()))
    shifted = np.array([[1, 0, 8], [0, 1, 0], [0, 0, 1]], float)
    surface = dataclasses.replace(show.surfaces[0], H_canvas_to_projector=shifted)
    moved = dataclasses.replace(show, surfaces=(surface,))  # the image file is untouched
    renderer.set_show(moved)
    renderer.render(CueEngine(moved).tick(0.0))
    after = renderer.read_output("out")
    np.testing.assert_array_equal(after[:, 8:], before[:, :-8])
    assert next(iter(renderer._sources.values())) is source_before  # not opened again
    renderer.release()


def test_the_reference_pattern_projects_the_facade_drawing_through_the_mapping(ctx, tmp_path):
    drawing = textured_image(*CANVAS, seed=3)
    H = np.array([[0.9, 0.1, 3.0], [0.0, 0.85, 4.0], [0.001, 0.0, 1.0]])
    as_layer = single_surface_show(tmp_path, drawing, H, CANVAS)
    with_reference = Show(
        as_layer.root,
        "t",
        Canvas(CANVAS, reference=as_layer.layers[0].content),
        as_layer.outputs,
        as_layer.surfaces,
        (Layer("white", "solid", (1.0, 1.0, 1.0, 1.0), 1.0, "normal", FULL),),
        (),
    )
    _, expected, _ = _render(ctx, as_layer)
    renderer = Renderer(ctx, with_reference)
    assert "reference" in renderer.pattern_kinds()
    renderer.set_pattern("out", "reference")
    renderer.render(CueEngine(with_reference).tick(0.0))
    np.testing.assert_array_equal(renderer.read_output("out"), expected["out"])
    renderer.release()
    no_reference = Renderer(ctx, as_layer)
    with pytest.raises(ValueError, match="unknown pattern 'reference'"):
        no_reference.set_pattern("out", "reference")
    no_reference.release()


def test_a_video_layer_converts_the_decoders_yuv_planes_on_the_gpu(ctx, tmp_path):
    from mapping.media.video import VideoClip

    clip_path = tmp_path / "colour.mp4"
    rng = np.random.default_rng(5)
    smooth = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), CANVAS)
    with VideoWriter(clip_path, CANVAS, 10) as writer:
        for _ in range(3):
            writer.write(smooth)
    with VideoClip(clip_path, yuv_planes=True) as clip:
        planes = clip.frame_at(0.1).planes
    # The reference: literal BT.601 limited-range coefficients (an untagged SD clip), not the
    # code under test; chroma upsampled bilinearly at pixel centres. (FFmpeg's own rgb24
    # conversion replicates chroma instead, a coarser picture.) Tagged clips, full range and
    # BT.709 are in test_video_colour.py.
    assert (planes.matrix, planes.full_range) == ("bt601", False)
    bt601_limited = np.array(
        [[1.164384, 0.0, 1.596027], [1.164384, -0.391762, -0.812968], [1.164384, 2.017232, 0.0]]
    )
    chroma = [cv2.resize(c, CANVAS, interpolation=cv2.INTER_LINEAR) for c in (planes.u, planes.v)]
    yuv = np.stack([planes.y, *chroma], axis=-1).astype(np.float64) - [16.0, 128.0, 128.0]
    expected = np.clip(yuv @ bt601_limited.T, 0.0, 255.0)
    show = _show(tmp_path, (Layer("v", "video", clip_path, 1.0, "normal", FULL),))
    canvas, _, errors = _render(ctx, show, t=0.1)
    assert not errors
    diff = np.abs(canvas[..., :3] - expected)
    # measured: mean 0.67, max 2.52 levels (8-bit textures, chroma filtering)
    assert diff.mean() < 0.8 and diff.max() <= 3.0


def test_a_magnified_layer_does_not_wrap_its_edges(ctx, tmp_path):
    two = np.array([[[255, 0, 0, 255], [0, 0, 255, 255]]], np.uint8)  # red | blue
    path = write_png(tmp_path / "two.png", two)
    canvas, _, _ = _render(ctx, _show(tmp_path, (Layer("i", "image", path, 1.0, "normal", FULL),)))
    assert tuple(canvas[24, 0, :3]) == (255, 0, 0)  # the left edge is pure red, no blue
    assert tuple(canvas[24, -1, :3]) == (0, 0, 255)
