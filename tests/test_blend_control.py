"""Blend adjustments: commands with undo, saved to the calibration file ([blend]), show-file
keys, and the validation of both files (every problem named with its file, key and line)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from calibration.store import (
    BlendCalibration,
    CalibrationFile,
    EdgeBlend,
    history_files,
    load_calibration,
    save_calibration,
)
from mapping.blend import show_blend_masks
from mapping.commands import CommandError, CommandProcessor
from mapping.control.builtin import build_registry
from mapping.errors import ValidationError
from mapping.live import LiveShow
from mapping.show import load_show

REPO = Path(__file__).resolve().parents[1]

CAL_HEAD = """\
schema_version = 1

[surfaces.wall]
output = "left"
H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""


@pytest.fixture
def live(show_dir) -> LiveShow:
    return LiveShow(load_show(show_dir))


@pytest.fixture
def send(live):
    registry = build_registry()
    processor = CommandProcessor(registry, live)

    def _send(name, *values, path=None):
        return processor.apply(registry.make(name, values, path=path, source="osc"), 0.0)

    return _send


def _problems(tmp_path: Path, text: str):
    path = tmp_path / "venue.toml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_calibration(path)
    return [(p.key_path, p.line, p.message) for p in info.value.problems]


def test_blend_adjustments_round_trip_through_the_calibration_file(tmp_path):
    blend = BlendCalibration(0.025, (EdgeBlend("left", "right", 48.5, 1.75),))
    cal = load_calibration(REPO / "shows" / "calibrations" / "demo-venue.toml")
    assert cal.blend is None  # files written before blending load as they are
    path = tmp_path / "venue.toml"
    save_calibration(path, CalibrationFile(cal.surfaces, cal.venue, blend=blend))
    text = path.read_text()
    assert "[blend.edges.left.right]" in text and "black_level = 0.025" in text
    again = load_calibration(path)
    assert again.blend == blend and again.surfaces == cal.surfaces


def test_bad_blend_values_are_named_with_key_and_line(tmp_path):
    text = CAL_HEAD + textwrap.dedent(
        """
        [blend]
        black_level = 0.8

        [blend.edges.left.right]
        width_px = -3
        curv = 2.0

        [blend.edges.left.left]
        curve = 1.0
        """
    )
    problems = _problems(tmp_path, text)
    keys = {k: (line, m) for k, line, m in problems}
    assert keys["blend.black_level"][0] == 8 and "0.5" in keys["blend.black_level"][1]
    assert keys["blend.edges.left.right.width_px"][0] == 11
    assert "did you mean 'curve'" in keys["blend.edges.left.right.curv"][1]
    assert "twice" in keys["blend.edges.left.left"][1]


def test_show_file_blend_and_gamma_keys(show_dir):
    show = load_show(show_dir)
    assert show.blend.enabled
    assert show.blend.calibration_file == (show_dir.parent / "calibrations" / "demo-venue.toml")
    assert [o.gamma for o in show.outputs] == [2.2, 2.2]
    text = (show_dir / "show.toml").read_text()
    text = text.replace("gamma = 2.2 ", "gamma = 0.5 ").replace("enabled = true", 'enabled = "yes"')
    text = text.replace("[blend]\n", '[blend]\ncalibration = "nowhere.toml"\n')
    (show_dir / "show.toml").write_text(text)
    with pytest.raises(ValidationError) as info:
        load_show(show_dir)
    found = {p.key_path: p for p in info.value.problems}
    assert "4" in found["outputs[0].gamma"].message and found["outputs[0].gamma"].line
    assert "true or false" in found["blend.enabled"].message
    assert "nowhere.toml" in found["blend.calibration"].message


def test_the_demo_blends_its_pier(show_dir):
    show = load_show(show_dir)
    masks = show_blend_masks(show)
    pier = masks.overlap_count == 2
    gw = masks.grid_size[0]
    xs = (np.nonzero(pier.any(axis=0))[0] + 0.5) * 1600 / gw
    assert 765 < xs.min() < 775 and 825 < xs.max() < 835  # the pier, 770..830
    total = masks.weights["left"] + masks.weights["right"]
    np.testing.assert_allclose(total[pier], 1.0)
    row = masks.weights["left"][pier.any(axis=1)][masks.grid_size[1] // 3]
    assert row[pier.any(axis=0)].min() < 0.05 and row[pier.any(axis=0)].max() > 0.95


def test_edge_commands_change_the_live_show_undo_and_save(live, send, show_dir):
    generation = live.generation
    path = {"output": "left", "neighbour": "right"}
    assert send("blend.width", 40.0, path=path).ok
    assert send("blend.curve", 2.0, path=path).ok
    assert send("blend.black", 0.02).ok
    cal = live.show.blend.calibration
    assert cal.edge("left", "right") == EdgeBlend("left", "right", 40.0, 2.0)
    assert cal.black_level == 0.02 and live.generation == generation + 3
    assert send("undo").ok and send("undo").ok
    assert live.show.blend.calibration.edge("left", "right").curve == 1.0
    assert live.show.blend.calibration.black_level == 0.0
    assert not send("blend.width", 40.0, path={"output": "left", "neighbour": "left"}).ok
    with pytest.raises(CommandError, match=r"\[0.1, 10\]"):
        send("blend.curve", 50.0, path=path)  # out of range: refused when made
    assert send("blend.save").ok
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    saved = load_calibration(venue)
    assert saved.blend == BlendCalibration(0.0, (EdgeBlend("left", "right", 40.0, 1.0),))
    assert "right-wing" in saved.surfaces and history_files(venue)
    assert load_show(show_dir).blend.calibration == saved.blend  # the next load has it


def test_blending_can_be_switched_off_live(live, send):
    assert send("blend.enabled", False).ok
    assert not live.show.blend.enabled
    assert send("undo").ok and live.show.blend.enabled
