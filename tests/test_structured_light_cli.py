"""``run_show.py calibrate …`` end to end on a simulated capture folder, and its messages for
bad input: exit status 2, one sentence saying what to fix, no traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest

import run_show
from calibration.store import load_calibration
from mapping.geometry import apply_homography
from tests.conftest import IN_CI, REPO, SHARED_DATA
from tests.madeonce import made_once


def calibrate(capsys, *args: str) -> tuple[int, str, str]:
    status = run_show.main(["calibrate", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def simulated_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated captures, simulated once per run; each worker works on its own copy
    (``calibrate decode`` and the tests write beside the photos)."""
    made = made_once(tmp_path_factory, "structured_light_cli.captures", _make_simulated_folder)
    folder = tmp_path_factory.mktemp("sim") / "captures"
    shutil.copytree(made, folder)
    return folder


def _make_simulated_folder(folder: Path) -> Path:
    folder = folder / "captures"
    status = run_show.main(
        ["calibrate", "capture", "--simulate", "--projector", "256x192",
         "--camera-size", "320x240", "--out", str(folder)]
    )  # fmt: skip
    assert status == 0
    return folder


def test_capture_decode_solve_end_to_end(simulated_folder, capsys, tmp_path):
    assert len(list(simulated_folder.glob("*.png"))) == 38

    status, out, _ = calibrate(capsys, "decode", simulated_folder)
    assert status == 0
    assert "valid fraction 0.6" in out and "decode time" in out
    with np.load(simulated_folder / "correspondences.npz") as data:
        assert data["proj_xy"].dtype == np.float32 and data["proj_xy"].shape == (240, 320, 2)
        assert data["confidence"].dtype == np.float32
        assert data["confidence"].shape == (240, 320)

    cal_file = tmp_path / "venue.toml"
    status, out, _ = calibrate(
        capsys, "solve", simulated_folder / "marks.toml", "--calibration", cal_file
    )
    assert status == 0, out
    assert "held-out residual RMS" in out
    surface = load_calibration(cal_file).surfaces["facade"]
    assert surface.method == "structured-light" and surface.output == "sim"
    assert surface.residual_rms_px is not None and surface.residual_rms_px < 0.05
    truth = tomllib.loads((simulated_folder / "truth.toml").read_text())
    H_true = np.array(truth["H_canvas_to_projector"])
    grid = np.stack(np.meshgrid(np.linspace(50, 950, 10), np.linspace(50, 650, 10)), -1)
    grid = grid.reshape(-1, 2)
    error = np.linalg.norm(
        apply_homography(surface.H_canvas_to_projector, grid) - apply_homography(H_true, grid),
        axis=1,
    )
    assert error.max() <= 0.005


def test_decode_writes_where_told(simulated_folder, capsys, tmp_path):
    status, _out, _ = calibrate(
        capsys, "decode", simulated_folder, "--out", tmp_path / "c.npz", "--fixed-thresholds"
    )
    assert status == 0 and (tmp_path / "c.npz").exists()


def test_a_failed_solve_never_touches_the_calibration_file(simulated_folder, capsys, tmp_path):
    calibrate(capsys, "decode", simulated_folder)
    cal_file = tmp_path / "venue.toml"
    status, _, _ = calibrate(
        capsys, "solve", simulated_folder / "marks.toml", "--calibration", cal_file
    )
    assert status == 0
    before = cal_file.read_bytes()
    marks = (simulated_folder / "marks.toml").read_text()
    doc = tomllib.loads(marks)
    points = [[100.0 + 10 * i, 80.0 + 5 * i] for i in range(4)]  # on one line
    doc["surfaces"]["facade"]["points_camera_px"] = points
    import tomli_w

    bad = simulated_folder / "bad-marks.toml"
    bad.write_text(tomli_w.dumps(doc))
    status, _, err = calibrate(capsys, "solve", bad, "--calibration", cal_file)
    assert status == 2
    assert "collinear" in err
    assert cal_file.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["surfaces"]["facade"].update(points_canvas_px=[[0, 0], [1, 0], [1, 1]]),
         r"3 point\(s\); at least 4"),
        (lambda d: d["surfaces"]["facade"].update(output="nowhere"),
         "'nowhere' is not one of the outputs"),
        (lambda d: d["outputs"]["sim"].update(correspondences="missing.npz"),
         "run 'calibrate decode'"),
    ],
)  # fmt: skip
def test_marks_file_problems_name_the_key(simulated_folder, capsys, tmp_path, edit, message):
    import tomli_w

    doc = tomllib.loads((simulated_folder / "marks.toml").read_text())
    edit(doc)
    marks = simulated_folder / "edited-marks.toml"
    marks.write_text(tomli_w.dumps(doc))
    calibrate(capsys, "decode", simulated_folder)
    status, _, err = calibrate(capsys, "solve", marks, "--calibration", tmp_path / "c.toml")
    assert status == 2
    assert re_search(message, err)
    assert not (tmp_path / "c.toml").exists()


