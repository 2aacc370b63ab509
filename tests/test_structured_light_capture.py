"""The capture sequence and its cameras: retakes of frames caught mid-change, early failure on
bad white/black captures, capture folders, photos taken by hand, a camera that will not open."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.camera import FolderCamera, OpenCVCamera, SimulatedCamera, SimulatedProjector
from calibration.capture import (
    capture_sequence,
    grabs_agree,
    load_capture_folder,
    save_captures,
    write_patterns,
)
from calibration.decode import decode
from calibration.errors import CalibrationError
from calibration.simulation import default_scene
from calibration.structured_light import generate_patterns, native_layout
from tests.test_structured_light_decode import CAMERA, PROJECTOR, fully_lit, true_proj_xy

LAYOUT = native_layout(PROJECTOR)
PATTERNS = generate_patterns(LAYOUT)


def run_capture(mid_change_grabs=(), check=True, seed=1, stale_grabs=(), **scene_options):
    scene, _ = default_scene(PROJECTOR, CAMERA, **scene_options)
    projector = SimulatedProjector(PROJECTOR)
    camera = SimulatedCamera(
        scene, projector, seed=seed, mid_change_grabs=mid_change_grabs, stale_grabs=stale_grabs
    )
    captures, stats = capture_sequence(
        PATTERNS, projector, camera, layout=LAYOUT, settle_s=0, check=check, progress=False
    )
    return scene, captures, stats


def decode_error_px(scene, captures) -> np.ndarray:
    corr = decode(captures, LAYOUT)
    truth_xy = true_proj_xy(scene)
    lit = fully_lit(scene, truth_xy)
    assert corr.valid[lit].mean() >= 0.999
    return np.linalg.norm(corr.proj_xy - truth_xy, axis=2)[lit & corr.valid]


def test_a_still_sequence_needs_no_retakes_and_averages_two_grabs_per_pattern():
    scene, captures, stats = run_capture()
    assert (stats.retakes, stats.grabs, len(captures)) == (0, 2 * 38, 38)
    error = decode_error_px(scene, captures)
    # Two grabs averaged: less noise than the single-grab sweep's default (0.043 px RMS).
    assert np.sqrt(np.mean(error**2)) <= 0.035
    assert error.max() <= 0.11


def test_a_noisy_camera_does_not_trigger_retakes():
    _, _, stats = run_capture(noise_read=4.0, noise_shot=0.2)
    assert stats.retakes == 0


def test_frames_caught_mid_change_are_retaken_and_do_not_reach_the_decoder():
    # Grab 10 is pattern 5's first grab (a Gray bit); after that retake, grab 50 is the
    # second grab of pattern 24 (a fringe), which costs two retakes (it disagrees with the
    # grab before and the grab after it).
    scene, captures, stats = run_capture(mid_change_grabs={10, 50})
    assert stats.retakes == 3
    error = decode_error_px(scene, captures)
    assert np.sqrt(np.mean(error**2)) <= 0.035
    assert error.max() <= 0.11


def test_a_projector_lagging_behind_the_settle_time_is_waited_for():
    # Grabs 20 and 21 (both grabs of pattern 10) still show pattern 9: they agree with each
    # other, but not with what changed; the pattern is grabbed again.
    scene, captures, stats = run_capture(stale_grabs={20, 21})
    assert stats.retakes == 1 and stats.grabs == 2 * 38 + 2
    error = decode_error_px(scene, captures)
    assert np.sqrt(np.mean(error**2)) <= 0.035


def test_without_the_check_a_mid_change_frame_corrupts_the_decode():
    scene, captures, _ = run_capture(mid_change_grabs={5, 25}, check=False)
    error = decode_error_px(scene, captures)
    assert np.sqrt(np.mean(error**2)) >= 0.12  # vs 0.043 for the same single grabs, clean


def test_retakes_are_bounded():
    every_other_grab = set(range(5, 1000, 2))  # flicker: no two grabs in a row agree
    with pytest.raises(CalibrationError, match="kept changing in 4 tries"):
        run_capture(mid_change_grabs=every_other_grab)


def test_mid_change_detection_compares_areas_not_pixels():
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, (120, 160)).astype(np.uint8)
    noisy = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
    assert grabs_agree(base, noisy)
    changed = base.copy()
    changed[:, :40] = np.clip(changed[:, :40].astype(int) + 25, 0, 255).astype(np.uint8)
    assert not grabs_agree(base, changed)


def test_a_covered_lens_stops_the_run_after_white_and_black():
    scene, _ = default_scene(PROJECTOR, CAMERA)
    projector = SimulatedProjector(PROJECTOR)
    camera = SimulatedCamera(scene, projector, lens_cap=True)
    with pytest.raises(CalibrationError, match="lens may be covered"):
        capture_sequence(PATTERNS, projector, camera, layout=LAYOUT, settle_s=0, progress=False)
    assert projector.shown == 2


class _UnpluggedProjector(SimulatedProjector):
    """The cable is out: whatever is sent, the facade stays lit by the last picture."""

    def show(self, image: np.ndarray) -> None:
        self.shown += 1


def test_a_projector_that_never_changes_stops_the_run_after_white_and_black():
    scene, _ = default_scene(PROJECTOR, CAMERA)
    projector = _UnpluggedProjector(PROJECTOR)
    projector.current = np.full((PROJECTOR[1], PROJECTOR[0]), 128, np.uint8)
    camera = SimulatedCamera(scene, projector)
    with pytest.raises(CalibrationError, match="projector never changed"):
        capture_sequence(PATTERNS, projector, camera, layout=LAYOUT, settle_s=0, progress=False)
    assert projector.shown == 2


def test_a_camera_that_cannot_be_opened_says_what_to_check(tmp_path):
    camera = OpenCVCamera(str(tmp_path / "no-such-camera"))
    with pytest.raises(CalibrationError, match=r"cannot open camera .* plugged in"):
        camera.open()


def test_capture_folders_round_trip_with_their_layout(tmp_path):
    _, captures, _ = run_capture()
    save_captures(tmp_path / "cap", captures, LAYOUT)
    loaded, layout, names = load_capture_folder(tmp_path / "cap")
    assert layout == LAYOUT
    assert names[:3] == ["00-white.png", "01-black.png", "02-col-gray00.png"]
    for a, b in zip(loaded, captures, strict=True):
        np.testing.assert_array_equal(a, b)


def test_hand_taken_photos_are_read_in_natural_order(tmp_path):
    for number in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"IMG_{number}.jpg"), np.full((8, 8), number, np.uint8))
    (tmp_path / "notes.txt").write_text("not a photo")
    camera = FolderCamera(tmp_path)
    camera.open()
    assert camera.size == (8, 8)
    assert [int(camera.grab()[0, 0]) for _ in range(3)] == [1, 2, 10]
    with pytest.raises(CalibrationError, match="has only 3 photos"):
        camera.grab()


def test_capture_folder_problems_are_reported(tmp_path):
    with pytest.raises(CalibrationError, match="does not exist"):
        load_capture_folder(tmp_path / "missing", projector_size=(256, 192))
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(CalibrationError, match="--projector WIDTHxHEIGHT"):
        load_capture_folder(folder)
    with pytest.raises(CalibrationError, match="holds 5 images but a 256x192 projector"):
        load_capture_folder(folder, projector_size=(256, 192))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CalibrationError, match="no photos in"):
        FolderCamera(tmp_path / "empty").open()


def test_pattern_files_are_written_in_sequence_order(tmp_path):
    paths = write_patterns(tmp_path, LAYOUT)
    assert len(paths) == 38 and paths[0].name == "00-white.png"
    np.testing.assert_array_equal(cv2.imread(str(paths[5]), cv2.IMREAD_UNCHANGED), PATTERNS[5])


def test_the_opencv_camera_reads_real_frames_through_videocapture(tmp_path):
    """No camera here: a video file is the stream OpenCV's VideoCapture opens instead (the same
    code path as a device or a network camera), frames numbered by their brightness."""
    path = tmp_path / "camera.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for level in range(0, 250, 10):  # 25 flat frames, 0, 10, 20 … 240
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    camera = OpenCVCamera(str(path), flush=2)
    camera.open()  # reads frame 0 to learn the size
    assert camera.size == (64, 48)
    levels = [float(camera.grab().mean()) for _ in range(3)]
    camera.close()
    # each grab drops 2 buffered frames first: frames 3, 6, 9 → levels 30, 60, 90
    assert levels == pytest.approx([30, 60, 90], abs=2)
