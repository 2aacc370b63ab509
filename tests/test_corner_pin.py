"""Corner pin on the live output: technicians move corners by mouse, keys or OSC, undo, save.

Expected mappings come from the definition of a corner pin (the fitted homography carries
each anchor onto its corner), checked with OpenCV's own four-point solver, independently of
``mapping.geometry``.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from calibration.store import history_files, load_calibration
from mapping.commands import CommandProcessor
from mapping.control.builtin import build_registry
from mapping.control.corners import anchors_canvas_px, corners_projector_px
from mapping.control.keys import key_table
from mapping.live import LiveShow
from mapping.outputs import window_to_projector_px
from mapping.show import load_show


@pytest.fixture
def live(show_dir) -> LiveShow:
    return LiveShow(load_show(show_dir))


@pytest.fixture
def send(live):
    registry = build_registry()
    processor = CommandProcessor(registry, live)

    def _send(name, *values, path=None, source="osc"):
        return processor.apply(registry.make(name, values, path=path, source=source), 0.0)

    return _send


def opencv_pin(anchors_canvas_px: np.ndarray, corners_projector_px: np.ndarray) -> np.ndarray:
    """H_canvas_to_projector from OpenCV's 4-point solver, in our +0.5 pixel-centre convention
    (the same continuous coordinates on both sides, so no shift is needed)."""
    H = cv2.getPerspectiveTransform(
        anchors_canvas_px.astype(np.float32), corners_projector_px.astype(np.float32)
    )
    return H / H[2, 2]


def test_moving_a_corner_refits_the_mapping_through_all_four_corners(live, send):
    surface = live.show.surface("left-wing")
    before = corners_projector_px(surface)
    target = (before[2, 0] + 7.5, before[2, 1] - 3.25)
    result = send("surface.corner", *target, path={"surface": "left-wing", "corner": 2})
    assert result.ok, result.message
    after_surface = live.show.surface("left-wing")
    moved = before.copy()
    moved[2] = target
    H_cv = opencv_pin(anchors_canvas_px(surface), moved)
    H = after_surface.H_canvas_to_projector / after_surface.H_canvas_to_projector[2, 2]
    np.testing.assert_allclose(H, H_cv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(corners_projector_px(after_surface), moved, atol=1e-6)
    assert live.generation == 2  # the renderer is given the new mapping at the next frame


def test_a_corner_that_would_fold_the_quad_is_refused_and_nothing_changes(live, send):
    surface = live.show.surface("left-wing")
    before = corners_projector_px(surface)
    c0, c2 = before[0], before[2]
    mid = (c0 + c2) / 2  # corner 1 on the diagonal: three corners in a line... or a bow-tie
    result = send("surface.corner", *map(float, mid), path={"surface": "left-wing", "corner": 1})
    assert not result.ok and "cannot go there" in result.message
    np.testing.assert_array_equal(corners_projector_px(live.show.surface("left-wing")), before)


def test_arrow_keys_nudge_the_selected_corner_by_one_or_a_tenth_of_a_pixel(live, send):
    keys = key_table(build_registry())
    assert keys["LEFT"] == ("calibrate.nudge", ("-1", "0"))
    assert keys["SHIFT+DOWN"] == ("calibrate.nudge", ("0", "0.1"))
    assert not send("calibrate.nudge", 1, 0).ok  # nothing selected yet
    send("calibrate.select", "right-wing", 3)
    x, y = corners_projector_px(live.show.surface("right-wing"))[3]
    send("calibrate.nudge", "-1", "0")
    send("calibrate.nudge", "0", "0.1")
    send("calibrate.nudge", "0", "0.1")
    nx, ny = corners_projector_px(live.show.surface("right-wing"))[3]
    assert nx == pytest.approx(x - 1.0, abs=1e-6) and ny == pytest.approx(y + 0.2, abs=1e-6)


def test_tab_walks_through_every_corner_of_every_surface(live, send):
    seen = []
    for _ in range(4 * len(live.show.surfaces) + 1):
        seen.append(send("calibrate.next").value)
    names = [s.name for s in live.show.surfaces]
    assert seen[:5] == [f"{names[0]} {i}" for i in range(4)] + [f"{names[1]} 0"]
    assert seen[-1] == f"{names[0]} 0"


def test_a_mouse_press_picks_the_nearest_corner_and_a_drag_undoes_in_one_step(live, send):
    surface = live.show.surface("left-wing")
    x, y = corners_projector_px(surface)[1]
    before = surface.H_canvas_to_projector.copy()
    assert send("calibrate.pick", "left", x + 5, y - 3).value == "left-wing 1"
    for step in range(1, 6):
        assert send("calibrate.drag", x + 2 * step, y).ok
    assert corners_projector_px(live.show.surface("left-wing"))[1][0] == pytest.approx(x + 10)
    assert send("undo").ok
    np.testing.assert_allclose(live.show.surface("left-wing").H_canvas_to_projector, before)
    assert send("calibrate.pick", "left", -500, -500).value == ""  # nothing near: no selection


def test_undo_and_redo_restore_the_exact_mapping(live, send):
    before = live.show.surface("left-wing").H_canvas_to_projector.copy()
    send("surface.corner", 100, 100, path={"surface": "left-wing", "corner": 0})
    moved = live.show.surface("left-wing").H_canvas_to_projector.copy()
    send("undo")
    np.testing.assert_allclose(live.show.surface("left-wing").H_canvas_to_projector, before)
    send("redo")
    np.testing.assert_allclose(live.show.surface("left-wing").H_canvas_to_projector, moved)


def test_the_show_lock_refuses_corner_edits_from_controllers(live, send):
    send("lock", 1)
    result = send("surface.corner", 100, 100, path={"surface": "left-wing", "corner": 0})
    assert not result.ok and "locked" in result.message


def test_saving_writes_the_venue_calibration_file_with_history(show_dir, live, send):
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    entry = load_calibration(venue).surfaces["right-wing"]  # right-wing uses the venue file
    send("calibrate.select", "right-wing", 0)
    send("calibrate.nudge", 2, -1)
    result = send("calibrate.save")
    assert result.ok, result.message
    saved = load_calibration(venue).surfaces["right-wing"]
    assert saved.method == "corner-pin" and saved.points == 4 and saved.output == entry.output
    H = live.show.surface("right-wing").H_canvas_to_projector
    np.testing.assert_allclose(saved.H_canvas_to_projector, H / H[2, 2], rtol=1e-12)
    assert len(history_files(venue)) == 1  # the previous version is kept
    # a show loaded afresh maps the surface the way the technician left it, and the pier
    # that shares the right wing's entry follows it
    reloaded = load_show(show_dir)
    for name in ("right-wing", "pier-right"):
        np.testing.assert_allclose(
            reloaded.surface(name).H_canvas_to_projector
            / reloaded.surface(name).H_canvas_to_projector[2, 2],
            H / H[2, 2],
            rtol=1e-12,
        )
    assert send("calibrate.save").message.endswith("no surface was edited since the last save")


def test_surfaces_without_a_calibration_file_are_saved_beside_the_show(show_dir, live, send):
    send("surface.corner", 100, 100, path={"surface": "left-wing", "corner": 0})
    assert send("calibrate.save").ok
    saved = load_calibration(show_dir / "calibration.toml").surfaces["left-wing"]
    assert saved.output == "left" and saved.method == "corner-pin"


def test_a_failed_save_leaves_the_calibration_file_as_it_was(show_dir, live, send, monkeypatch):
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    text = venue.read_bytes()
    send("calibrate.select", "right-wing", 0)
    send("calibrate.nudge", 2, -1)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    result = send("calibrate.save")
    assert not result.ok and "No space left on device" in result.message
    assert venue.read_bytes() == text
    # no temporary file left behind (the lock file is the store's, and stays)
    assert {p.name for p in venue.parent.iterdir()} <= {
        ".history",
        "demo-venue.toml",
        ".demo-venue.toml.lock",
    }
    monkeypatch.undo()
    assert send("calibrate.save").ok  # the edit was kept: saving again works


@pytest.mark.parametrize(
    ("window", "framebuffer", "point", "expected"),
    [
        ((640, 360), (640, 360), (0, 360), (0.0, 0.0)),  # top-left of the window
        ((640, 360), (640, 360), (640, 0), (1280.0, 720.0)),  # bottom-right
        ((640, 360), (1280, 720), (320, 180), (640.0, 360.0)),  # HiDPI: 2 px per point
        ((800, 360), (800, 360), (80, 360), (0.0, 0.0)),  # pillarboxed: 80 px bars each side
    ],
)
def test_a_mouse_position_maps_to_projector_pixels(window, framebuffer, point, expected):
    x, y = window_to_projector_px(point, window, framebuffer, (1280, 720))
    assert (x, y) == pytest.approx(expected)