def re_search(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text) is not None


def test_wrong_projector_size_is_reported_with_the_counts(simulated_folder, capsys):
    status, _, err = calibrate(capsys, "decode", simulated_folder, "--projector", "1920x1080")
    assert status == 2
    assert "holds 38 images but a 1920x1080 projector in the native layout needs 50" in err


def test_patterns_are_written(capsys, tmp_path):
    status, out, _ = calibrate(capsys, "patterns", "--projector", "64x48", "--out", tmp_path)
    assert status == 0 and "wrote" in out
    assert len(list(tmp_path.glob("*.png"))) == native_count(64, 48)


def native_count(w: int, h: int) -> int:
    from calibration.structured_light import native_layout

    return native_layout((w, h)).count


def test_a_camera_that_cannot_be_opened_exits_with_the_reason(capsys, tmp_path):
    status, _, err = calibrate(
        capsys, "capture", "--projector", "64x48", "--out", tmp_path / "c",
        "--camera", str(tmp_path / "no-camera"),
    )  # fmt: skip
    assert status == 2
    assert "cannot open camera" in err


def test_errors_reach_the_terminal_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), "calibrate", "decode",
         str(tmp_path / "missing"), "--projector", "64x48"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


REAL = SHARED_DATA / "graycode-real" / "capture_0"


@pytest.mark.skipif(not REAL.is_dir() and not IN_CI, reason=f"real captures not available ({REAL})")
def test_decode_reads_real_opencv_ordered_photos(capsys, tmp_path):
    status, out, _ = calibrate(
        capsys, "decode", REAL, "--projector", "1024x768", "--layout", "opencv",
        "--out", tmp_path / "real.npz",
    )  # fmt: skip
    assert status == 0
    assert "valid fraction 0.69" in out


def test_lens_distortion_can_be_estimated_when_there_is_no_camera_model(
    simulated_folder, capsys, tmp_path
):
    import tomli_w

    calibrate(capsys, "decode", simulated_folder)
    doc = tomllib.loads((simulated_folder / "marks.toml").read_text())
    del doc["camera_model"]
    marks = simulated_folder / "no-lens-marks.toml"
    marks.write_text(tomli_w.dumps(doc))

    status, out, _ = calibrate(capsys, "solve", marks, "--calibration", tmp_path / "a.toml",
                               "--dry-run")  # fmt: skip
    assert status == 0 and "nothing saved" in out and not (tmp_path / "a.toml").exists()
    held_out_without = float(out.split("held-out residual RMS ")[1].split()[0])
    status, out, _ = calibrate(capsys, "solve", marks, "--calibration", tmp_path / "b.toml",
                               "--estimate-distortion")  # fmt: skip
    assert status == 0 and "estimated lens distortion k1=-0.1" in out
    held_out_with = float(out.split("held-out residual RMS ")[1].split()[0])
    assert held_out_without >= 0.25 and held_out_with <= 0.05


def test_a_correspondences_file_of_the_wrong_shape_is_refused(tmp_path):
    from calibration.decode import Correspondences
    from calibration.errors import CalibrationError

    np.savez(tmp_path / "c.npz", proj_xy=np.zeros((4, 4), np.float32), confidence=np.zeros(4))
    with pytest.raises(CalibrationError, match=r"proj_xy must be \(height, width, 2\)"):
        Correspondences.load(str(tmp_path / "c.npz"))
    with pytest.raises(CalibrationError, match="Run 'calibrate decode' on the capture folder"):
        Correspondences.load(str(tmp_path / "missing.npz"))


