"""Per-output colour (issue 9): 3D LUTs from .cube files, brightness, contrast, gamma and
RGB gains in the final pass.

The canvas is warped 1:1 onto an output of the same size (identity homography: every
output pixel samples one canvas pixel centre), so the output is the colour correction of
the canvas image alone. Expected values are computed here in float64 numpy from the
documented formulas (a channel swap, an inversion, a per-channel curve interpolated with
``np.interp``), not with ``mapping/color.py``. Measured on llvmpipe: identity and linear
and linear LUTs exact, a curve LUT and the slider formula within rounding (0.498 levels).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mapping.color import OutputColor, identity_table, load_cube, write_cube
from mapping.cues import CueEngine
from mapping.errors import ValidationError
from mapping.gl.renderer import Renderer
from mapping.show import load_show
from tests.showkit import single_surface_show, textured_image

CANVAS = (64, 48)


def _render(ctx, tmp_path, color: OutputColor, gamma: float = 2.2) -> tuple[np.ndarray, np.ndarray]:
    image = textured_image(*CANVAS)
    show = single_surface_show(tmp_path, image, np.eye(3), CANVAS)
    out = dataclasses.replace(show.outputs[0], color=color, gamma=gamma)
    show = dataclasses.replace(show, outputs=(out,))
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        return image[..., :3].astype(np.float64), renderer.read_output("out")[..., :3].copy()
    finally:
        renderer.release()


def _lut(tmp_path: Path, table: np.ndarray, name: str = "grade.cube") -> OutputColor:
    return OutputColor(lut=load_cube(write_cube(tmp_path / name, table, title=name)))


def _assert_levels(ctx, rendered: np.ndarray, expected_0_1: np.ndarray) -> None:
    """Within rounding of the exact value on llvmpipe (measured ≤ 0.498 levels); GPUs
    quantise filter weights (8 bits), so they get one level more."""
    limit = 0.55 if "llvmpipe" in ctx.info["GL_RENDERER"] else 1.5
    error = np.abs(rendered.astype(np.float64) - expected_0_1 * 255.0)
    assert error.max() <= limit, f"worst {error.max():.3f} levels"


def test_identity_lut_changes_nothing(ctx, tmp_path):
    canvas, rendered = _render(ctx, tmp_path, _lut(tmp_path, identity_table(33)))
    assert np.abs(rendered - canvas).max() <= 1


def test_channel_swap_and_inversion_luts(ctx, tmp_path):
    ident = identity_table(5)  # both maps are linear: trilinear between 5 points is exact
    canvas, swapped = _render(ctx, tmp_path, _lut(tmp_path, ident[..., ::-1]))
    _assert_levels(ctx, swapped, canvas[..., ::-1] / 255.0)
    canvas, inverted = _render(ctx, tmp_path, _lut(tmp_path, 1.0 - ident, "invert.cube"))
    _assert_levels(ctx, inverted, 1.0 - canvas / 255.0)


def test_a_curve_lut_is_interpolated_between_its_points(ctx, tmp_path):
    n = 9
    points = np.linspace(0.0, 1.0, n)
    curve = points**2.5  # a per-channel curve: trilinear reduces to np.interp along it
    table = identity_table(n)
    table = np.stack([curve[np.rint(table[..., c] * (n - 1)).astype(int)] for c in range(3)], -1)
    canvas, rendered = _render(ctx, tmp_path, _lut(tmp_path, table))
    expected = np.interp(canvas / 255.0, points, curve)
    _assert_levels(ctx, rendered, expected)


def test_brightness_contrast_gamma_and_linear_gains(ctx, tmp_path):
    color = OutputColor(brightness=0.05, contrast=1.3, gamma=1.4, gains=(0.9, 1.0, 0.7))
    canvas, rendered = _render(ctx, tmp_path, color, gamma=2.4)
    s = np.clip((canvas / 255.0 - 0.5) * 1.3 + 0.5 + 0.05, 0.0, 1.0) ** (1 / 1.4)
    light = np.clip(s**2.4 * np.array([0.9, 1.0, 0.7]), 0.0, 1.0)
    _assert_levels(ctx, rendered, light ** (1 / 2.4))
    # gains act on light: a gain of 0.7 is a signal of 0.7^(1/2.4) = 86 %, not 70 %
    assert abs(rendered[..., 2].mean() / (s[..., 2] * 255).mean() - 0.7 ** (1 / 2.4)) < 0.01


CUBE_OK = """\
# delivered by the colourist
TITLE "Left projector match"
LUT_3D_SIZE 2
DOMAIN_MIN 0.0 0.0 0.0
DOMAIN_MAX 1.0 1.0 1.0

