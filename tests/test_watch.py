"""Spec for mapping.watch: real file changes in a folder → one debounced callback per burst."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import numpy as np
import pytest

from calibration.store import (
    CalibrationFile,
    SurfaceCalibration,
    save_calibration,
    update_calibration,
)
from mapping.watch import FileWatcher

WAIT_S = 2.0


def surface(i: float) -> SurfaceCalibration:
    H = np.array([[1.0, 0.0, i], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return SurfaceCalibration(output="left", H_canvas_to_projector=H)


@pytest.fixture
def changes() -> queue.Queue[frozenset[Path]]:
    return queue.Queue()


def next_change(changes: queue.Queue[frozenset[Path]]) -> frozenset[Path]:
    return changes.get(timeout=WAIT_S)


def nothing_more(changes: queue.Queue[frozenset[Path]], wait_s: float = 0.4) -> bool:
    try:
        extra = changes.get(timeout=wait_s)
    except queue.Empty:
        return True
    raise AssertionError(f"unexpected change {extra}")


def test_an_atomic_calibration_save_is_reported_once(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    calib = tmp_path / "venue.toml"
    save_calibration(calib, CalibrationFile(surfaces={"a": surface(1)}))
    with FileWatcher([calib], changes.put, debounce_s=0.3):
        # temp file + rename + history copy + lock file: one burst, one callback
        update_calibration(calib, "b", surface(2))
        assert next_change(changes) == {calib}
        assert nothing_more(changes)


def test_a_burst_of_edits_gives_one_callback_with_every_changed_file(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    show, other, unrelated = tmp_path / "show.toml", tmp_path / "b.toml", tmp_path / "x.txt"
    for f in (show, other, unrelated):
        f.write_text("0")
    with FileWatcher([show, other], changes.put, debounce_s=0.3):
        for i in range(5):  # an editor saving repeatedly
            show.write_text(str(i))
        other.write_text("1")
        unrelated.write_text("1")
        assert next_change(changes) == {show, other}
        assert nothing_more(changes)


def test_unwatched_files_in_the_same_folder_are_ignored(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    watched, unrelated = tmp_path / "show.toml", tmp_path / "notes.txt"
    watched.write_text("0")
    with FileWatcher([watched], changes.put, debounce_s=0.05):
        unrelated.write_text("hello")
        assert nothing_more(changes, 0.3)


def test_a_file_that_appears_or_disappears_counts_and_paths_can_change(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    later, gone = tmp_path / "later.toml", tmp_path / "gone.toml"
    gone.write_text("x")
    sub = tmp_path / "media"
    sub.mkdir()
    clip = sub / "clip.png"
    with FileWatcher([later, gone], changes.put, debounce_s=0.05) as watcher:
        later.write_text("new")
        assert next_change(changes) == {later}
        gone.unlink()
        assert next_change(changes) == {gone}
        watcher.set_paths([clip])  # after a reload, the show needs other files
        assert watcher.paths == {clip}
        later.write_text("again")  # no longer watched
        clip.write_bytes(b"png")
        assert next_change(changes) == {clip}


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    watched = tmp_path / "show.toml"
    watched.write_text("0")
    calls: queue.Queue[int] = queue.Queue()

    def flaky(paths: frozenset[Path]) -> None:
        calls.put(1)
        raise RuntimeError("reload failed")

    with FileWatcher([watched], flaky, debounce_s=0.05):
        watched.write_text("1")
        calls.get(timeout=WAIT_S)
        time.sleep(0.1)
        watched.write_text("2")
        calls.get(timeout=WAIT_S)


def test_a_show_names_every_file_whose_change_should_reload_it(show_dir: Path) -> None:
    from mapping.show import load_show

    show = load_show(show_dir)
    calibration = (show_dir.parent / "calibrations" / "demo-venue.toml").resolve()
    expected = {show_dir / "show.toml", calibration} | {
        (show_dir / rel).resolve()
        for rel in (
            "media/facade.png",
            "media/clip.mp4",
            "media/logo.png",
            "shaders/aurora.glsl",
            "shaders/tide.fs",
            "shaders/embers.fs",
            "shaders/ripple.fs",
            "shaders/sweep.fs",
        )
    }
    assert show.watched_files() == expected