def test_two_projectors_one_camera_share_the_canvas_and_report_their_overlap(capsys, tmp_path):
    """Left and right projectors overlap in the middle of the facade; both surfaces are solved
    into one calibration file and the overlap of the projector footprints is reported in
    canvas_px, checked against a raster of the *true* footprints."""
    import tomli_w

    from calibration.camera import render_sequence
    from calibration.capture import save_captures
    from calibration.simulation import CANVAS_SIZE, default_scene
    from calibration.solve import projector_footprint
    from calibration.structured_light import generate_patterns, native_layout

    projector, camera = (160, 120), (320, 240)
    layout = native_layout(projector)
    patterns = generate_patterns(layout)
    quads = {
        "left": [[0.06, 0.08], [0.60, 0.10], [0.58, 0.90], [0.05, 0.87]],
        "right": [[0.42, 0.10], [0.94, 0.12], [0.92, 0.89], [0.43, 0.90]],
    }
    surfaces_canvas_px = {
        "left": [[50, 50], [480, 50], [480, 650], [50, 650]],
        "right": [[520, 50], [950, 50], [950, 650], [520, 650]],
    }
    marks: dict = {"camera_model": "left/camera.npz", "outputs": {}, "surfaces": {}}
    truths = {}
    for name, quad in quads.items():
        scene, truth = default_scene(projector, camera, projector_quad=quad)
        truths[name] = truth
        folder = tmp_path / name
        save_captures(folder, render_sequence(scene, patterns, seed=2), layout)
        np.savez(folder / "camera.npz", K=truth.camera_model.K, dist=truth.camera_model.dist)
        assert calibrate(capsys, "decode", folder)[0] == 0
        canvas = np.array(surfaces_canvas_px[name], float)
        camera_marks = truth.camera_model.distort(
            apply_homography(truth.H_canvas_to_camera, canvas)
        )
        marks["outputs"][name] = {"correspondences": f"{name}/correspondences.npz"}
        marks["surfaces"][f"wall-{name}"] = {
            "output": name,
            "points_canvas_px": canvas.tolist(),
            "points_camera_px": camera_marks.tolist(),
        }
    (tmp_path / "marks.toml").write_text(tomli_w.dumps(marks))

    status, out, err = calibrate(
        capsys, "solve", tmp_path / "marks.toml", "--calibration", tmp_path / "venue.toml"
    )
    assert status == 0, err
    cal = load_calibration(tmp_path / "venue.toml")
    assert set(cal.surfaces) == {"wall-left", "wall-right"}
    for name in quads:
        fitted = cal.surfaces[f"wall-{name}"].H_canvas_to_projector
        canvas = np.array(surfaces_canvas_px[name], float)
        true = apply_homography(truths[name].H_canvas_to_projector, canvas)
        assert np.abs(apply_homography(fitted, canvas) - true).max() <= 0.01

    line = next(text for text in out.splitlines() if text.startswith("overlap wall-left"))
    reported_area = float(line.split(": ")[1].split()[0])
    masks = []
    for name in quads:
        footprint = projector_footprint(truths[name].H_canvas_to_projector, projector) - 0.5
        # A canvas twice the size, shifted by half, holds the footprints that stick out.
        mask = np.zeros((CANVAS_SIZE[1] * 2, CANVAS_SIZE[0] * 2), np.uint8)
        offset = np.array(CANVAS_SIZE, float) / 2
        pts = np.round((footprint + offset) * 16)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1, shift=4)
        masks.append(mask.astype(bool))
    true_area = float(np.count_nonzero(masks[0] & masks[1]))
    assert reported_area == pytest.approx(true_area, rel=0.01)


def test_an_unwritable_output_says_to_choose_another_place(simulated_folder, capsys, tmp_path):
    out = tmp_path / "no-such-folder" / "c.npz"
    status, _, err = calibrate(capsys, "decode", simulated_folder, "--out", out)
    assert status == 2
    assert "cannot write" in err and "--out FILE" in err
