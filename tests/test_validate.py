"""Spec for mapping.validate: one set of rules and words for numbers and matrices in every file.

A show file's ``homography`` and a calibration file's ``H_canvas_to_projector`` go through
the same validator, so the same matrix is accepted or rejected by both loaders with the
same message, each naming its own file, key path and line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from calibration.store import SurfaceCalibration, load_calibration
from mapping import geometry, validate
from mapping.errors import Problem, ValidationError
from mapping.show import load_show

# The cornice homography of the demo show (surfaces[3]) and the right wing's calibration.
CORNICE = np.array(
    [
        [1.449728729, -0.036812336, -1073.693598163],
        [-0.055994721, 0.777291943, -4.658402439],
        [-3.9562e-05, -6.1418e-05, 1.0],
    ]
)
CORNICE_TEXT = (
    "homography = [\n  [1.449728729, -0.036812336, -1073.693598163],\n"
    "  [-0.055994721, 0.777291943, -4.658402439],\n"
    "  [-3.9562e-05, -6.1418e-05, 1.0],\n]"
)
CALIBRATION_MATRIX_TEXT = (
    "H_canvas_to_projector = [\n    [1.449728729, -0.036812336, -1073.693598163],\n"
    "    [-0.055994721, 0.777291943, -4.658402439],\n"
    "    [-3.9562e-05, -6.1418e-05, 1.0],\n]"
)
HUGE_1E308 = "[[1e308, 0.0, 0.0], [0.0, 1e308, 0.0], [0.0, 0.0, 1e308]]"


def toml_matrix(H: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in H) + "]"


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(file: Path, snippet: str) -> int:
    text = file.read_text(encoding="utf-8")
    return text[: text.index(snippet)].count("\n") + 1


def problems_of(load, path: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        load(path)
    return info.value.problems


@pytest.fixture
def show_file(show_dir: Path) -> Path:
    return show_dir / "show.toml"


@pytest.fixture
def calibration_file(show_dir: Path) -> Path:
    return (show_dir.parent / "calibrations" / "demo-venue.toml").resolve()


def put_matrix(show_file: Path, calibration_file: Path, matrix: str) -> None:
    """The same matrix as the show's cornice homography and the calibration's right wing."""
    edit(show_file, CORNICE_TEXT, f"homography = {matrix}")
    edit(calibration_file, CALIBRATION_MATRIX_TEXT, f"H_canvas_to_projector = {matrix}")


# --- one matrix, one verdict, in both files -------------------------------------------------


def test_a_matrix_of_1e308_is_rejected_identically_by_both_loaders(
    show_dir: Path, show_file: Path, calibration_file: Path
) -> None:
    put_matrix(show_file, calibration_file, HUGE_1E308)
    problems = problems_of(load_show, show_dir)
    by_file = {p.file: p for p in problems}
    assert set(by_file) == {show_file, calibration_file}, problems

    in_show, in_calibration = by_file[show_file], by_file[calibration_file]
    assert in_show.key_path == "surfaces[3].homography"
    assert in_show.line == line_of(show_file, "homography = [[1e308")
    assert in_calibration.key_path == "surfaces.right-wing.H_canvas_to_projector"
    assert in_calibration.line == line_of(calibration_file, "H_canvas_to_projector =")
    assert in_show.message == in_calibration.message
    assert "too large to apply to pixel coordinates without overflow" in in_show.message
    assert "defined up to scale" in in_show.message
    # The calibration loader on its own says the same.
    [alone] = problems_of(load_calibration, calibration_file)
    assert alone == in_calibration


CORNICE_UNIT = CORNICE / np.max(np.abs(CORNICE))  # largest entry exactly 1


@pytest.mark.parametrize(
    "H",
    [1e-300 * CORNICE, 1e-200 * CORNICE, 1e-9 * CORNICE, 1e9 * CORNICE, 1e300 * CORNICE_UNIT],
    ids=["1e-300", "1e-200", "1e-9", "1e9", "1e300-unit"],
)
def test_uniformly_scaled_valid_homographies_are_accepted_by_both_and_normalised(
    show_dir: Path, show_file: Path, calibration_file: Path, H: np.ndarray
) -> None:
    # A homography is defined up to scale: k·H is the same mapping for any k ≠ 0 as long
    # as its largest entry stays within [MIN_ENTRY, MAX_ENTRY]. Both loaders accept it
    # and hand on H[2, 2] == 1.
    put_matrix(show_file, calibration_file, toml_matrix(H))
    show = load_show(show_dir)
    expected = CORNICE / CORNICE[2, 2]
    for name in ("cornice-right", "right-wing", "pier-right"):
        (surface,) = [s for s in show.surfaces if s.name == name]
        np.testing.assert_allclose(surface.H_canvas_to_projector, expected, rtol=1e-14)
        # what the renderer does with it: invert and normalise (no "matrix is all zeros")
        H_projector_to_canvas = geometry.normalize_homography(surface.H_projector_to_canvas)
        product = H_projector_to_canvas @ expected
        np.testing.assert_allclose(product / product[2, 2], np.eye(3), rtol=0, atol=1e-12)
    # The calibration file keeps its numbers exactly as written.
    cal = load_calibration(calibration_file)
    doc = tomllib.loads(calibration_file.read_text(encoding="utf-8"))
    written = np.array(doc["surfaces"]["right-wing"]["H_canvas_to_projector"])
    assert cal.surfaces["right-wing"].H_canvas_to_projector.tobytes() == written.tobytes()


@pytest.mark.parametrize(
    ("scale", "words"),
    [
        # 1e300 · CORNICE has an entry of 1.07e303: a point 1e6 px away overflows
        (1e300, "too large to apply to pixel coordinates without overflow"),
        (1e-312, "too close to zero to normalise"),
    ],
)
def test_scales_without_headroom_are_rejected_identically(
    show_dir: Path, show_file: Path, calibration_file: Path, scale: float, words: str
) -> None:
    put_matrix(show_file, calibration_file, toml_matrix(scale * CORNICE))
    problems = problems_of(load_show, show_dir)
    assert len(problems) == 2
    assert problems[0].message == problems[1].message
    assert words in problems[0].message


def test_surface_calibration_and_geometry_use_the_same_rule() -> None:
    huge = np.eye(3) * 1e308
    with pytest.raises(ValueError, match="without overflow"):
        SurfaceCalibration(output="left", H_canvas_to_projector=huge)
    with pytest.raises(ValueError, match="without overflow"):
        geometry.normalize_homography(huge)
    H = geometry.normalize_homography(1e-300 * CORNICE)
    np.testing.assert_allclose(H, CORNICE, rtol=1e-14)


@pytest.mark.parametrize(
    ("H", "words"),
    [
        (np.zeros((3, 3)), "all zeros"),
        (np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]), "singular"),
        (np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 0]]), "third row is all zero"),
        (np.array([[1.0, 0, 0], [0, 1e-12, 0], [0, 0, 1]]), "singular"),
        (np.array([[1.0, 0, 0], [0, np.inf, 0], [0, 0, 1]]), "not finite at [1][1]"),
    ],
)
def test_unusable_matrices(H: np.ndarray, words: str) -> None:
    message = validate.homography_problem(H)
    assert message is not None and words in message
    assert message.startswith(("H_canvas_to_projector", "expected"))


def test_a_badly_conditioned_matrix_is_rejected_even_when_its_determinant_passes() -> None:
    squash = np.diag([1.0, 1e-9, 1.0])  # 1000 canvas px tall → a millionth of a pixel
    assert validate.homography_problem(np.diag([1.0, 1e-3, 1e-3])) is None  # condition 1e3
    message = validate.homography_problem(squash)
    assert message is not None
    assert "too badly conditioned" in message and "condition number 1e+09" in message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([[1, 0], [0, 1]], "got shape (2, 2): array [[1, 0], [0, 1]]"),
        (3.0, "got number 3.0"),
        ([[1, 0, 0], [0, "one", 0], [0, 0, 1]], "not numbers: [1][1] = string 'one'"),
        ([[1, 0, 0], [0, True, 0], [0, 0, 1]], "[1][1] = boolean true"),
        ([[10**400, 0, 0], [0, 1, 0], [0, 0, 1]], "finite"),
    ],
)
def test_homography_shape_and_type_messages(value: object, words: str) -> None:
    check = validate.check_homography(value)
    assert check.H is None
    (message,) = check.problems
    assert words in message
    assert "3×3 H_canvas_to_projector" in message or "H_canvas_to_projector entries" in message


# --- numbers and descriptions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "boolean true"),
        ("hd", "string 'hd'"),
        (1.5, "number 1.5"),
        ([1, 2], "array [1, 2]"),
        ({"a": 1}, "a table"),
        ("x" * 100, "string '" + "x" * 56 + "..."),
    ],
)
def test_describe(value: object, text: str) -> None:
    assert validate.describe(value) == text


@pytest.mark.parametrize(
    ("value", "lo", "hi", "message"),
    [
        (1.5, 0.0, 1.0, "expected a number between 0.0 and 1.0, got 1.5"),
        (-1, 0.0, None, "expected a number at least 0.0, got -1"),
        ("x", 0.0, None, "expected a number at least 0.0, got string 'x'"),
        (True, None, None, "expected a number, got boolean true"),
        (float("nan"), None, None, "expected a number, got number nan"),
        (10**400, None, None, "expected a number, got number 1" + "0" * 400),
        (0.5, 0.0, 1.0, None),
    ],
)
def test_number_problem(value: object, lo: float | None, hi: float | None, message: str | None):
    assert validate.number_problem(value, lo, hi) == message


def test_integer_problem() -> None:
    assert validate.integer_problem(3) is None
    assert validate.integer_problem(-1) == "expected an integer ≥ 0, got number -1"
    assert validate.integer_problem(2.0, lo=1) == "expected an integer ≥ 1, got number 2.0"


# --- key path → line ------------------------------------------------------------------------

TEXT = """\
schema_version = 1          # line 1

