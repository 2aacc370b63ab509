"""ISF files in the styles published ones are written in: each parses, compiles, is
admitted by a trial frame in the trial process, and draws the picture its definition gives.

The files in ``tests/data/isf/wild/`` were written for these tests (none copied), each in
a style found in circulation: a v1 feedback filter with ``PERSISTENT_BUFFERS`` and
``texture2D`` (``v1-trails``), a multi-pass blur at ``"$WIDTH/2"`` (``half-blur``), a
``PERSISTENT`` ``FLOAT`` accumulator (``glow-accumulate``), a transition around a
``point2D`` centre (``iris``), a filter with a colour and a long menu (``tint-modes``), an
audio-reactive generator (``spectrum-bars``), a v1 generator with an IMPORTED image and
a ``.vs`` using v1's names (``v1-grain``), and a v1 blur whose ``.vs`` fills a varying array
of neighbour coordinates, behind the ``#ifdef GL_ES`` precision block many files carry
(``v1-cross-blur``). Expected pixels are the files' definitions
applied by hand (8-bit levels, ``level``); pictures are solid or split in halves so each
sample is exact.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mapping.gl.sources.isf import spectrum_texture_data, waveform_texture_data
from mapping.gl.trial import ShaderTrials, TrialBudget
from mapping.isf import parse_isf
from tests.isfkit import level, program, read_rgba, upload
from tests.showkit import write_png

WILD = Path(__file__).parent / "data" / "isf" / "wild"
FILES = sorted(p.name for p in WILD.glob("*.fs"))
KINDS = {
    "v1-trails.fs": "filter",
    "half-blur.fs": "filter",
    "glow-accumulate.fs": "generator",
    "iris.fs": "transition",
    "tint-modes.fs": "filter",
    "spectrum-bars.fs": "generator",
    "v1-grain.fs": "generator",
    "v1-cross-blur.fs": "filter",
}
W, H = 16, 8


def top_red_bottom_blue(w: int = W, h: int = H) -> np.ndarray:
    image = np.zeros((h, w, 4), np.uint8)
    image[: h // 2, :, 0] = 255
    image[h // 2 :, :, 2] = 255
    image[..., 3] = 255
    return image


@pytest.fixture(scope="module")
def wild(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wild files, with ``v1-grain``'s imported picture made here (no binaries kept)."""
    folder = tmp_path_factory.mktemp("wild")
    for path in WILD.iterdir():
        shutil.copy(path, folder / path.name)
    write_png(folder / "grain.png", top_red_bottom_blue(8, 8))
    return folder


def test_every_wild_file_parses_as_its_kind(wild):
    assert set(FILES) == set(KINDS)
    for name in FILES:
        doc = parse_isf(wild / name)
        assert doc.kind == KINDS[name], name
    assert parse_isf(wild / "v1-trails.fs").isf_version == 1
    assert parse_isf(wild / "v1-grain.fs").vertex_file == wild / "v1-grain.vs"


def test_every_wild_file_is_admitted_by_a_trial_frame(wild):
    trials = ShaderTrials(TrialBudget(timeout_s=30.0))
    try:
        for name in FILES:
            result = trials.run(trials.key("isf", wild / name, (64, 32)))
            assert result.admitted, (name, result.message)
    finally:
        trials.close()


