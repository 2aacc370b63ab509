"""Structured-light patterns: what each frame of a sequence is, in which order."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.structured_light import (
    fringe_profile,
    generate_patterns,
    gray_bit_planes,
    make_layout,
    native_layout,
    opencv_layout,
    parse_size,
)


def test_native_layout_is_white_black_gray_pairs_then_fringes():
    layout = native_layout((256, 192), period_px=16, phase_steps=8)
    # Gray unit 8 px: 32 column stripes (5 bits), 24 row stripes (5 bits).
    assert (layout.white_index, layout.black_index) == (0, 1)
    assert layout.columns.gray_pairs == tuple((2 + 2 * b, 3 + 2 * b) for b in range(5))
    assert layout.rows.gray_pairs == tuple((12 + 2 * b, 13 + 2 * b) for b in range(5))
    assert layout.columns.phase_indices == tuple(range(22, 30))
    assert layout.rows.phase_indices == tuple(range(30, 38))
    assert layout.count == 38 == len(generate_patterns(layout))
    names = layout.frame_names()
    assert names[:4] == ["white", "black", "col-gray00", "col-gray00-inv"]
    assert names[-1] == "row-phase07"


def test_opencv_layout_is_column_pairs_row_pairs_white_black():
    layout = opencv_layout((1024, 768))
    assert layout.count == 42  # 10 + 10 bits as pairs, white, black
    assert layout.columns.gray_pairs[0] == (0, 1)
    assert layout.rows.gray_pairs[0] == (20, 21)
    assert (layout.white_index, layout.black_index) == (40, 41)
    assert layout.columns.unit_px == 1 and layout.columns.phase_steps == 0


def test_each_gray_pattern_is_followed_by_its_exact_inverse():
    layout = native_layout((64, 48))
    frames = generate_patterns(layout)
    for p, q in layout.columns.gray_pairs + layout.rows.gray_pairs:
        np.testing.assert_array_equal(frames[p].astype(int) + frames[q], 255)
    assert np.all(frames[layout.white_index] == 255)
    assert np.all(frames[layout.black_index] == 0)


def test_neighbouring_gray_stripes_differ_in_exactly_one_bit():
    planes = gray_bit_planes(size_px=128, unit_px=4, bits=5)
    stripes = planes[:, ::4].astype(int)  # one column per stripe
    changes = np.abs(np.diff(stripes, axis=1)).sum(axis=0)
    np.testing.assert_array_equal(changes, 1)
    # The code of stripe k, read MSB first and converted back to binary, is k.
    gray = (stripes * (1 << np.arange(4, -1, -1))[:, None]).sum(axis=0)
    binary = gray.copy()
    shift = gray >> 1
    while shift.any():
        binary ^= shift
        shift >>= 1
    np.testing.assert_array_equal(binary, np.arange(32))


def test_column_patterns_vary_along_x_and_row_patterns_along_y():
    layout = native_layout((64, 48))
    frames = generate_patterns(layout)
    col = frames[layout.columns.gray_pairs[-1][0]]
    row = frames[layout.rows.gray_pairs[-1][0]]
    assert np.all(col == col[0:1, :]) and not np.all(col == col[:, 0:1])
    assert np.all(row == row[:, 0:1]) and not np.all(row == row[0:1, :])


def test_fringe_phase_is_written_at_pixel_centres():
    # Step 0 peaks where 2π (x + 0.5) / P is a multiple of 2π: the centre of pixel P - 1 sits
    # at x = P - 0.5, so the continuous position P is half a pixel beyond it.
    profile = fringe_profile(32, 16, step=0, steps=8)
    expected = 0.5 + 0.5 * np.cos(2 * np.pi * (np.arange(32) + 0.5) / 16)
    np.testing.assert_allclose(profile, expected)
    # Steps shift the fringe by P / N pixels each.
    np.testing.assert_allclose(
        fringe_profile(32, 16, step=2, steps=8)[4:], fringe_profile(32, 16, 0, 8)[:-4]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"period_px": 15}, "even"), ({"period_px": 2}, "even"), ({"phase_steps": 2}, ">= 3")],
)
def test_native_layout_rejects_unusable_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        native_layout((64, 48), **kwargs)


def test_layout_names_and_sizes_are_parsed_with_clear_errors():
    assert make_layout("opencv", (8, 8)).kind == "opencv"
    with pytest.raises(ValueError, match="unknown layout 'gray'"):
        make_layout("gray", (8, 8))
    assert parse_size("1920x1080") == (1920, 1080)
    assert parse_size("1024×768") == (1024, 768)
    for bad in ("1920", "axb", "1x1"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_the_calibration_core_imports_no_gl_and_no_window_system():
    """Pure core, GL at the edge: only calibration.window_projector may touch GL/windows."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys\n"
        "import calibration.structured_light, calibration.decode, calibration.solve\n"
        "import calibration.camera, calibration.capture, calibration.marks\n"
        "import calibration.simulation, calibration.cli, calibration.errors\n"
        "print(sorted(m for m in ('moderngl', 'pyglet') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
