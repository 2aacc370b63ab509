"""Spec for calibration.store: plain-TOML calibration files, validated, saved atomically."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from calibration import store
from calibration.store import (
    CalibrationFile,
    SurfaceCalibration,
    history_files,
    load_calibration,
    save_calibration,
    with_surface,
)
from mapping.errors import Problem, ValidationError

AWKWARD_H = np.array(
    [
        [1 / 3, 1e-17, 123456.789012345678],
        [-2.5e-9, 0.1 + 0.2, np.pi * 1e5],
        [7e-5, np.nextafter(1.0, 2.0) - 1.0, 1.0],
    ]
)

GOOD_TOML = """\
schema_version = 1
venue = "Old Town Hall"

[surfaces.wall-left]
output = "left"
H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
method = "corner-pin"
residual_rms_px = 0.12
points = 4
updated = "2026-11-25T17:00:00Z"
"""


def write(tmp_path: Path, text: str, name: str = "venue.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        load_calibration(path)
    return info.value.problems


def one_problem(path: Path, key_path: str) -> Problem:
    problems = problems_of(path)
    matching = [p for p in problems if p.key_path == key_path]
    assert matching, f"no problem at {key_path!r}: {[str(p) for p in problems]}"
    assert all(p.file == path for p in problems)
    return matching[0]


def sample_file() -> CalibrationFile:
    return CalibrationFile(
        surfaces={
            "wall-left": SurfaceCalibration(
                output="left",
                H_canvas_to_projector=AWKWARD_H,
                method="point-pairs",
                residual_rms_px=0.1 + 0.2,
                points=12,
                updated="2026-11-25T17:00:00Z",
            ),
            "door arch": SurfaceCalibration(output="right", H_canvas_to_projector=np.eye(3)),
        },
        venue="Old Town Hall",
    )


# --------------------------------------------------------------------------- model


def test_surface_calibration_copies_and_freezes_H() -> None:
    H = np.eye(3)
    surface = SurfaceCalibration(output="left", H_canvas_to_projector=H)
    H[0, 0] = 5.0
    assert surface.H_canvas_to_projector[0, 0] == 1.0
    assert surface.H_canvas_to_projector.dtype == np.float64
    with pytest.raises(ValueError):
        surface.H_canvas_to_projector[0, 0] = 2.0
    assert surface.method == "manual"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"H_canvas_to_projector": np.eye(2)},
        {"H_canvas_to_projector": np.zeros((3, 3))},
        {"H_canvas_to_projector": np.full((3, 3), np.nan)},
        {"method": "guesswork"},
        {"residual_rms_px": -1.0},
    ],
)
def test_surface_calibration_rejects_bad_values(kwargs: dict) -> None:
    args = {"output": "left", "H_canvas_to_projector": np.eye(3), **kwargs}
    with pytest.raises(ValueError):
        SurfaceCalibration(**args)


def test_with_surface_returns_an_updated_copy() -> None:
    cal = sample_file()
    new = SurfaceCalibration(output="left", H_canvas_to_projector=2 * np.eye(3))
    updated = with_surface(cal, "wall-left", new)
    added = with_surface(cal, "tower", new)
    assert updated.surfaces["wall-left"] == new
    assert cal.surfaces["wall-left"] != new  # original untouched
    assert list(added.surfaces) == ["wall-left", "door arch", "tower"]
    assert "tower" not in cal.surfaces
    assert updated.venue == cal.venue
    with pytest.raises(TypeError):
        cal.surfaces["x"] = new  # type: ignore[index]


# --------------------------------------------------------------------------- round trip


def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    cal = sample_file()
    save_calibration(path, cal)
    loaded = load_calibration(path)
    assert loaded == cal
    H = loaded.surfaces["wall-left"].H_canvas_to_projector
    assert H.tobytes() == AWKWARD_H.tobytes()
    assert loaded.surfaces["wall-left"].residual_rms_px == 0.1 + 0.2
    assert loaded.surfaces["door arch"].method == "manual"
    assert loaded.venue == "Old Town Hall"


def test_documented_example_loads(tmp_path: Path) -> None:
    cal = load_calibration(write(tmp_path, GOOD_TOML))
    surface = cal.surfaces["wall-left"]
    assert surface.output == "left"
    assert surface.method == "corner-pin"
    assert surface.points == 4
    assert surface.residual_rms_px == 0.12
    assert surface.updated == "2026-11-25T17:00:00Z"
    assert np.array_equal(surface.H_canvas_to_projector, np.eye(3))


def test_native_toml_datetime_is_read_as_iso_text(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TOML.replace('"2026-11-25T17:00:00Z"', "2026-11-25T17:00:00Z"))
    assert load_calibration(path).surfaces["wall-left"].updated == "2026-11-25T17:00:00Z"


def test_save_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "venues" / "old-town-hall" / "calibration.toml"
    save_calibration(path, sample_file())
    assert load_calibration(path) == sample_file()


# --------------------------------------------------------------------------- history


def test_history_keeps_previous_versions_and_rotates(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    versions = [
        with_surface(
            sample_file(),
            "wall-left",
            SurfaceCalibration(output="left", H_canvas_to_projector=np.diag([1.0, 1.0, i + 1.0])),
        )
        for i in range(6)
    ]
    save_calibration(path, versions[0], history=3)
    assert history_files(path) == []  # nothing to keep on the first save
    for version in versions[1:]:
        save_calibration(path, version, history=3)

    copies = history_files(path)
    assert len(copies) == 3
    assert all(c.parent == tmp_path / ".history" for c in copies)
    assert all(c.name.startswith("venue.") and c.name.endswith(".toml") for c in copies)
    # The newest three previous versions survive, oldest first.
    kept = [load_calibration(c).surfaces["wall-left"].H_canvas_to_projector[2, 2] for c in copies]
    assert kept == [3.0, 4.0, 5.0]
    assert load_calibration(path) == versions[-1]


def test_history_rotation_leaves_other_files_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    path = tmp_path / "venue.toml"
    for _ in range(3):
        save_calibration(other, sample_file(), history=5)
    for _ in range(4):
        save_calibration(path, sample_file(), history=1)
    assert len(history_files(path)) == 1
    assert len(history_files(other)) == 2


def test_history_zero_keeps_no_copies(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file(), history=0)
    save_calibration(path, sample_file(), history=0)
    assert history_files(path) == []


# --------------------------------------------------------------------------- atomicity


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync", "tomli_w.dumps"])
def test_failed_save_keeps_previous_file_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    before = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk unplugged")

    if failing == "os.replace":
        monkeypatch.setattr(os, "replace", boom)
    elif failing == "os.fsync":  # the temp file is written, then the disk fails
        monkeypatch.setattr(os, "fsync", boom)
    else:
        monkeypatch.setattr(tomli_w, "dumps", boom)
    changed = with_surface(
        sample_file(), "tower", SurfaceCalibration(output="x", H_canvas_to_projector=np.eye(3))
    )
    with pytest.raises(OSError, match="disk unplugged"):
        save_calibration(path, changed)

    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_save_keeps_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    os.chmod(path, 0o640)
    save_calibration(path, sample_file())
    assert path.stat().st_mode & 0o777 == 0o640


def test_saved_file_is_plain_readable_toml(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    text = path.read_text(encoding="utf-8")
    assert "schema_version = 1" in text
    assert "[surfaces.wall-left]" in text
    assert 'method = "point-pairs"' in text


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    [problem] = problems_of(path)
    assert problem.file == path
    assert "not found" in problem.message


def test_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'schema_version = 1\n\n[surfaces.a]\noutput = "left\n')
    [problem] = problems_of(path)
    assert problem.file == path
    assert problem.line == 4
    assert "syntax" in problem.message


@pytest.mark.parametrize("version", ["2", '"1"', "0"])
def test_unsupported_schema_version_names_supported_ones(tmp_path: Path, version: str) -> None:
    path = write(tmp_path, GOOD_TOML.replace("schema_version = 1", f"schema_version = {version}"))
    problem = one_problem(path, "schema_version")
    assert "1" in problem.message
    assert problem.line == 1


def test_missing_schema_version(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TOML.replace("schema_version = 1\n", ""))
    assert "missing" in one_problem(path, "schema_version").message


def test_unknown_keys_suggest_the_closest_known_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TOML.replace("output =", "ouput =").replace("venue =", "venu ="))
    problem = one_problem(path, "surfaces.wall-left.ouput")
    assert "did you mean 'output'?" in problem.message
    assert problem.line == 5
    assert "did you mean 'venue'?" in one_problem(path, "venu").message
    # The now-missing output is reported too.
    assert "missing" in one_problem(path, "surfaces.wall-left.output").message


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ("[[1.0, 0.0], [0.0, 1.0]]", "3×3"),
        ("[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]", "3×3"),
        ('[[1.0, 0.0, 0.0], [0.0, "one", 0.0], [0.0, 0.0, 1.0]]', "[1][1]"),
        ("[[1.0, 0.0, 0.0], [0.0, nan, 0.0], [0.0, 0.0, 1.0]]", "finite"),
        ("[[1.0, 0.0, 0.0], [0.0, inf, 0.0], [0.0, 0.0, 1.0]]", "finite"),
        ("[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]]", "singular"),
        ("[[1e-9, 0.0, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1e-30]]", "singular"),
        ("[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]", "third row"),
        ("3.0", "3×3"),
    ],
)
def test_bad_homography(tmp_path: Path, matrix: str, expected: str) -> None:
    text = GOOD_TOML.replace("[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]", matrix)
    path = write(tmp_path, text)
    problem = one_problem(path, "surfaces.wall-left.H_canvas_to_projector")
    assert expected in problem.message
    assert problem.line == 6


def test_tiny_but_well_conditioned_homography_is_accepted(tmp_path: Path) -> None:
    # Homographies are defined up to scale: a uniformly tiny matrix is still invertible.
    text = GOOD_TOML.replace(
        "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]",
        "[[1e-9, 0.0, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1e-9]]",
    )
    load_calibration(write(tmp_path, text))


def test_realistic_homographies_are_accepted() -> None:
    import cv2

    canvas_px = np.array([[0, 0], [3840, 0], [3840, 2160], [0, 2160]], dtype=np.float32)
    projector_px = np.array([[812, 95], [4031, 240], [3990, 2300], [705, 2010]], dtype=np.float32)
    H = cv2.getPerspectiveTransform(canvas_px, projector_px)
    SurfaceCalibration(output="left", H_canvas_to_projector=H)
    SurfaceCalibration(output="left", H_canvas_to_projector=np.linalg.inv(H))
    shift = np.array([[1.0, 0.0, 25000.0], [0.0, 1.0, -9000.0], [0.0, 0.0, 1.0]])
    SurfaceCalibration(output="left", H_canvas_to_projector=shift * 1e-200)


def test_missing_homography(tmp_path: Path) -> None:
    text = "\n".join(
        line for line in GOOD_TOML.splitlines() if not line.startswith("H_canvas_to_projector")
    )
    path = write(tmp_path, text)
    assert "missing" in one_problem(path, "surfaces.wall-left.H_canvas_to_projector").message


def test_unknown_method_lists_methods(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_TOML.replace('"corner-pin"', '"corner_pin"'))
    problem = one_problem(path, "surfaces.wall-left.method")
    for method in store.METHODS:
        assert method in problem.message
    assert "did you mean 'corner-pin'?" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("residual_rms_px = 0.12", "residual_rms_px = -0.5", "residual_rms_px"),
        ("residual_rms_px = 0.12", 'residual_rms_px = "small"', "residual_rms_px"),
        ("points = 4", "points = 4.5", "points"),
        ("points = 4", "points = -1", "points"),
        ('updated = "2026-11-25T17:00:00Z"', 'updated = "last tuesday"', "updated"),
        ('output = "left"', "output = 3", "output"),
    ],
)
def test_bad_optional_values(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = write(tmp_path, GOOD_TOML.replace(old, new))
    problem = one_problem(path, f"surfaces.wall-left.{key}")
    assert problem.line is not None


def test_surface_must_be_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "schema_version = 1\nsurfaces = 3\n")
    assert "table" in one_problem(path, "surfaces").message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        schema_version = 1
        colour = "blue"

        [surfaces.wall-left]
        output = "left"
        H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        method = "magic"

        [surfaces.tower]
        H_canvas_to_projector = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        points = "many"

        [surfaces."door.arch"]
        output = "right"
        H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        metod = "manual"
        """,
    )
    problems = problems_of(path)
    by_key = {p.key_path: p for p in problems}
    assert set(by_key) == {
        "colour",
        "surfaces.wall-left.H_canvas_to_projector",
        "surfaces.wall-left.method",
        "surfaces.tower.output",
        "surfaces.tower.H_canvas_to_projector",
        "surfaces.tower.points",
        'surfaces."door.arch".metod',
    }
    assert all(p.file == path for p in problems)
    assert by_key["colour"].line == 2
    assert by_key["surfaces.wall-left.method"].line == 7
    assert by_key["surfaces.tower.points"].line == 11
    assert by_key["surfaces.tower.output"].line == 9  # missing: points at the table header
    assert by_key['surfaces."door.arch".metod'].line == 16
    assert "did you mean 'method'?" in by_key['surfaces."door.arch".metod'].message
    # The exception text is one line per problem, each naming the file.
    with pytest.raises(ValidationError) as info:
        load_calibration(path)
    assert str(info.value).count(str(path)) == len(problems)


def test_saved_matrices_are_readable_rows_and_errors_below_them_get_their_own_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    text = path.read_text()
    assert "H_canvas_to_projector = [\n    [" in text  # one row of three numbers per line
    broken = text.replace('method = "point-pairs"', 'method = "pointpairs"', 1)
    path.write_text(broken)
    with pytest.raises(ValidationError) as info:
        load_calibration(path)
    (problem,) = info.value.problems
    lines = broken.splitlines()
    assert problem.line is not None and "pointpairs" in lines[problem.line - 1]
