"""Spec for mapping.watch: real file changes in a folder → one debounced callback per burst."""

from __future__ import annotations

import os
import queue
import threading
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
from tests.conftest import IN_CI

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


# -- folder trees and complete files only ---------------------------------------------------


def slow_copy(path: Path, chunks: int, chunk: bytes, pause_s: float) -> threading.Thread:
    """Write ``chunks`` chunks into ``path`` from a thread, pausing between them (one open
    file, like ``cp`` of a big clip from a slow disk); the thread ends after the close."""

    def copy() -> None:
        with open(path, "wb") as f:
            for _ in range(chunks):
                f.write(chunk)
                f.flush()
                time.sleep(pause_s)

    thread = threading.Thread(target=copy)
    thread.start()
    return thread


def test_a_file_added_under_a_watched_folder_is_reported_within_a_second(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    (tmp_path / "media" / "new").mkdir(parents=True)
    clip = tmp_path / "media" / "new" / "clip.png"
    with FileWatcher([], changes.put, trees=[tmp_path], debounce_s=0.05):
        t0 = time.monotonic()
        clip.write_bytes(b"x" * 1000)
        assert next_change(changes) == {clip}
        assert time.monotonic() - t0 < 1.0


def test_hidden_and_partial_files_do_not_count_their_rename_into_place_does(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    (tmp_path / ".history").mkdir()
    target = tmp_path / "media" / "clip.mp4"
    target.parent.mkdir()
    with FileWatcher([], changes.put, trees=[tmp_path], debounce_s=0.05):
        (tmp_path / ".history" / "old.toml").write_text("x")
        (tmp_path / "media" / "clip.mp4.part").write_bytes(b"partial")
        (tmp_path / "notes.txt~").write_text("x")
        assert nothing_more(changes, 0.3)
        os.replace(tmp_path / "media" / "clip.mp4.part", target)  # the download finished
        assert next_change(changes) == {target}


@pytest.mark.parametrize("close_events", [None, False], ids=["close-after-write", "settle"])
def test_a_file_still_being_copied_is_held_back_until_complete(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]], close_events: bool | None
) -> None:
    """A slow copy pausing longer than the debounce (but shorter than the settle time) is
    delivered once, after the writer is done, never while it is half written."""
    clip = tmp_path / "media" / "clip.mp4"
    clip.parent.mkdir()
    chunk, chunks = b"\x01" * 65536, 6
    settle_s = 0.6
    with FileWatcher(
        [],
        changes.put,
        trees=[tmp_path],
        debounce_s=0.05,
        settle_s=settle_s,
        close_events=close_events,
    ) as watcher:
        if close_events is None and not watcher.close_events:
            assert not IN_CI, "inotify reports a writer's close on Linux"
            pytest.skip("this system does not report a writer's close")
        copier = slow_copy(clip, chunks, chunk, pause_s=0.2)  # pauses 4× the debounce
        got = changes.get(timeout=5.0)
        done_at = time.monotonic()
        copier.join()
        assert got == {clip}
        assert clip.stat().st_size == chunks * len(chunk)  # complete when reported
        assert not copier.is_alive()
        assert nothing_more(changes, 0.3)
    if close_events is False:  # settle: after settle_s of quiet, not before
        assert done_at - copier_end_time(clip) >= settle_s - 0.1


def copier_end_time(path: Path) -> float:
    """When ``path`` was last written, on the monotonic clock."""
    return time.monotonic() - (time.time() - path.stat().st_mtime)


def test_an_atomic_rename_is_complete_at_once(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    """A temp file written slowly under a hidden name, then renamed: reported once, after
    the rename, with no settle wait (even under the settle rule)."""
    target = tmp_path / "shaders" / "glow.glsl"
    target.parent.mkdir()
    temp = target.parent / ".glow.glsl.tmp"
    with FileWatcher(
        [], changes.put, trees=[tmp_path], debounce_s=0.05, settle_s=5.0, close_events=False
    ):
        slow_copy(temp, 3, b"void main(){}\n", 0.1).join()
        t0 = time.monotonic()
        os.replace(temp, target)
        assert next_change(changes) == {target}
        assert time.monotonic() - t0 < 1.0  # not the 5 s settle time


def test_files_written_into_a_folder_made_a_moment_ago_are_reported(
    tmp_path: Path, changes: queue.Queue[frozenset[Path]]
) -> None:
    """Written before watchdog watches the new folder: only a "created" event, no close."""
    with FileWatcher([], changes.put, trees=[tmp_path], debounce_s=0.05):
        files = []
        for i in range(3):
            (tmp_path / f"d{i}").mkdir()
            files.append(tmp_path / f"d{i}" / "clip.png")
            files[-1].write_bytes(b"x" * 1000)
        got: set[Path] = set()
        deadline = time.monotonic() + WAIT_S
        while not set(files) <= got and time.monotonic() < deadline:
            got |= changes.get(timeout=WAIT_S)
        assert set(files) <= got