0 0 0
1 0 0   # red
0 1 0
1 1 0
0 0 1
1 0 1
0 1 1
1 1 1
"""


def test_cube_files_as_colourists_deliver_them(tmp_path):
    path = tmp_path / "match.cube"
    path.write_text(CUBE_OK)
    lut = load_cube(path)
    assert lut.size == 2 and lut.title == "Left projector match"
    np.testing.assert_array_equal(lut.table, identity_table(2))
    resolve = CUBE_OK.replace("DOMAIN_MIN 0.0 0.0 0.0", "LUT_3D_INPUT_RANGE 0.0 2.0")
    path.write_text(resolve.replace("DOMAIN_MAX 1.0 1.0 1.0\n", ""))
    assert load_cube(path).domain_max == (2.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("LUT_3D_SIZE 2", "LUT_3D_SIZE 3"), 7, "needs 27 rows"),
        (("LUT_3D_SIZE 2", "LUT_3D_SIZE 1"), 3, "integer 2..256"),
        (("LUT_3D_SIZE 2", "LUT_3D_SIZE 2.5"), 3, "integer 2..256"),
        (("1 1 0\n", "1 one 0\n"), 10, "'one' is not a number"),
        (("0 1 1\n", "0 1\n"), 13, "expected 3 numbers, got 2"),
        (("1 0 1\n", "1 nan 1\n"), 12, "finite"),
        (("LUT_3D_SIZE 2", "LUT_1D_SIZE 2"), 3, "1D LUT"),
        (("DOMAIN_MAX 1.0 1.0 1.0", "DOMAIN_MAX 1.0 0.0 1.0"), 3, "above DOMAIN_MIN"),
        (("TITLE", "TITEL"), 2, "unknown keyword 'TITEL'"),
    ],
)
def test_bad_cube_files_name_the_file_and_line(tmp_path, change, line, words):
    path = tmp_path / "bad.cube"
    path.write_text(CUBE_OK.replace(*change))
    with pytest.raises(ValidationError) as info:
        load_cube(path)
    problem = info.value.problems[0]
    assert problem.file == path and problem.line == line and words in problem.message, problem


def test_show_file_colour_keys_and_a_bad_lut_reported_through_the_show(show_dir):
    (show_dir / "left.cube").write_text(CUBE_OK)
    text = (show_dir / "show.toml").read_text()
    marker = "position = [0, 0]\ngamma = 2.2"
    assert marker in text
    colour = '[outputs.color]\ncontrast = 1.1\ngains = [1.0, 0.95, 0.9]\nlut = "left.cube"\n#'
    text = text.replace(marker, marker + "\n" + colour, 1)
    (show_dir / "show.toml").write_text(text)
    show = load_show(show_dir)
    color = show.outputs[0].color
    assert color.contrast == 1.1 and color.gains == (1.0, 0.95, 0.9) and color.lut.size == 2
    assert (show_dir / "left.cube").resolve() in show.watched_files()
    (show_dir / "left.cube").write_text(CUBE_OK.replace("0 1 1\n", "0 1 x\n"))
    (show_dir / "show.toml").write_text(text.replace("contrast = 1.1", "contrast = 9"))
    with pytest.raises(ValidationError) as info:
        load_show(show_dir)
    found = {(p.file.name, p.key_path, p.line) for p in info.value.problems}
    assert ("left.cube", "", 13) in found
    assert any(k == "outputs[0].color.contrast" for _, k, _ in found)
