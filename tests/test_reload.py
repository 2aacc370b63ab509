"""A running show picks up edited files: a new calibration swaps in at a frame boundary, a
broken edit is refused and the show keeps its last good state (real files, real watcher)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from threading import Thread

import numpy as np
import pytest

from calibration.store import (
    CalibrationFile,
    SurfaceCalibration,
    save_calibration,
    update_calibration,
)
from mapping.control.panel.server import media_listing
from mapping.live import ShowLibrary
from mapping.operations.monitor import ShowMonitor
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.reload import ShowWatcher
from mapping.show import load_show
from tests.showkit import write_png


def step_until(player: ShowPlayer, condition, timeout_s: float = 5.0) -> bool:
    """Step frames (show time 0.1 s apart) until ``condition()`` or the timeout."""
    deadline = time.monotonic() + timeout_s
    t = 0.0
    while time.monotonic() < deadline:
        player.step(t)
        if condition():
            return True
        t += 0.1
        time.sleep(0.02)
    return False


@pytest.fixture
def watched(ctx, show_dir):
    player = ShowPlayer(load_show(show_dir), HeadlessOutputs(ctx), start_cue="2")
    watcher = ShowWatcher(player, debounce_s=0.05).start()
    yield player, show_dir
    watcher.close()
    player.renderer.release()


def test_a_saved_calibration_reaches_the_running_show(watched):
    player, show_dir = watched
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    venue.write_text(venue.read_text().replace("-1073.693598163", "-1033.693598163"))

    def moved() -> bool:
        H = player.renderer.show.surface("right-wing").H_canvas_to_projector
        return bool(np.isclose(H[0, 2] / H[2, 2], -1033.693598163))

    assert step_until(player, moved)
    assert player.live.engine.current_cue().label == "2 clip"  # the cues carried on


def test_a_broken_edit_is_refused_and_the_show_keeps_running(watched, caplog):
    player, show_dir = watched
    before = player.live.show
    show_file = show_dir / "show.toml"
    show_file.write_text(show_file.read_text().replace('kind = "image"', 'kind = "imag"'))
    assert step_until(
        player, lambda: "show.reload: the show keeps running as it was" in caplog.text
    )
    assert "kind" in caplog.text and player.live.show is before
    frames = player.frames
    player.step(10.0)
    assert player.frames == frames + 1


# -- a small show folder of our own (160×90, one output) --------------------------------------

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)

SMALL_SHOW = """schema_version = 1
name = "reload test"
[canvas]
size = [160, 90]
[[outputs]]
name = "out"
resolution = [160, 90]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [160, 0], [160, 90], [0, 90]]
calibration = { file = "../calibrations/venue.toml" }
[[layers]]
name = "clip"
kind = "image"
file = "media/red.png"
region = [0, 0, 80, 90]
[[layers]]
name = "logo"
kind = "image"
file = "media/green.png"
region = [80, 0, 80, 90]
opacity = 0.0
[[cues]]
name = "start"
[cues.layers.clip]
opacity = 1.0
[[cues]]
name = "emblem"
fade = 10.0
[cues.layers.logo]
opacity = 1.0
"""


def solid_png(path: Path, rgb: tuple[int, int, int], noise: bool = False) -> bytes:
    """A 160×90 PNG of one colour (with ``noise``: random low bits, so the file is ~40 KB
    and a copy of it takes several writes); returns its bytes."""
    image = np.zeros((90, 160, 4), np.uint8)
    image[..., :3] = rgb
    image[..., 3] = 255
    if noise:
        image[..., :3] ^= np.random.default_rng(1).integers(0, 4, (90, 160, 3), dtype=np.uint8)
    write_png(path, image)
    return path.read_bytes()


def identity_calibration(path: Path, dx: float = 0.0) -> None:
    H = np.array([[1.0, 0.0, dx], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    save_calibration(path, CalibrationFile(surfaces={"all": SurfaceCalibration("out", H)}))


@pytest.fixture
def small_show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    solid_png(root / "media" / "red.png", RED)
    solid_png(root / "media" / "green.png", GREEN)
    (tmp_path / "calibrations").mkdir()
    identity_calibration(tmp_path / "calibrations" / "venue.toml")
    (root / "show.toml").write_text(SMALL_SHOW)
    return root


@pytest.fixture
def small(ctx, small_show):
    player = ShowPlayer(load_show(small_show), HeadlessOutputs(ctx), start_cue="start")
    player.always_draw = True
    opened: list[tuple[Path, int]] = []  # every content file the renderer opens, and its size
    player.renderer.opening_hook = lambda p: p is not None and opened.append((p, p.stat().st_size))
    watcher = ShowWatcher(player, debounce_s=0.05).start()
    player.step(0.0)
    yield player, small_show, opened
    watcher.close()
    player.renderer.release()


def pixel(player: ShowPlayer, x: int, y: int = 45) -> list[int]:
    return player.renderer.read_output("out")[y, x, :3].tolist()


def wait_reload(player: ShowPlayer, t: float = 0.0, timeout_s: float = 3.0) -> float:
    """Step frames at show time ``t`` until the next successful reload; its latency (s)."""
    generation, t0 = player.live.generation, time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        player.step(t)
        if player.live.generation != generation:
            return time.monotonic() - t0
        time.sleep(0.01)
    raise AssertionError(f"no reload in {timeout_s} s ({player.live.reload_error})")


def test_a_file_added_to_the_running_show_is_available_by_name_within_a_second(small, caplog):
    player, root, _ = small
    caplog.set_level("INFO")
    assert pixel(player, 40) == list(RED)
    solid_png(root / "media" / "new" / "blue.png", BLUE)  # a new subfolder too
    latency = wait_reload(player)
    assert latency < 1.0
    assert "media/new/blue.png added" in caplog.text
    listed = [row["file"] for row in media_listing(player.live.show)]
    assert any(f.endswith("new/blue.png") for f in listed), listed  # the panel's media list
    got: list = []
    player.submit(
        "layer.content", "media/new/blue.png", path={"layer": "clip"}, on_result=got.append
    )
    player.step(0.1)
    assert got[0].ok, got[0].message
    assert pixel(player, 40) == list(BLUE)
    assert player.registry.spec("layer.content").query(player.live, {"layer": "clip"}) == (
        "media/new/blue.png"
    )


def test_a_command_naming_a_file_that_is_not_there_is_refused_with_the_file(small):
    player, _, _ = small
    got: list = []
    player.submit("layer.content", "media/nope.png", path={"layer": "clip"}, on_result=got.append)
    player.submit("layer.content", "../outside.png", path={"layer": "clip"}, on_result=got.append)
    player.step(0.1)
    assert not got[0].ok and "media/nope.png: file not found" in got[0].message
    assert not got[1].ok and "inside the show folder" in got[1].message
    assert pixel(player, 40) == list(RED)


def test_an_edit_naming_a_missing_file_is_refused_with_file_and_line_then_picks_it_up(
    small, caplog
):
    player, root, _ = small
    text = SMALL_SHOW.replace('file = "media/red.png"', 'file = "media/later.png"')
    line = text.splitlines().index('file = "media/later.png"') + 1  # 1-based, by hand
    (root / "show.toml").write_text(text)
    deadline = time.monotonic() + 3.0
    while player.live.reload_error is None and time.monotonic() < deadline:
        player.step(0.0)
        time.sleep(0.01)
    error = player.live.reload_error
    assert error is not None and f"show.toml:{line}: layers[0].file" in error
    monitor = ShowMonitor(root.parent / "state", root)
    monitor.write_status(player)
    assert json.loads(monitor.status_path.read_text())["reload_error"] == error
    from mapping.control.panel.state import StateDiff

    assert StateDiff().state(player, 0.0)["reload_error"] == error  # the panel says it too
    assert "file not found: media/later.png" in error
    assert "keeps running as it was" in caplog.text and f"show.toml:{line}" in caplog.text
    assert pixel(player, 40) == list(RED)  # the last good state
    solid_png(root / "media" / "later.png", BLUE)  # the artist copies the file in
    assert wait_reload(player) < 1.0
    player.step(0.1)
    assert pixel(player, 40) == list(BLUE) and player.live.reload_error is None


def copy_slowly(data: bytes, path: Path, pieces: int = 6, pause_s: float = 0.15) -> Thread:
    def copy() -> None:
        with open(path, "wb") as f:
            for i in range(pieces):
                f.write(data[i * len(data) // pieces : (i + 1) * len(data) // pieces])
                f.flush()
                time.sleep(pause_s)

    thread = Thread(target=copy)
    thread.start()
    return thread


def test_a_replacement_still_being_copied_is_not_opened_until_complete(small, tmp_path):
    player, root, opened = small
    blue = solid_png(tmp_path / "elsewhere.png", BLUE, noise=True)
    target = root / "media" / "red.png"
    opened.clear()
    copier = copy_slowly(blue, target)  # pauses of 0.15 s, three times the debounce
    while copier.is_alive():  # the show plays on meanwhile
        player.step(0.0)
        time.sleep(0.01)
    wait_reload(player)
    player.step(0.1)
    assert pixel(player, 40) == pytest.approx(list(BLUE), abs=3)  # the noise's low bits
    sizes = [size for path, size in opened if path == target]
    assert sizes == [len(blue)]  # opened once, complete


def test_an_atomic_rename_is_picked_up_at_once(small):
    player, root, _ = small
    temp = root / "media" / ".red.png.part"
    temp.write_bytes(solid_png(root.parent / "green.png", GREEN))
    os.replace(temp, root / "media" / "red.png")
    assert wait_reload(player) < 1.0
    player.step(0.1)
    assert pixel(player, 40) == list(GREEN)


def test_a_mid_fade_edit_keeps_the_cue_its_fade_and_show_time(small, caplog):
    player, root, _ = small
    caplog.set_level("INFO")
    player.submit("go")
    player.step(1.0)  # GO "emblem": the logo fades in over 10 s
    player.step(4.0)
    assert player.live.engine.opacity("logo", 4.0) == pytest.approx(0.3)
    assert pixel(player, 120) == [0, round(0.3 * 255), 0]
    (root / "show.toml").write_text(
        SMALL_SHOW.replace("region = [0, 0, 80, 90]", "region = [0, 0, 40, 90]")
    )
    wait_reload(player, t=4.0)
    assert player.live.engine.current_cue().name == "emblem"
    assert player.live.engine.opacity("logo", 4.0) == pytest.approx(0.3)  # same progress
    assert player.live.engine.opacity("logo", 6.0) == pytest.approx(0.5)  # still fading
    assert player.status.show_time_s == 4.0 and player.status.progress == pytest.approx(0.3)
    player.step(4.0)
    assert pixel(player, 20) == list(RED) and pixel(player, 60) == [0, 0, 0]  # new region
    assert "show.toml: layer 'clip' region changed" in caplog.text


def test_an_atomic_calibration_save_changes_the_mapping_live(small, caplog):
    player, root, _ = small
    caplog.set_level("INFO")
    H = np.array([[1.0, 0.0, 20.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # 20 px to the right
    update_calibration(
        root.parent / "calibrations" / "venue.toml", "all", SurfaceCalibration("out", H)
    )
    wait_reload(player)
    player.step(0.1)
    assert pixel(player, 10) == [0, 0, 0] and pixel(player, 30) == list(RED)
    assert "calibration ../calibrations/venue.toml: surface 'all' homography changed" in caplog.text


def test_a_file_a_command_shows_is_not_reopened_while_being_rewritten(small, tmp_path):
    """Another file completing meanwhile reloads the show; the layer keeps the old version
    until the rewrite is complete, then opens it once, whole."""
    player, root, opened = small
    solid_png(root / "media" / "blue.png", BLUE)
    wait_reload(player)
    got: list = []
    player.submit("layer.content", "media/blue.png", path={"layer": "clip"}, on_result=got.append)
    player.step(0.1)
    assert got[0].ok and pixel(player, 40) == list(BLUE)
    green = solid_png(tmp_path / "green.png", GREEN, noise=True)
    opened.clear()
    copier = copy_slowly(green, root / "media" / "blue.png", pieces=8)
    time.sleep(0.3)
    solid_png(root / "media" / "other.png", RED)  # complete: a reload is asked for
    while copier.is_alive():
        player.step(0.1)
        time.sleep(0.01)
    assert (
        player.live.reload_error is not None and "still being written" in player.live.reload_error
    )
    wait_reload(player, t=0.1)
    player.step(0.2)
    assert pixel(player, 40) == pytest.approx(list(GREEN), abs=3)
    assert [s for p, s in opened if p.name == "blue.png"] == [len(green)]


def test_after_loading_another_show_its_folder_is_the_one_watched(ctx, small_show):
    other = small_show.parent / "other"
    shutil.copytree(small_show, other)
    player = ShowPlayer(
        load_show(small_show), HeadlessOutputs(ctx), library=ShowLibrary(small_show.parent)
    )
    watcher = ShowWatcher(player, debounce_s=0.05).start()
    try:
        got: list = []
        player.submit("show.load", "other", on_result=got.append)
        player.step(0.0)
        assert got[0].ok, got[0].message
        assert watcher.watcher.trees == (other,)
        solid_png(other / "media" / "blue.png", BLUE)
        wait_reload(player)
        assert [str(c) for c in player.live.last_changes] == ["media/blue.png added"]
    finally:
        watcher.close()
        player.renderer.release()


def test_the_folder_is_validated_on_the_watchers_thread_not_in_a_frame(small):
    player, root, _ = small
    threads: list[str] = []
    loader = player.live.loader

    def spy(folder: Path):
        threads.append(threading.current_thread().name)
        return loader(folder)

    player.live.loader = spy
    (root / "show.toml").write_text(SMALL_SHOW.replace("fade = 10.0", "fade = 5.0"))
    wait_reload(player)
    assert threads == ["file-watcher"]  # the render thread (this one) adopted it as loaded
    assert [str(c) for c in player.live.last_changes] == ["show.toml: cue 'emblem' fade changed"]
