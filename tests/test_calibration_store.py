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
    BlendCalibration,
    CalibrationFile,
    EdgeBlend,
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


# --------------------------------------------------------------------------- edges of the spec
# Each kills a mutant that survived today's mutation run (docs/testing.md): the exact
# problem (key path, line, message) for each kind of bad entry, the model's own checks,
# history lookups, and update_calibration's contract.

SURFACE = """\
[surfaces.wall]
output = "left"
H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""
HEAD = "schema_version = 1\n\n" + SURFACE

BAD_ENTRIES = [
    *[
        (
            HEAD + f"mesh_size = {size}\nmesh_offsets_px = [[0, 0], [0, 0], [0, 0], [0, 0]]\n",
            (
                "surfaces.wall.mesh_size",
                6,
                f"expected [columns, rows], integers 2..64, got {shown}",
            ),
        )
        for size, shown in [
            ("[2, 65]", "array [2, 65]"),
            ("[1, 2]", "array [1, 2]"),
            ("[2]", "array [2]"),
            ("[2, 2, 1]", "array [2, 2, 1]"),
            ("4", "number 4"),
        ]
    ],
    (
        HEAD + "mesh_size = [2, 2]\nmesh_offsets_px = [[0, 0], [0, 0], [0, 0]]\n",
        (
            "surfaces.wall.mesh_offsets_px",
            7,
            "expected a list of 4 [x, y] points, got array [[0, 0], [0, 0], [0, 0]] "
            "(mesh_size 2×2, row by row)",
        ),
    ),
    ("schema_version = 1\nvenue = 5\n" + SURFACE, ("venue", 2, "expected a string, got number 5")),
    (
        "schema_version = 1\nsurfaces = 5\n",
        ("surfaces", 2, "expected a table of surfaces, got number 5"),
    ),
    (
        "schema_version = true\n" + SURFACE,
        ("schema_version", 1, "unsupported version boolean true; this program reads version 1"),
    ),
    (
        HEAD + "pairs_projector_px = [[0, 0], [1, 1], [2, 0], [0, 2]]\n",
        (
            "surfaces.wall.pairs_canvas_px",
            3,
            "missing; pairs_projector_px needs pairs_canvas_px beside it",
        ),
    ),
    (
        "schema_version = 1\nblend = 3\n" + SURFACE,
        ("blend", 2, "expected a table [blend], got number 3"),
    ),
    (
        HEAD + "[blend]\nedges = 5\n",
        ("blend.edges", 7, "expected a table of outputs, got number 5"),
    ),
    (
        HEAD + "[blend.edges]\nleft = 5\n",
        ("blend.edges.left", 7, "expected a table of neighbour outputs, got number 5"),
    ),
    (
        HEAD + "[blend.edges.left]\nright = 5\n",
        (
            "blend.edges.left.right",
            7,
            "expected a table like { width_px = 60.0, curve = 1.0 }, got number 5",
        ),
    ),
    (
        HEAD + "[blend.edges.left.left]\ncurve = 1.0\n",
        ("blend.edges.left.left", 6, "a blend edge joins two different outputs, got 'left' twice"),
    ),
    (
        HEAD + "[blend]\nblak_level = 0.1\n",
        (
            "blend.blak_level",
            7,
            "unknown key (did you mean 'black_level'?); expected one of: black_level, edges",
        ),
    ),
    (
        HEAD + "[blend.edges.left.right]\ncurve = 0.05\n",
        ("blend.edges.left.right.curve", 7, "expected a number between 0.1 and 10.0, got 0.05"),
    ),
    (
        HEAD + "mesh_size = [2, 2]\n",
        ("surfaces.wall.mesh_offsets_px", 3, "missing; mesh_size needs mesh_offsets_px beside it"),
    ),
    (
        HEAD + "mesh_offsets_px = [[0, 0], [0, 0], [0, 0], [0, 0]]\n",
        ("surfaces.wall.mesh_size", 3, "missing; mesh_offsets_px needs mesh_size beside it"),
    ),
    (
        "schema_version = 1\n[surfaces]\nwall = 3\n",
        ("surfaces.wall", 3, "expected a table [surfaces.wall], got number 3"),
    ),
    (
        "schema_version = 1\n[surfaces.wall]\nH_canvas_to_projector = "
        "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n",
        ("surfaces.wall.output", 2, "missing (required); expected the projector output name"),
    ),
    (
        HEAD.replace('output = "left"', 'output = ""'),
        ("surfaces.wall.output", 4, "expected a non-empty string, got string ''"),
    ),
    (
        'schema_version = 1\n[surfaces.wall]\noutput = "left"\n',
        (
            "surfaces.wall.H_canvas_to_projector",
            2,
            "missing (required); expected a 3×3 H_canvas_to_projector like "
            "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]",
        ),
    ),
    (HEAD + "points = -1\n", ("surfaces.wall.points", 6, "expected an integer ≥ 0, got number -1")),
    (
        HEAD + "updated = 5\n",
        ("surfaces.wall.updated", 6, "expected ISO-8601 date-time text, got number 5"),
    ),
    (
        HEAD + 'updated = "yesterday"\n',
        (
            "surfaces.wall.updated",
            6,
            "expected ISO-8601 date-time text like '2026-11-25T17:00:00Z', got string 'yesterday'",
        ),
    ),
    (
        HEAD + 'method = "magic"\n',
        (
            "surfaces.wall.method",
            6,
            "unknown method 'magic'; expected one of: corner-pin, point-pairs, "
            "structured-light, manual",
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_ENTRIES, ids=[e[1][0] for e in BAD_ENTRIES])
def test_each_bad_entry_is_one_problem_with_its_key_line_and_message(tmp_path, text, expected):
    path = tmp_path / "venue.toml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(path)
    assert [(p.key_path, p.line, p.message) for p in problems] == [expected]
    assert problems[0].file == path


def test_a_folder_and_a_latin_1_file_are_refused_as_calibration_files(tmp_path):
    folder = tmp_path / "venue.toml"
    folder.mkdir()
    assert [p.message for p in problems_of(folder)] == ["is a folder, expected a calibration file"]
    latin = write(tmp_path, 'schema_version = 1\nvenue = "x"\n', "latin.toml")
    latin.write_bytes(b'schema_version = 1\nvenue = "\xff"\n')
    (problem,) = problems_of(latin)
    assert (problem.file, problem.line) == (latin, 2)
    assert problem.message.startswith("not UTF-8 text: byte 0xff at column 10")


def test_a_mesh_of_64_columns_is_the_largest_accepted(tmp_path):
    offsets = ", ".join(f"[{k}, 0]" for k in range(128))
    text = HEAD + f"mesh_size = [64, 2]\nmesh_offsets_px = [{offsets}]\n"
    mesh = load_calibration(write(tmp_path, text)).surfaces["wall"].mesh_offsets_px
    assert mesh.shape == (2, 64, 2) and mesh[1, 63, 0] == 127.0


def test_blend_and_mesh_entries_load_with_their_defaults(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "mesh_size = [3, 2]\n"
        + "mesh_offsets_px = [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1.5]]\n"
        + "[blend.edges.left.right]\n",
    )
    cal = load_calibration(path)
    assert cal.blend == BlendCalibration(0.0, (EdgeBlend("left", "right", 0.0, 1.0),))
    mesh = cal.surfaces["wall"].mesh_offsets_px
    assert mesh.shape == (2, 3, 2)  # rows, columns
    assert mesh[1, 2].tolist() == [2.0, 1.5] and mesh[0, 1].tolist() == [1.0, 0.0]


def test_point_pairs_and_blend_values_are_checked_on_construction():
    eye = np.eye(3)
    with pytest.raises(ValueError, match=r"^pairs_canvas_px must be an \(N, 2\) array of points, "):
        SurfaceCalibration("left", eye, pairs_canvas_px=[[1, 2, 3]], pairs_projector_px=[[1, 2]])
    with pytest.raises(ValueError, match=r"^pairs_projector_px must be finite$"):
        SurfaceCalibration("left", eye, pairs_canvas_px=[[1, 2]], pairs_projector_px=[[1, np.nan]])
    given = np.array([[1.0, 2.0], [3.0, 4.0]])
    s = SurfaceCalibration("left", eye, pairs_canvas_px=given, pairs_projector_px=given)
    given[0, 0] = 99  # the calibration holds its own read-only float64 copy
    assert s.pairs_canvas_px.dtype == np.float64 and s.pairs_canvas_px[0, 0] == 1.0
    assert not s.pairs_canvas_px.flags.writeable
    with pytest.raises(ValueError, match=r"^width_px: expected a number between 0.0 and 100000.0"):
        EdgeBlend("left", "right", width_px=-1.0)
    with pytest.raises(ValueError, match=r"^curve: expected a number between 0.1 and 10.0, got 20"):
        EdgeBlend("left", "right", curve=20)
    with pytest.raises(ValueError, match=r"^curve: expected a number between 0.1 and 10.0"):
        EdgeBlend("left", "right", curve=0.05)
    with pytest.raises(ValueError, match=r"^a blend edge joins two outputs, got 'left' twice$"):
        EdgeBlend("left", "left")
    with pytest.raises(ValueError, match=r"^black_level: expected a number between 0.0 and 0.5"):
        BlendCalibration(0.75)
    assert type(BlendCalibration(0).black_level) is float


def test_equal_calibrations_hash_equal():
    a, b = sample_file(), sample_file()
    assert hash(a) == hash(b) and len({a, b}) == 1
    assert hash(a.surfaces["wall-left"]) == hash(b.surfaces["wall-left"])
    assert len({a.surfaces["wall-left"], a.surfaces["door arch"]}) == 2


def test_thousands_of_different_matrices_load(tmp_path):
    """The loader remembers the matrices it validated lately; past its 4096 it forgets
    the oldest instead of failing."""
    surfaces = "".join(
        f'[surfaces.s{k}]\noutput = "left"\n'
        f"H_canvas_to_projector = [[1.0, 0.0, {k}.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n"
        for k in range(4100)
    )
    cal = load_calibration(write(tmp_path, "schema_version = 1\n" + surfaces))
    assert len(cal.surfaces) == 4100
    assert cal.surfaces["s4099"].H_canvas_to_projector[0, 2] == 4099.0


def test_a_native_toml_datetime_keeps_its_offset(tmp_path):
    path = write(tmp_path, HEAD + "updated = 2026-11-25T17:00:00+01:00\n")
    assert load_calibration(path).surfaces["wall"].updated == "2026-11-25T17:00:00+01:00"


def test_utc_now_text_is_the_utc_time_to_the_second():
    import datetime as dt
    import re
    import time

    before = time.time()
    text = store.utc_now_text()
    after = time.time()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    seconds = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    assert int(before) <= seconds <= after


def three_versions(tmp_path: Path) -> Path:
    """A file saved three times: two previous versions in its history."""
    path = tmp_path / "venue.toml"
    for method in ("manual", "corner-pin", "point-pairs"):
        surface = SurfaceCalibration("left", np.eye(3), method=method)
        save_calibration(path, CalibrationFile({"wall": surface}))
    return path


def test_history_lists_versions_newest_first_with_their_time_and_methods(tmp_path):
    import datetime as dt

    start = dt.datetime.now(dt.UTC)
    path = three_versions(tmp_path)
    entries = store.list_history(path)
    assert [e.number for e in entries] == [1, 2]
    assert [dict(e.methods) for e in entries] == [{"wall": "corner-pin"}, {"wall": "manual"}]
    assert all(e.problem is None for e in entries)
    assert entries[0].saved.tzinfo == dt.UTC
    assert start - dt.timedelta(seconds=1) <= entries[1].saved <= entries[0].saved
    entries[0].path.write_text("schema_version = 7\n")  # a damaged copy is listed, with why
    damaged, older = store.list_history(path)
    assert damaged.methods == {} and "schema_version" in damaged.problem
    assert damaged.saved == entries[0].saved
    assert dict(older.methods) == {"wall": "manual"}


def test_history_versions_are_found_by_number_or_timestamp(tmp_path):
    path = three_versions(tmp_path)
    newest, oldest = store.list_history(path)
    assert store.find_history(path, 2) == oldest and store.find_history(path, "1") == newest
    iso = newest.saved.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert store.find_history(path, iso + "Z") == newest
    assert store.find_history(path, newest.saved.strftime("%Y%m%dT%H%M%S.%f")) == newest
    stamp = newest.saved.strftime("%Y%m")  # six digits: a timestamp, not a number
    with pytest.raises(LookupError, match=rf"^2 history versions match '{stamp}'; give more"):
        store.find_history(path, stamp)
    with pytest.raises(LookupError, match=r"^no history version saved at '1T'$"):
        store.find_history(path, "1T")
    with pytest.raises(LookupError, match=r"^no history version 3; there are 2 \(1 = newest\)$"):
        store.find_history(path, 3)
    lonely = tmp_path / "lonely.toml"
    with pytest.raises(LookupError, match=rf"^{lonely} has no history$"):
        store.find_history(lonely, 1)


def test_restore_keeps_the_history_it_is_asked_to_and_says_what_it_did(tmp_path, caplog):
    import logging

    path = three_versions(tmp_path)
    oldest = store.list_history(path)[1]
    with caplog.at_level(logging.INFO, logger="calibration.store"):
        store.restore_history(path, 2, history=0)
    assert load_calibration(path).surfaces["wall"].method == "manual"
    assert len(history_files(path)) == 2  # history=0: the version it replaced is not kept
    assert f"restored {path} from {oldest.path.name}" in caplog.messages


def test_update_calibration_sees_the_file_as_it_is_and_names_it_in_problems(tmp_path):
    import hashlib

    path = three_versions(tmp_path)
    seen = []

    def change(cal):
        seen.append(cal.source)
        return cal

    store.update_calibration(path, change)
    assert seen[0].path == path
    assert seen[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(HEAD + "points = -1\n")
    with pytest.raises(ValidationError) as error:
        store.update_calibration(path, change)
    assert [(p.file, p.key_path) for p in error.value.problems] == [(path, "surfaces.wall.points")]
    path.write_bytes(b"schema_version = 1\nvenue = '\xff'\n")
    with pytest.raises(ValidationError) as error:
        store.update_calibration(path, change)
    assert error.value.problems[0].file == path


def test_update_calibration_says_how_it_is_called():
    surface = SurfaceCalibration("left", np.eye(3))
    with pytest.raises(TypeError, match=r"^update_calibration\(path, name, surface\) needs the s"):
        store.update_calibration("x.toml", "wall")
    with pytest.raises(
        TypeError, match=r"^give either a surface name and a SurfaceCalibration, or a function$"
    ):
        store.update_calibration("x.toml", lambda cal: cal, surface)


def test_update_calibration_refuses_a_change_that_returns_something_else(tmp_path):
    with pytest.raises(TypeError, match=r"^the change must return a CalibrationFile, got None$"):
        store.update_calibration(tmp_path / "venue.toml", lambda cal: None)


def test_deep_nesting_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path, "schema_version = 1\nx = " + "[" * 200 + "]" * 200 + "\n")
    (problem,) = problems_of(path)
    assert (problem.file, problem.line) == (path, 2)
    assert problem.message.startswith("arrays or inline tables nested more than 32 deep")


def test_a_save_returns_the_file_stamped_and_logs_what_it_did(tmp_path, caplog):
    import hashlib
    import logging

    path = tmp_path / "venue.toml"
    mesh = np.zeros((2, 3, 2))
    mesh[1, 2] = (0.5, -1.0)
    surface = SurfaceCalibration("left", np.eye(3), mesh_offsets_px=mesh)
    with caplog.at_level(logging.DEBUG, logger="calibration.store"):
        saved = save_calibration(path, CalibrationFile({"wall": surface}))
        loaded = load_calibration(path)
    assert saved.source.path == path
    assert saved.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"saved calibration {path}: 1 surfaces" in caplog.messages
    assert f"loaded calibration {path}: 1 surfaces" in caplog.messages
    assert "mesh_size = [3, 2]\n" in path.read_text()  # columns, rows, on one line
    assert loaded.surfaces["wall"] == surface


def test_a_stale_save_tells_the_operator_what_to_do(tmp_path):
    path = three_versions(tmp_path)
    cal = load_calibration(path)
    path.write_text(path.read_text() + "\n")  # someone else saved meanwhile
    with pytest.raises(store.StaleCalibrationError) as error:
        save_calibration(path, cal)
    assert str(error.value) == (
        f"{path} changed on disk since it was loaded (another tool or person saved it); "
        "not overwriting their work. Reload the file and apply your change again "
        "(update_calibration does this under the file's lock)."
    )


MODEL_ERRORS = [
    (
        {"mesh_offsets_px": np.zeros((2, 2))},
        "mesh_offsets_px must be (rows, columns, 2) with 2..64 points a side, got shape (2, 2)",
    ),
    *[
        (
            {"mesh_offsets_px": np.zeros(shape)},
            "mesh_offsets_px must be (rows, columns, 2) with 2..64 points a side, "
            f"got shape {shape}",
        )
        for shape in [(2, 2, 3), (1, 2, 2), (2, 1, 2), (2, 65, 2), (65, 2, 2), (2, 2, 2, 2)]
    ],
    ({"mesh_offsets_px": np.full((2, 2, 2), np.nan)}, "mesh_offsets_px must be finite"),
    ({"pairs_canvas_px": [[0, 0]]}, "pairs_canvas_px and pairs_projector_px go together"),
    ({"pairs_projector_px": [[0, 0]]}, "pairs_canvas_px and pairs_projector_px go together"),
    (
        {"pairs_canvas_px": [[0, 0]], "pairs_projector_px": [[0, 0, 0]]},
        "pairs_projector_px must be an (N, 2) array of points, got shape (1, 3)",
    ),
    (
        {"pairs_canvas_px": [[0, np.inf]], "pairs_projector_px": [[0, 0]]},
        "pairs_canvas_px must be finite",
    ),
    (
        {"pairs_canvas_px": [[0, 0]], "pairs_projector_px": [[0, 0], [1, 1]]},
        "1 pairs_canvas_px but 2 pairs_projector_px",
    ),
    (
        {"method": "magic"},
        "unknown method 'magic'; expected one of "
        "('corner-pin', 'point-pairs', 'structured-light', 'manual')",
    ),
    ({"points": True}, "points must be an integer >= 0, got True"),
    ({"points": -1}, "points must be an integer >= 0, got -1"),
    ({"points": 1.5}, "points must be an integer >= 0, got 1.5"),
    ({"residual_rms_px": -0.5}, "residual_rms_px must be a finite number >= 0, got -0.5"),
    ({"residual_max_px": float("inf")}, "residual_max_px must be a finite number >= 0, got inf"),
]


@pytest.mark.parametrize(("kwargs", "message"), MODEL_ERRORS)
def test_a_surface_calibration_names_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError) as error:
        SurfaceCalibration("left", np.eye(3), **kwargs)
    assert str(error.value) == message


def test_a_surface_calibration_keeps_its_own_frozen_copies_and_accepts_the_bounds():
    mesh = np.zeros((64, 2, 2))
    pairs = [[0, 0], [1, 1]]
    s = SurfaceCalibration(
        "left",
        np.eye(3, dtype=np.float32),
        points=0,
        residual_rms_px=0.0,
        residual_max_px=0,
        mesh_offsets_px=mesh,
        pairs_canvas_px=pairs,
        pairs_projector_px=pairs,
    )
    mesh[0, 0, 0] = 5.0
    assert s.mesh_offsets_px[0, 0, 0] == 0.0 and s.mesh_offsets_px.dtype == np.float64
    assert not s.mesh_offsets_px.flags.writeable
    assert s.H_canvas_to_projector.dtype == np.float64
    assert not s.H_canvas_to_projector.flags.writeable
    assert s.pairs_projector_px.tolist() == pairs and s.pairs_projector_px.dtype == np.float64
    assert (s.points, s.residual_rms_px, s.residual_max_px) == (0, 0.0, 0.0)
    assert type(s.points) is int and type(s.residual_max_px) is float
    assert SurfaceCalibration(
        "left", np.eye(3), mesh_offsets_px=np.zeros((2, 64, 2))
    ).mesh_offsets_px.shape == (2, 64, 2)


def test_a_singular_matrix_is_refused_with_the_validators_words():
    with pytest.raises(ValueError, match=r"^H_canvas_to_projector is singular: \|det\| relative"):
        SurfaceCalibration("left", np.array([[1, 2, 3], [2, 4, 6], [0, 0, 1]], float))


def test_a_calibration_file_checks_its_names_surfaces_and_version():
    surface = SurfaceCalibration("left", np.eye(3))
    with pytest.raises(ValueError, match=r"^surface names must be non-empty strings, got ''$"):
        CalibrationFile({"": surface})
    with pytest.raises(ValueError, match=r"^surface names must be non-empty strings, got 5$"):
        CalibrationFile({5: surface})
    with pytest.raises(TypeError, match=r"^surface 'a': expected SurfaceCalibration, got 5$"):
        CalibrationFile({"a": 5})
    with pytest.raises(ValueError, match=r"^schema_version 7 not supported; supported: \(1,\)$"):
        CalibrationFile({}, schema_version=7)


@pytest.mark.parametrize("history", [-1, True, 2.0])
def test_history_must_be_a_whole_number_of_copies(tmp_path, history):
    with pytest.raises(ValueError, match=rf"^history must be an integer >= 0, got {history!r}$"):
        save_calibration(tmp_path / "venue.toml", sample_file(), history=history)


def test_a_single_history_version_is_found_by_its_iso_time_to_the_second(tmp_path):
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    save_calibration(path, sample_file())
    (entry,) = store.list_history(path)
    assert store.find_history(path, entry.saved.strftime("%Y-%m-%dT%H:%M:%SZ")) == entry


def test_calibrations_differing_in_any_array_are_not_equal():
    shift = np.array([[1.0, 0, 5], [0, 1, 0], [0, 0, 1]])
    assert SurfaceCalibration("left", np.eye(3)) != SurfaceCalibration("left", shift)
    p, q = [[0.0, 0.0]], [[1.0, 0.0]]
    a = SurfaceCalibration("left", np.eye(3), pairs_canvas_px=p, pairs_projector_px=p)
    assert a != SurfaceCalibration("left", np.eye(3), pairs_canvas_px=q, pairs_projector_px=p)
    assert a != SurfaceCalibration("left", np.eye(3), pairs_canvas_px=p, pairs_projector_px=q)
    wide = SurfaceCalibration("left", np.eye(3), mesh_offsets_px=np.zeros((2, 4, 2)))
    tall = SurfaceCalibration("left", np.eye(3), mesh_offsets_px=np.zeros((4, 2, 2)))
    assert wide != tall  # the same bytes in another shape
    assert type(SurfaceCalibration("left", np.eye(3), points=np.int64(3)).points) is int


def test_every_bad_entry_of_a_blend_table_is_reported(tmp_path):
    text = HEAD + "[blend.edges]\nleft = 5\nright = 6\n"
    assert [p.key_path for p in problems_of(write(tmp_path, text))] == [
        "blend.edges.left",
        "blend.edges.right",
    ]
    text = HEAD + "[blend.edges.left]\nright = 5\ntop = 6\n[blend.edges.left.left]\n"
    text += "[blend.edges.right.right]\n"
    assert [p.key_path for p in problems_of(write(tmp_path, text))] == [
        "blend.edges.left.right",
        "blend.edges.left.top",
        "blend.edges.left.left",
        "blend.edges.right.right",
    ]


def test_a_file_without_surfaces_loads_empty(tmp_path):
    cal = load_calibration(write(tmp_path, "schema_version = 1\n"))
    assert dict(cal.surfaces) == {} and cal.blend is None


def test_updating_a_folder_is_refused_as_when_loading(tmp_path):
    folder = tmp_path / "venue.toml"
    folder.mkdir()
    with pytest.raises(ValidationError) as error:
        store.update_calibration(folder, lambda cal: cal)
    assert [p.message for p in error.value.problems] == ["is a folder, expected a calibration file"]


def test_a_file_saved_through_a_linked_folder_keeps_the_path_it_was_given(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    path = tmp_path / "link" / "venue.toml"
    assert save_calibration(path, sample_file()).source.path == path
    assert (tmp_path / "real" / "venue.toml").is_file()


def test_a_new_file_is_created_readable_not_executable(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = tmp_path / "venue.toml"
    save_calibration(path, sample_file())
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_twenty_previous_versions_are_kept_by_default(tmp_path):
    path = tmp_path / "venue.toml"
    for _ in range(22):
        save_calibration(path, sample_file())
    assert len(history_files(path)) == 20
