"""Spec for mapping.showdiff: what a reload changed, in words (pure; real show folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.store import CalibrationFile, SurfaceCalibration, save_calibration
from mapping.show import load_show
from mapping.showdiff import (
    Change,
    describe_reload,
    diff_files,
    diff_shows,
    folder_snapshot,
    same,
)
from tests.showkit import write_png

BASE = """schema_version = 1
name = "diff"
[canvas]
size = [160, 90]
[[outputs]]
name = "out"
resolution = [160, 90]
[[surfaces]]
name = "wing"
output = "out"
polygon = [[0, 0], [160, 0], [160, 90], [0, 90]]
calibration = { file = "../calibrations/x.toml" }
[[surfaces]]
name = "door"
output = "out"
polygon = [[0, 0], [80, 0], [80, 90], [0, 90]]
corners = [[0, 0], [80, 0], [80, 90], [0, 90]]
[[layers]]
name = "clip"
kind = "image"
file = "media/a.png"
region = [0, 0, 80, 90]
[[layers]]
name = "wash"
kind = "solid"
color = "#ff0000"
[[cues]]
name = "start"
[cues.layers.clip]
opacity = 1.0
"""


def calibration(path: Path, dx: float) -> None:
    H = np.array([[1.0, 0.0, dx], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    save_calibration(path, CalibrationFile(surfaces={"wing": SurfaceCalibration("out", H)}))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    image = np.full((9, 16, 4), 255, np.uint8)
    write_png(root / "media" / "a.png", image)
    write_png(root / "media" / "b.png", image)
    (tmp_path / "calibrations").mkdir()
    calibration(tmp_path / "calibrations" / "x.toml", 0.0)
    (root / "show.toml").write_text(BASE)
    return root


def edited(folder: Path, *replacements: tuple[str, str]) -> list[str]:
    """The changes between the BASE show and BASE with ``replacements`` made."""
    (folder / "show.toml").write_text(BASE)
    old = load_show(folder)
    text = BASE
    for a, b in replacements:
        assert a in text
        text = text.replace(a, b)
    (folder / "show.toml").write_text(text)
    return [str(c) for c in diff_shows(old, load_show(folder))]


def test_the_same_show_has_no_changes(folder):
    assert diff_shows(load_show(folder), load_show(folder)) == []


def test_a_layer_property_change_names_the_layer_and_the_property(folder):
    assert edited(folder, ("region = [0, 0, 80, 90]", "region = [0, 0, 40, 90]")) == [
        "show.toml: layer 'clip' region changed"
    ]
    assert edited(folder, ('file = "media/a.png"', 'file = "media/b.png"\nopacity = 0.5')) == [
        "show.toml: layer 'clip' file, opacity changed"
    ]


def test_added_removed_and_reordered_things_are_named(folder):
    added = BASE + '[[cues]]\nname = "emblem"\n[cues.layers.wash]\nopacity = 0.5\n'
    assert edited(folder, (BASE, added)) == ["show.toml: cue 'emblem' added"]
    wash = '[[layers]]\nname = "wash"\nkind = "solid"\ncolor = "#ff0000"\n'
    assert edited(folder, (wash, "")) == ["show.toml: layer 'wash' removed"]
    clip_first = BASE.index("[[layers]]")
    moved = BASE[:clip_first] + wash + BASE[clip_first:].replace(wash, "")
    assert edited(folder, (BASE, moved)) == ["show.toml: layers reordered"]
    assert edited(folder, ('name = "start"\n', 'name = "start"\nfade = 2.0\n')) == [
        "show.toml: cue 'start' fade changed"
    ]


def test_a_calibration_change_is_reported_under_its_file(folder):
    old = load_show(folder)
    calibration(folder.parent / "calibrations" / "x.toml", 12.5)
    new = load_show(folder)
    assert [str(c) for c in diff_shows(old, new)] == [
        "calibration ../calibrations/x.toml: surface 'wing' homography changed"
    ]


def test_a_corner_pin_change_is_a_show_file_change(folder):
    assert edited(folder, ("[80, 90], [0, 90]]\n[[layers]]", "[80, 91], [0, 90]]\n[[layers]]")) == [
        "show.toml: surface 'door' corners changed"
    ]


def test_files_added_removed_and_replaced_in_the_folder(folder):
    before = folder_snapshot(folder)
    write_png(folder / "media" / "new.png", np.zeros((4, 4, 4), np.uint8))
    (folder / "media" / "b.png").unlink()
    (folder / "media" / "a.png").write_bytes(b"replaced with other bytes")
    (folder / "media" / ".a.png.tmp").write_bytes(b"an editor's temp file")
    (folder / "show.toml").write_text(BASE + "\n")  # described by diff_shows, not here
    assert [str(c) for c in diff_files(folder, before, folder_snapshot(folder))] == [
        "media/a.png changed",
        "media/b.png removed",
        "media/new.png added",
    ]


def test_the_log_line_groups_changes_by_file():
    changes = [
        Change("show.toml", "layer 'clip' region changed"),
        Change("show.toml", "cue 'emblem' added"),
        Change("", "media/new.mp4 added"),
        Change("calibration ../calibrations/x.toml", "surface 'right-wing' homography changed"),
    ]
    assert describe_reload(changes) == (
        "show reloaded: show.toml: layer 'clip' region changed; cue 'emblem' added; "
        "media/new.mp4 added; calibration ../calibrations/x.toml: surface 'right-wing' "
        "homography changed"
    )
    assert describe_reload([]) == "show reloaded: nothing changed"


def test_same_compares_arrays_and_dataclasses_by_value():
    assert same(np.eye(3), np.eye(3).copy()) and not same(np.eye(3), np.eye(3) * 2)
    assert not same(np.eye(3), np.eye(2)) and not same(np.eye(3), None)
    assert same({"a": (1, np.zeros(2))}, {"a": (1, np.zeros(2))})