[surfaces.wall-left]
output = "left"
H_canvas_to_projector = [
    [1.0, 0.0, 0.0],
    [0.0, 1.0, 0.0],
    [0.0, 0.0, 1.0],
]
method = "manual"           # line 10

[surfaces."door.arch"]
output = "right"
calibration = { file = "x.toml" }

[[layers]]
name = "a"

[[layers]]
name = "b"                  # line 20
[layers.extra]
deep.key = 3
"""


@pytest.mark.parametrize(
    ("key_path", "line"),
    [
        ("schema_version", 1),
        ("surfaces.wall-left", 3),
        ("surfaces.wall-left.H_canvas_to_projector", 5),
        ("surfaces.wall-left.method", 10),  # matrix rows are not mistaken for headers
        ('surfaces."door.arch".output', 13),
        ('surfaces."door.arch".calibration.file', 14),  # inside an inline table: its key
        ('surfaces."door.arch".missing', 12),  # a missing key: its table's header
        ("layers[0].name", 17),
        ("layers[1]", 19),
        ("layers[1].name", 20),
        ("layers[1].extra.deep.key", 22),
        ("layers[5].name", None),
        ("nothing", None),
    ],
)
def test_line_of(key_path: str, line: int | None) -> None:
    assert validate.line_of(TEXT, key_path) == line


def test_toml_syntax_problem_has_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as info:
        tomllib.loads('a = 1\nb = "open\n')
    problem = validate.toml_syntax_problem(tmp_path / "x.toml", info.value)
    assert problem.line == 2
    assert problem.message.startswith("TOML syntax error: ")
    assert problem.file == tmp_path / "x.toml"


@pytest.mark.parametrize("scale", [1e20, 1e-300])
def test_a_scaled_calibration_renders_exactly_like_the_original(
    ctx, show_dir: Path, calibration_file: Path, scale: float
) -> None:
    # Before the shared validator, 1e20·H passed loading and the renderer died with
    # "matrix is all zeros" (its inverse looked like zero). Same mapping, same picture.
    from mapping.cues import CueEngine
    from mapping.gl.renderer import Renderer

    def render() -> np.ndarray:
        show = load_show(show_dir)
        renderer = Renderer(ctx, show)
        try:
            renderer.render(CueEngine.at_cue(show, "emblem").tick(1.0))
            assert not renderer.errors
            return renderer.read_output("right").copy()
        finally:
            renderer.release()

    original = render()
    edit(
        calibration_file,
        CALIBRATION_MATRIX_TEXT,
        f"H_canvas_to_projector = {toml_matrix(scale * CORNICE)}",
    )
    scaled = render()
    assert original.any()
    assert np.array_equal(original, scaled)
