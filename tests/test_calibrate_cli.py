"""Spec for ``run_show.py calibrate fit`` and ``calibrate history``: plain output, safe files.

Most tests call ``run_show.main`` in-process (fast); one runs the real script to show a bad
input ends with a message and an exit status, not a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import run_show
from calibration.store import (
    CalibrationFile,
    SurfaceCalibration,
    history_files,
    load_calibration,
    save_calibration,
)
from tests.test_fit import H_TRUE, POINTS_CANVAS_PX, POINTS_PROJECTOR_PX

REPO = Path(__file__).resolve().parents[1]


def calibrate(*args: str | Path) -> int:
    return run_show.main(["calibrate", *map(str, args)])


def toml_points(path: Path, canvas: np.ndarray, projector: np.ndarray) -> Path:
    blocks = [
        f'[[points]]\nname = "p{i}"\ncanvas_px = [{float(c[0])!r}, {float(c[1])!r}]\n'
        f"projector_px = [{float(p[0])!r}, {float(p[1])!r}]\n"
        for i, (c, p) in enumerate(zip(canvas, projector, strict=True))
    ]
    path.write_text("# measured on the right wing\n\n" + "\n".join(blocks))
    return path


def csv_points(path: Path, canvas: np.ndarray, projector: np.ndarray) -> Path:
    lines = ["canvas_x,canvas_y,projector_x,projector_y,name"]
    lines += [
        f"{float(c[0])!r},{float(c[1])!r},{float(p[0])!r},{float(p[1])!r},p{i}"
        for i, (c, p) in enumerate(zip(canvas, projector, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def existing_calibration(path: Path) -> bytes:
    left = SurfaceCalibration(output="left", H_canvas_to_projector=np.eye(3), method="corner-pin")
    save_calibration(path, CalibrationFile(surfaces={"left-wing": left}))
    return path.read_bytes()


# --------------------------------------------------------------------------- fit


def test_fit_prints_each_residual_and_saves_the_surface_with_its_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calib = tmp_path / "venue.toml"
    existing_calibration(calib)
    points = toml_points(tmp_path / "points.toml", POINTS_CANVAS_PX, POINTS_PROJECTOR_PX)
    status = calibrate(
        "fit", points, "--surface", "right-wing", "--output", "right", "--file", calib
    )
    out = capsys.readouterr().out
    assert status == 0
    assert out.count(" px") >= 12 and "p11" in out and "OUTLIER" not in out
    assert "RMS 0.000 px, max 0.000 px over 12 inliers" in out
    assert f"saved surface 'right-wing' (output 'right') to {calib}" in out

    cal = load_calibration(calib)
    assert set(cal.surfaces) == {"left-wing", "right-wing"}  # the other surface is kept
    wing = cal.surfaces["right-wing"]
    assert wing.method == "point-pairs" and wing.output == "right" and wing.points == 12
    np.testing.assert_allclose(wing.H_canvas_to_projector, H_TRUE, rtol=1e-13)
    assert wing.residual_rms_px < 1e-11 and wing.residual_max_px < 1e-11
    assert wing.updated is not None and wing.updated.endswith("Z")
    np.testing.assert_array_equal(wing.pairs_canvas_px, POINTS_CANVAS_PX)
    assert len(history_files(calib)) == 1  # the version before the fit


def test_fit_from_csv_flags_a_wrong_click_and_saves_the_robust_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clicked = POINTS_PROJECTOR_PX.copy()
    clicked[4] += [0.0, 30.0]
    points = csv_points(tmp_path / "points.csv", POINTS_CANVAS_PX, clicked)
    calib = tmp_path / "venue.toml"
    status = calibrate("fit", points, "--surface", "s", "--output", "right", "--file", calib)
    out = capsys.readouterr().out
    assert status == 0
    [flagged] = [line for line in out.splitlines() if "OUTLIER" in line]
    assert flagged.split()[:2] == ["4", "p4"] and "30.000 px" in flagged
    assert "over 11 inliers" in out
    wing = load_calibration(calib).surfaces["s"]
    assert wing.points == 11 and len(wing.pairs_canvas_px) == 12


def test_a_fit_that_had_to_use_a_wrong_click_is_not_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calib = tmp_path / "venue.toml"
    before = existing_calibration(calib)
    clicked = POINTS_PROJECTOR_PX[:7].copy()
    clicked[2] += [25.0, 0.0]  # two wrong clicks among seven: no single one explains it
    clicked[5] += [0.0, -20.0]
    points = toml_points(tmp_path / "points.toml", POINTS_CANVAS_PX[:7], clicked)
    status = calibrate("fit", points, "--surface", "s", "--output", "right", "--file", calib)
    captured = capsys.readouterr()
    assert status == 1
    assert "SUSPECT" in captured.out
    assert "re-measure them (or pass --keep-outliers). Nothing was saved." in captured.err
    assert calib.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "suffix", "words"),
    [
        (
            "[[points]]\ncanvas_px = [0, 0]\nprojector_px = [0, 0]\n\n"
            "[[points]]\ncanvas_px = [1, 0]\n",
            ".toml",
            "points.toml:5: points[1].projector_px: missing (required)",
        ),
        (
            '[[points]]\ncanvas_px = [0, "a"]\nprojector_px = [0, 0]\n',
            ".toml",
            "points.toml:2: points[0].canvas_px: expected [x, y], got array [0, 'a']",
        ),
        (
            "canvas_x,canvas_y,projector_x,projector_y\n1,2,3\n",
            ".csv",
            "points.csv:2: expected four",
        ),
        ("x,y,u,v\n", ".csv", "expected a header line 'canvas_x,canvas_y,projector_x,projector_y"),
        (
            "canvas_x,canvas_y,projector_x,projector_y\n0,0,0,0\n1,0,1,0\n1,1,1,1\n",
            ".csv",
            "error: a homography needs at least 4 point pairs, got 3",
        ),
        (
            "canvas_x,canvas_y,projector_x,projector_y\n0,0,0,0\n1,1,1,0\n2,2,1,1\n3,3,0,1\n",
            ".csv",
            "error: canvas points are degenerate: all 4 points lie on one line",
        ),
    ],
    ids=["missing-key", "not-a-number", "short-row", "bad-header", "three-points", "collinear"],
)
def test_bad_point_files_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, suffix: str, words: str
) -> None:
    points = tmp_path / f"points{suffix}"
    points.write_text(content)
    calib = tmp_path / "venue.toml"
    before = existing_calibration(calib)
    status = calibrate("fit", points, "--surface", "s", "--output", "right", "--file", calib)
    err = capsys.readouterr().err
    assert status == 2
    assert words in err
    assert calib.read_bytes() == before and len(history_files(calib)) == 0


def test_fit_into_an_invalid_calibration_file_lists_its_problems_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calib = tmp_path / "venue.toml"
    calib.write_text('schema_version = 1\n\n[surfaces.a]\noutput = "left"\nmethod = "x"\n')
    before = calib.read_bytes()
    points = toml_points(tmp_path / "p.toml", POINTS_CANVAS_PX, POINTS_PROJECTOR_PX)
    status = calibrate("fit", points, "--surface", "s", "--output", "right", "--file", calib)
    err = capsys.readouterr().err
    assert status == 2
    assert f"{calib}:3: surfaces.a.H_canvas_to_projector: missing (required)" in err
    assert f"{calib}:5: surfaces.a.method: unknown method 'x'" in err
    assert calib.read_bytes() == before


# --------------------------------------------------------------------------- history


def test_history_lists_and_restores_and_the_restore_can_be_undone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calib = tmp_path / "venue.toml"
    for i, method in enumerate(["corner-pin", "point-pairs", "manual"]):
        H = np.array([[1.0, 0, i], [0, 1, 0], [0, 0, 1]])
        surface = SurfaceCalibration(output="left", H_canvas_to_projector=H, method=method)
        save_calibration(calib, CalibrationFile(surfaces={"wing": surface}))
    capsys.readouterr()

    assert calibrate("history", calib) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"earlier versions of {calib}, newest first:"
    assert lines[1].split()[0] == "1" and lines[1].endswith("wing (point-pairs)")
    assert lines[2].split()[0] == "2" and lines[2].endswith("wing (corner-pin)")
    assert "UTC" in lines[1]

    assert calibrate("history", calib, "--restore", "2") == 0
    assert "restored" in capsys.readouterr().out
    assert load_calibration(calib).surfaces["wing"].method == "corner-pin"
    assert calibrate("history", calib, "--restore", "1") == 0  # undo
    assert load_calibration(calib).surfaces["wing"].method == "manual"


def test_history_of_a_file_without_history_and_a_bad_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calib = tmp_path / "venue.toml"
    before = existing_calibration(calib)
    assert calibrate("history", calib) == 0
    assert "no earlier versions" in capsys.readouterr().out
    assert calibrate("history", calib, "--restore", "3") == 2
    assert "has no history" in capsys.readouterr().err
    assert calibrate("history", tmp_path / "nope.toml") == 2
    assert "calibration file not found" in capsys.readouterr().err
    assert calib.read_bytes() == before


def test_the_real_script_exits_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text("canvas_x,canvas_y,projector_x,projector_y\n0,0,0,0\n")
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "run_show.py"),
            "calibrate",
            "fit",
            str(points),
            "--surface",
            "s",
            "--output",
            "o",
            "--file",
            str(tmp_path / "c.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "at least 4 point pairs" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "c.toml").exists()