def test_a_v1_feedback_filter_reading_texture2d_is_upright_and_persists(ctx, wild):
    prog = program(ctx, wild / "v1-trails.fs")
    picture = upload(ctx, top_red_bottom_blue())
    black = upload(ctx, np.zeros((H, W, 4), np.uint8))
    try:
        out = read_rgba(prog.render((W, H), 0.0, {}, {"inputImage": picture}))
        np.testing.assert_array_equal(out, top_red_bottom_blue())  # not upside down
        out = read_rgba(prog.render((W, H), 0.1, {}, {"inputImage": black}))
        # max(black, trails · 0.5): the red and blue halves at half level, alpha too
        half = level(0.5)
        assert np.abs(out[: H // 2, :, 0].astype(int) - half).max() <= 1
        assert np.abs(out[H // 2 :, :, 2].astype(int) - half).max() <= 1
        assert (out[: H // 2, :, 2] == 0).all() and (out[H // 2 :, :, 0] == 0).all()
    finally:
        for tex in (picture, black):
            tex.release()
        prog.release()


def test_a_half_size_blur_keeps_a_flat_picture_and_smooths_an_edge(ctx, wild):
    prog = program(ctx, wild / "half-blur.fs")
    flat = np.zeros((H * 2, W * 2, 4), np.uint8)
    flat[...] = (60, 120, 180, 255)
    flat_tex = upload(ctx, flat)
    edge_tex = upload(ctx, top_red_bottom_blue(W * 2, H * 2))
    try:
        out = read_rgba(prog.render((W * 2, H * 2), 0.0, {}, {"inputImage": flat_tex}))
        assert prog.last_pass_sizes == [(W, H), (W, H), (W * 2, H * 2)]
        assert np.abs(out.astype(int) - flat.astype(int)).max() <= 1  # weights sum to 1
        out = read_rgba(prog.render((W * 2, H * 2), 0.0, {}, {"inputImage": edge_tex}))
        red = out[:, W, 0].astype(int)
        assert red[0] >= 250 and red[-1] <= 5  # red at the top, none at the bottom
        assert (np.diff(red) <= 0).all() and 5 < red[H] < 250  # a soft, monotonic edge
    finally:
        flat_tex.release()
        edge_tex.release()
        prog.release()


def test_a_float_feedback_buffer_keeps_values_above_1(ctx, wild):
    prog = program(ctx, wild / "glow-accumulate.fs")
    try:
        for frame in range(6):
            out = read_rgba(prog.render((W, H), frame / 30, {"rate": 0.25}))
        # 6 × 0.25 = 1.5 kept in the FLOAT buffer (an 8-bit one would stop at 1), shown / 4
        assert tuple(out[3, 5, :3]) == (level(0.375),) * 3
        out = read_rgba(prog.render((W, H), 0.3, {"rate": 0.25, "restart": True}))
        assert tuple(out[3, 5, :3]) == (level(0.0625),) * 3  # the event cleared it
    finally:
        prog.release()


def test_an_iris_transition_opens_around_its_point2d_centre(ctx, wild):
    prog = program(ctx, wild / "iris.fs")
    start = np.zeros((H, W, 4), np.uint8)
    start[..., 0], start[..., 3] = 255, 255
    end = np.zeros((H, W, 4), np.uint8)
    end[..., 2], end[..., 3] = 255, 255
    textures = {"startImage": upload(ctx, start), "endImage": upload(ctx, end)}
    try:
        centre = (4.0, 4.0)  # ISF pixels, from the bottom left
        for progress, opened in ((0.0, 0), (1.0, W * H)):
            params = {"progress": progress, "center": centre}
            out = read_rgba(prog.render((W, H), 0.0, params, textures))
            assert int((out[..., 2] == 255).sum()) == opened
        params = {"progress": 0.25, "center": centre}
        out = read_rgba(prog.render((W, H), 0.0, params, textures))
        # opened: pixels whose centre is nearer to (4, 4) than 0.25 · |(12, 4)|
        reach = 0.25 * np.hypot(12.0, 4.0)
        ys, xs = np.mgrid[0:H, 0:W]
        isf_y = H - 1 - ys  # memory row 0 is the top; ISF's y is up
        want = np.hypot(xs + 0.5 - 4.0, isf_y + 0.5 - 4.0) < reach
        np.testing.assert_array_equal(out[..., 2] == 255, want)
        assert want.sum() > 0
    finally:
        for tex in textures.values():
            tex.release()
        prog.release()


@pytest.mark.parametrize(
    "mode, formula",
    [
        (0, lambda c, t: c * t),
        (1, lambda c, t: 1 - (1 - c) * (1 - t)),
        (2, lambda c, t: np.minimum(c + t, 1.0)),
        (3, lambda c, t: t),
    ],
)
def test_a_colour_and_menu_filter_applies_each_mode(ctx, wild, mode, formula):
    prog = program(ctx, wild / "tint-modes.fs")
    base = np.zeros((H, W, 4), np.uint8)
    base[...] = (51, 102, 153, 255)
    tex = upload(ctx, base)
    try:
        tint = (1.0, 0.5, 0.25, 1.0)
        out = read_rgba(prog.render((W, H), 0.0, {"mode": mode, "tint": tint}, {"inputImage": tex}))
        c = np.array([51, 102, 153]) / 255.0
        want = [level(v) for v in formula(c, np.array(tint[:3]))]
        assert np.abs(out[2, 3, :3].astype(int) - want).max() <= 1
    finally:
        tex.release()
        prog.release()


def test_an_audio_reactive_generator_draws_bars_from_the_spectrum(ctx, wild):
    prog = program(ctx, wild / "spectrum-bars.fs")
    n = 1024
    # a full-scale sine exactly on bin 40 of 1024: column 1 of 16 (bins 32..63) holds it
    tone = np.repeat(np.sin(2 * np.pi * 40 * np.arange(n) / n)[:, None], 2, axis=1)
    fft = spectrum_texture_data(tone, 16)
    wave = waveform_texture_data(np.zeros((64, 2), np.float32))  # silence: 0.5
    textures = {}
    for name, data in (("fft", fft), ("wave", wave)):
        tex = ctx.texture((data.shape[1], data.shape[0]), 4, data.tobytes(), dtype="f4")
        textures[name] = tex
    try:
        size = (32, 64)
        out = read_rgba(prog.render(size, 0.0, {"gain": 10.0}, textures))
        bar = fft[0, 1, 0] * 10.0  # column 1's mean magnitude, times the gain
        assert 0.2 < bar < 0.9
        heights = (out[:, 2:4, 2] > 0).sum(axis=0)  # x = 2, 3: column 1 of 16 at 32 px
        rows_below = np.sum((np.arange(64) + 0.5) / 64 < bar)
        assert (heights >= rows_below).all() and (heights <= rows_below + 3).all()
        assert (out[:, 8:, 2] == 0).sum() > 0  # other columns: no bar
        line_row = out[:, 20, 1]  # the silent waveform is a line at half height
        assert line_row.argmax() in (31, 32)
    finally:
        for tex in textures.values():
            tex.release()
        prog.release()


def test_a_v1_generator_with_an_imported_image_and_a_v1_vertex_shader(ctx, wild):
    prog = program(ctx, wild / "v1-grain.fs")
    try:
        out = read_rgba(prog.render((W, H), 0.0, {}))
        np.testing.assert_array_equal(out, top_red_bottom_blue())  # texture2D, upright
        # drifted down by half the height (ISF pixels): the top half now reads the blue
        # bottom half, and the bottom half reads past the edge (clamped: blue too)
        out = read_rgba(prog.render((W, H), 0.0, {"drift": (0.0, -H / 2)}))
        assert (out[..., 2] == 255).all() and (out[..., 0] == 0).all()
    finally:
        prog.release()


def test_a_v1_blur_with_a_varying_array_from_its_vertex_shader(ctx, wild):
    prog = program(ctx, wild / "v1-cross-blur.fs")
    picture = upload(ctx, top_red_bottom_blue())
    try:
        out = read_rgba(prog.render((W, H), 0.0, {"spread": 0.0}, {"inputImage": picture}))
        np.testing.assert_array_equal(out, top_red_bottom_blue())  # five equal taps, upright
        out = read_rgba(prog.render((W, H), 0.0, {"spread": 1.0}, {"inputImage": picture}))
        # the row just above the middle: 4 red taps and the one below it blue
        assert tuple(out[H // 2 - 1, 5, :3]) == (level(4 / 5), 0, level(1 / 5))
        assert tuple(out[0, 5, :3]) == (255, 0, 0)  # the top row: the tap above clamps
    finally:
        picture.release()
        prog.release()
