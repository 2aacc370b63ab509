"""Broken show folders: every problem names the file, the key path, the line and what was expected.

Each test edits a fresh copy of ``shows/demo`` (with ``shows/calibrations`` beside it) the way
a person might break it, and checks the :class:`~mapping.errors.ValidationError` that
``load_show`` raises. Loading collects *every* problem in one pass; no test here needs GL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.errors import Problem, ValidationError
from mapping.show import load_show

REPO = Path(__file__).resolve().parents[1]

WING_CORNERS = "corners = [[96, 38], [1188, 84], [1214, 700], [70, 684]]"
CORNICE_H = (
    "homography = [\n  [1.449728729, -0.036812336, -1073.693598163],\n"
    "  [-0.055994721, 0.777291943, -4.658402439],\n"
    "  [-3.9562e-05, -6.1418e-05, 1.0],\n]"
)
CALIBRATION_REF = 'calibration = { file = "../calibrations/demo-venue.toml" }'


@pytest.fixture
def show_file(show_dir: Path) -> Path:
    return show_dir / "show.toml"


@pytest.fixture
def calibration_file(show_dir: Path) -> Path:
    return show_dir.parent / "calibrations" / "demo-venue.toml"


def edit(file: Path, old: str, new: str, count: int = 1) -> None:
    """Replace the first ``count`` occurrences of ``old`` (which must be there) with ``new``."""
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(file: Path, snippet: str) -> int:
    """1-based line where ``snippet`` first occurs in ``file``."""
    text = file.read_text(encoding="utf-8")
    assert snippet in text, f"{snippet!r} not in {file}"
    return text[: text.index(snippet)].count("\n") + 1


def problems_of(show_dir: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        load_show(show_dir)
    problems = info.value.problems
    assert problems
    # the exception's message lists every problem, one a line
    assert str(info.value).splitlines() == [str(p) for p in problems]
    return problems


def the_problem(problems: list[Problem], key_path: str) -> Problem:
    """The one problem at ``key_path``."""
    found = [p for p in problems if p.key_path == key_path]
    assert len(found) == 1, f"expected one problem at {key_path!r}, got: {problems}"
    return found[0]


def assert_only(problems: list[Problem], key_path: str, *fragments: str) -> Problem:
    """``problems`` is exactly one problem, at ``key_path``, whose message has ``fragments``."""
    assert [p.key_path for p in problems] == [key_path], problems
    return assert_says(problems[0], *fragments)


def assert_says(problem: Problem, *fragments: str) -> Problem:
    for fragment in fragments:
        assert fragment in problem.message, f"{fragment!r} not in {problem.message!r}"
    return problem


# --- the file itself ------------------------------------------------------------------------


def test_a_folder_without_show_toml(tmp_path: Path) -> None:
    problem = assert_only(problems_of(tmp_path), "", "show file not found", "show.toml")
    assert problem.file == tmp_path / "show.toml"


def test_toml_syntax_error_names_the_line(show_dir: Path, show_file: Path) -> None:
    edit(show_file, 'name = "left"', 'name = "left')
    problem = assert_only(problems_of(show_dir), "", "TOML syntax error")
    assert problem.file == show_file
    assert problem.line == line_of(show_file, 'name = "left')


def test_problems_print_as_file_line_key_path_message(show_dir: Path, show_file: Path) -> None:
    edit(show_file, "opacity = 0.0", "opacity = 1.5")
    (problem,) = problems_of(show_dir)
    line = line_of(show_file, "opacity = 1.5")
    assert str(problem) == (
        f"{show_file}:{line}: layers[1].opacity: expected a number between 0.0 and 1.0, got 1.5"
    )


# --- schema_version -------------------------------------------------------------------------


def test_missing_schema_version(show_dir: Path, show_file: Path) -> None:
    edit(show_file, "schema_version = 1\n", "")
    assert_only(problems_of(show_dir), "schema_version", "missing")


@pytest.mark.parametrize("version", ["2", "true", '"1"'])
def test_unsupported_schema_version(show_dir: Path, show_file: Path, version: str) -> None:
    edit(show_file, "schema_version = 1", f"schema_version = {version}")
    problem = assert_only(problems_of(show_dir), "schema_version", "unsupported version", "1")
    assert problem.line == line_of(show_file, "schema_version")


# --- unknown keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key_path", "meant"),
    [
        ("opacity = 0.0", "opacty = 0.0", "layers[1].opacty", "opacity"),
        ("display = 0", "dispay = 0", "outputs[0].dispay", "display"),
        (WING_CORNERS, WING_CORNERS.replace("corners", "coners"), "surfaces[0].coners", "corners"),
        ("fade = 2.0", "fdae = 2.0", "cues[1].fdae", "fade"),
        # inside one layer's state in a cue (planted-bug regression, issue 13)
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacty = 0.5",
            "cues[2].layers.logo.opacty",
            "opacity",
        ),
        (
            "size = [1600, 900]",
            "size = [1600, 900]\nrefrence = 'x.png'",
            "canvas.refrence",
            "reference",
        ),
        ("schema_version = 1", "schema_version = 1\nnmae = 'x'", "nmae", "name"),
    ],
)
def test_unknown_key_suggests_the_key_meant(
    show_dir: Path, show_file: Path, old: str, new: str, key_path: str, meant: str
) -> None:
    edit(show_file, old, new)
    problem = the_problem(problems_of(show_dir), key_path)
    assert_says(problem, f"did you mean '{meant}'?", "expected one of")
    assert problem.file == show_file
    assert problem.line == line_of(show_file, key_path.rsplit(".", 1)[-1] + " =")


def test_misspelt_corners_leave_the_surface_without_a_mapping(
    show_dir: Path, show_file: Path
) -> None:
    edit(show_file, WING_CORNERS, WING_CORNERS.replace("corners", "coners"))
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == ["surfaces[0].coners", "surfaces[0]"]
    assert_says(problems[1], "exactly one of corners, homography, calibration; got none")


def test_misspelt_required_key_is_unknown_and_the_real_one_missing(
    show_dir: Path, show_file: Path
) -> None:
    edit(show_file, "resolution = [1280, 720]", "resoluton = [1280, 720]")
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == ["outputs[0].resoluton", "outputs[0].resolution"]
    assert_says(problems[0], "did you mean 'resolution'?")
    assert problems[0].line == line_of(show_file, "resoluton")
    assert_says(problems[1], "missing (required)")
    assert problems[1].line == line_of(show_file, "[[outputs]]")  # its own table, not the next


def test_missing_key_points_at_its_own_table(show_dir: Path, show_file: Path) -> None:
    edit(show_file, 'output = "left"\npolygon = [[100, 150]', "polygon = [[100, 150]")
    problem = assert_only(problems_of(show_dir), "surfaces[0].output", "missing (required)")
    assert problem.line == line_of(show_file, "[[surfaces]]")


# --- wrong types and values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key_path", "fragments"),
    [
        (
            "resolution = [1280, 720]",
            'resolution = "1280x720"',
            "outputs[0].resolution",
            ("expected [width, height] in pixels", "string '1280x720'"),
        ),
        (
            "size = [1600, 900]",
            "size = [1600, 0]",
            "canvas.size",
            ("expected [width, height] in pixels (integers 1..16384)",),
        ),
        ("display = 0", "display = -1", "outputs[0].display", ("expected an integer 0..63",)),
        ("position = [0, 0]", "position = [0.5, 0]", "outputs[0].position", ("[x, y] integers",)),
        ("opacity = 0.0", "opacity = 1.5", "layers[1].opacity", ("between 0.0 and 1.0", "1.5")),
        ("opacity = 0.0", 'opacity = "50%"', "layers[1].opacity", ("expected a number", "'50%'")),
        (
            'blend = "screen"',
            'blend = "overlay"',
            "layers[1].blend",
            ("unknown blend mode 'overlay'", "normal, add, multiply, screen"),
        ),
        (
            'kind = "video"',
            'kind = "vdeo"',
            "layers[1].kind",
            (
                "unknown kind 'vdeo'",
                "did you mean 'video'?",
                "solid, image, video, shader, live, audio, isf",
            ),
        ),
        (
            "region = [130, 240, 640, 360]",
            "region = [130, 240, 0, 360]",
            "layers[1].region",
            (
                "[x, y, width, height] in canvas pixels, x and y -65536..65536, "
                "width and height 0.01..16384",
            ),
        ),
        (
            'blend = "screen"',
            'blend = "screen"\nloop = "yes"',
            "layers[1].loop",
            ("true or false",),
        ),
        ('color = "#ffd9a8"', 'color = "#ffd9a"', "layers[3].color", ('"#rrggbb"', "'#ffd9a'")),
        ('color = "#ffd9a8"', "color = [1, 0.5, 2]", "layers[3].color", ("values 0..1",)),
        ("fade = 2.0", "fade = -1", "cues[1].fade", ("between 0.0 and 86400.0 s", "-1")),
    ],
)
def test_wrong_type_or_value_says_what_was_expected(
    show_dir: Path, show_file: Path, old: str, new: str, key_path: str, fragments: tuple
) -> None:
    edit(show_file, old, new)
    problem = assert_only(problems_of(show_dir), key_path, *fragments)
    assert problem.line == line_of(show_file, new.splitlines()[-1])


def test_content_key_of_another_kind(show_dir: Path, show_file: Path) -> None:
    edit(show_file, 'shader = "shaders/aurora.glsl"', 'file = "shaders/aurora.glsl"')
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == ["layers[0].file", "layers[0].shader"]
    assert_says(
        problems[0], "'file' is for image, video and audio layers", "a shader layer takes 'shader'"
    )
    assert_says(problems[1], "missing (required)")


# --- surfaces -------------------------------------------------------------------------------


def test_surface_on_an_unknown_output(show_dir: Path, show_file: Path) -> None:
    edit(show_file, 'output = "left"', 'output = "lft"')
    problem = assert_only(
        problems_of(show_dir),
        "surfaces[0].output",
        "unknown output 'lft'",
        "did you mean 'left'?",
        "outputs are: left, right",
    )
    assert problem.line == line_of(show_file, 'output = "lft"')


@pytest.mark.parametrize(
    ("corners", "fragments"),
    [
        ("[[0, 0], [100, 0], [200, 0], [0, 100]]", ("corners 0, 1 and 2 are collinear",)),
        ("[[96, 38], [1188, 84], [70, 684], [1214, 700]]", ("self-intersecting", "bow-tie")),
    ],
    ids=["three-collinear", "bow-tie"],
)
def test_degenerate_corner_pin(
    show_dir: Path, show_file: Path, corners: str, fragments: tuple
) -> None:
    edit(show_file, WING_CORNERS, f"corners = {corners}")
    problem = assert_only(
        problems_of(show_dir), "surfaces[0].corners", "degenerate corner pin", *fragments
    )
    assert problem.line == line_of(show_file, f"corners = {corners}")


def test_degenerate_pins(show_dir: Path, show_file: Path) -> None:
    edit(show_file, WING_CORNERS, f"pins = [[0, 0], [1, 1], [2, 2], [0, 5]]\n{WING_CORNERS}")
    assert_only(problems_of(show_dir), "surfaces[0].pins", "degenerate pins", "collinear")


@pytest.mark.parametrize(
    ("polygon", "fragments"),
    [
        ("[[100, 150], [800, 150], [100, 900], [600, 900]]", ("edges 1-2 and 3-0 cross",)),
        ("[[100, 150], [800, 150]]", ("at least 3 points, got 2",)),
        ("[[100, 150], [800, 150], [1500, 150]]", ("collinear",)),
        ("[100, 150, 800, 150]", ("expected a list of [x, y] points",)),
    ],
    ids=["self-intersecting", "two-points", "no-area", "flat-list"],
)
def test_bad_surface_polygon(
    show_dir: Path, show_file: Path, polygon: str, fragments: tuple
) -> None:
    old = "polygon = [[100, 150], [800, 150], [800, 900], [100, 900]]"
    edit(show_file, old, f"polygon = {polygon}")
    problem = assert_only(problems_of(show_dir), "surfaces[0].polygon", *fragments)
    assert problem.line == line_of(show_file, f"polygon = {polygon}")


def test_corners_and_homography_together(show_dir: Path, show_file: Path) -> None:
    edit(show_file, WING_CORNERS, f"{WING_CORNERS}\nhomography = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]")
    problem = assert_only(
        problems_of(show_dir),
        "surfaces[0]",
        "expected exactly one of corners, homography, calibration",
        "got corners, homography",
    )
    assert problem.line == line_of(show_file, "[[surfaces]]")


def test_surface_without_a_mapping(show_dir: Path, show_file: Path) -> None:
    edit(show_file, WING_CORNERS, "")
    assert_only(problems_of(show_dir), "surfaces[0]", "exactly one of", "got none")


def test_pins_without_corners(show_dir: Path, show_file: Path) -> None:
    edit(show_file, CORNICE_H, "pins = [[0, 0], [1, 0], [1, 1], [0, 1]]\n" + CORNICE_H)
    assert_only(problems_of(show_dir), "surfaces[3].pins", "pins only go with corners")


@pytest.mark.parametrize(
    ("matrix", "fragments"),
    [
        ("[[1, 2, 3], [2, 4, 6], [0, 0, 1]]", ("singular",)),
        ("[[0, 0, 0], [0, 0, 0], [0, 0, 0]]", ("all zeros",)),
        ("[[1, 0], [0, 1]]", ("3×3", "shape (2, 2)")),
    ],
    ids=["singular", "zero", "not-3x3"],
)
def test_bad_homography(show_dir: Path, show_file: Path, matrix: str, fragments: tuple) -> None:
    edit(show_file, CORNICE_H, f"homography = {matrix}")
    problem = assert_only(
        problems_of(show_dir), "surfaces[3].homography", "H_canvas_to_projector", *fragments
    )
    assert problem.line == line_of(show_file, "homography =")


def test_homography_that_sends_the_polygon_through_infinity(
    show_dir: Path, show_file: Path
) -> None:
    # w = 1 - x / 1000 changes sign inside the cornice (x from 800 to 1500)
    edit(show_file, CORNICE_H, "homography = [[1, 0, 0], [0, 1, 0], [-0.001, 0, 1]]")
    assert_only(problems_of(show_dir), "surfaces[3].homography", "through infinity")


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key_path"),
    [
        ("media/logo.png", "media/logo2.png", "layers[2].file"),
        ("media/clip.mp4", "clips/clip.mp4", "layers[1].file"),
        ("shaders/aurora.glsl", "shaders/aurora2.glsl", "layers[0].shader"),
        ('reference = "media/facade.png"', 'reference = "facade.png"', "canvas.reference"),
    ],
)
def test_missing_media_or_shader_file_names_the_path(
    show_dir: Path, show_file: Path, old: str, new: str, key_path: str
) -> None:
    edit(show_file, old, new)
    missing = new.split('"')[1] if '"' in new else new
    problem = assert_only(problems_of(show_dir), key_path, f"file not found: {missing}")
    assert str((show_dir / missing).resolve()) in problem.message
    assert problem.line == line_of(show_file, missing)


def test_deleted_media_file(show_dir: Path) -> None:
    (show_dir / "media" / "clip.mp4").unlink()
    assert_only(problems_of(show_dir), "layers[1].file", "file not found: media/clip.mp4")


# --- calibration files ----------------------------------------------------------------------


def test_calibration_file_missing(show_dir: Path, show_file: Path) -> None:
    edit(show_file, "demo-venue.toml", "venue.toml")
    problem = assert_only(
        problems_of(show_dir),
        "surfaces[1].calibration.file",
        "file not found: ../calibrations/venue.toml",
    )
    assert problem.line == line_of(show_file, "venue.toml")


def test_calibration_file_lacking_the_surface(show_dir: Path, show_file: Path) -> None:
    edit(show_file, CALIBRATION_REF, CALIBRATION_REF.replace(" }", ', surface = "west-wing" }'))
    assert_only(
        problems_of(show_dir),
        "surfaces[1].calibration",
        "demo-venue.toml has no surface 'west-wing'",
        "it has: right-wing",
    )


def test_calibration_made_for_another_output(show_dir: Path, calibration_file: Path) -> None:
    edit(calibration_file, 'output = "right"', 'output = "left"')
    problems = problems_of(show_dir)
    # both surfaces that use the 'right-wing' entry are on output 'right'
    assert [p.key_path for p in problems] == ["surfaces[1].calibration", "surfaces[5].calibration"]
    for problem in problems:
        assert "calibration for 'right-wing' was made for output 'left'" in problem.message
        assert "the surface is on output 'right'" in problem.message


def test_problems_inside_the_calibration_file_name_that_file(
    show_dir: Path, calibration_file: Path
) -> None:
    edit(calibration_file, 'method = "point-pairs"', 'method = "pointpairs"')
    problem = assert_only(
        problems_of(show_dir), "surfaces.right-wing.method", "did you mean 'point-pairs'?"
    )
    assert problem.file == calibration_file.resolve()


# --- cues -----------------------------------------------------------------------------------


def test_cue_naming_an_unknown_layer(show_dir: Path, show_file: Path) -> None:
    edit(show_file, "[cues.layers.logo]", "[cues.layers.lgo]")
    problem = assert_only(
        problems_of(show_dir), "cues[2].layers.lgo", "unknown layer 'lgo'", "did you mean 'logo'?"
    )
    assert problem.line == line_of(show_file, "[cues.layers.lgo]")


def test_cue_giving_a_file_to_a_shader_layer(show_dir: Path, show_file: Path) -> None:
    edit(
        show_file, "[cues.layers.sky]\nopacity = 0.4", '[cues.layers.sky]\nfile = "media/logo.png"'
    )
    problem = assert_only(
        problems_of(show_dir),
        "cues[0].layers.sky.file",
        "'file' is for image, video and audio layers",
        "layer 'sky' is a shader layer and takes 'shader'",
    )
    assert problem.line == line_of(show_file, 'file = "media/logo.png"\n\n[[cues]]')


def test_cue_with_a_missing_file_or_bad_opacity(show_dir: Path, show_file: Path) -> None:
    edit(show_file, "[cues.layers.logo]\nopacity = 1.0", '[cues.layers.logo]\nfile = "media/x.png"')
    edit(show_file, "[cues.layers.clip]\nopacity = 1.0", "[cues.layers.clip]\nopacity = 2")
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == [
        "cues[1].layers.clip.opacity",
        "cues[2].layers.logo.file",
    ]
    assert_says(problems[0], "between 0.0 and 1.0")
    assert problems[0].line == line_of(show_file, "opacity = 2\n")
    assert_says(problems[1], "file not found: media/x.png")
    assert problems[1].line == line_of(show_file, 'file = "media/x.png"')


# --- duplicate names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key_path", "what"),
    [
        ('name = "right"', 'name = "left"', "outputs[1].name", "duplicate output name 'left'"),
        (
            'name = "right-wing"',
            'name = "left-wing"',
            "surfaces[1].name",
            "duplicate surface name 'left-wing'",
        ),
        (
            'name = "warm-wash"',
            'name = "sky"\nkind = "solid"\ncolor = "#ffd9a8"\n[[layers]]\nname = "warm-wash"',
            "layers[3].name",
            "duplicate layer name 'sky'",
        ),
        ('name = "out"', 'name = "clip"', "cues[3].name", "duplicate cue name 'clip'"),
    ],
)
def test_duplicate_names(
    show_dir: Path, show_file: Path, old: str, new: str, key_path: str, what: str
) -> None:
    edit(show_file, old, new)
    problem = the_problem(problems_of(show_dir), key_path)
    assert_says(problem, what)


# --- several problems at once ---------------------------------------------------------------


def test_every_problem_in_the_file_is_reported_in_file_order(
    show_dir: Path, show_file: Path
) -> None:
    edit(show_file, "schema_version = 1", "schema_version = 2")
    edit(show_file, "resolution = [1280, 720]", 'resolution = "hd"')
    edit(show_file, WING_CORNERS, "corners = [[0, 0], [100, 0], [200, 0], [0, 100]]")
    edit(show_file, "opacity = 0.0", "opacty = 0.0")
    edit(show_file, 'kind = "image"', 'kind = "imag"')
    edit(show_file, 'blend = "multiply"', 'blend = "overlay"')
    edit(show_file, "[cues.layers.clip]", "[cues.layers.clips]")
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == [
        "schema_version",
        "outputs[0].resolution",
        "surfaces[0].corners",
        "layers[1].opacty",
        "layers[2].kind",
        "layers[3].blend",
        "cues[1].layers.clips",
    ]
    assert all(p.file == show_file for p in problems)
    lines = [p.line for p in problems]
    assert None not in lines and lines == sorted(lines)


def test_an_invalid_output_or_layer_causes_no_follow_on_problems(
    show_dir: Path, show_file: Path
) -> None:
    # "right" and "clip" are still declared; surfaces and cues using them stay quiet
    edit(show_file, "resolution = [1280, 720]\ndisplay = 1", "resolution = [0, 720]\ndisplay = 1")
    edit(show_file, 'kind = "video"', 'kind = "vdeo"')
    problems = problems_of(show_dir)
    assert [p.key_path for p in problems] == ["outputs[1].resolution", "layers[1].kind"]


def test_every_bad_field_of_one_table_is_reported_not_just_the_first(show_dir: Path) -> None:
    show_file = show_dir / "show.toml"
    edit(show_file, 'kind = "video"', 'kind = "movie"')
    edit(show_file, 'blend = "screen"', 'blend = "overlay"')
    edit(show_file, "region = [130, 240, 640, 360]", "region = [130, 240, -640, 360]")
    edit(show_file, 'name = "left"\nresolution = [1280, 720]', 'name = "left"\nresolution = "HD"')
    edit(show_file, "display = 0", "display = -1")
    edit(
        show_file,
        'name = "window-left-top-centre"\noutput = "left"\n'
        "polygon = [[380, 260], [520, 260], [520, 440], [380, 440]]",
        'name = "window-left-top-centre"\noutput = "lfet"\n'
        "polygon = [[380, 260], [520, 440], [520, 260], [380, 440]]",
    )
    edit(show_file, "corners = [[543.1, 147.2]", "corners = [[768.3, 304.0]")
    keys = {p.key_path for p in problems_of(show_dir)}
    assert {
        "layers[1].kind",
        "layers[1].blend",
        "layers[1].region",
        "outputs[0].resolution",
        "outputs[0].display",
        "surfaces[2].output",
        "surfaces[2].polygon",
        "surfaces[2].corners",
    } <= keys


# --- cue playback keys and [control] ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key_path", "fragments"),
    [
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\nnumber = 1\nfade = 2.0',
            "cues[1].number",
            ("duplicate cue number '1'",),
        ),
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\nnumber = "2 b"\nfade = 2.0',
            "cues[1].number",
            ("letters, digits", "'2 b'"),
        ),
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\ncurve = "eas-in"\nfade = 2.0',
            "cues[1].curve",
            ("expected one of: linear, ease-in, ease-out, ease-in-out", "did you mean 'ease-in'?"),
        ),
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\nfollow = "auto"\nfade = 2.0',
            "cues[1].follow",
            ("expected one of: none, continue, follow",),
        ),
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\nprewait = -1\nfade = 2.0',
            "cues[1].prewait",
            ("between 0.0 and 86400.0 s", "-1"),
        ),
        (
            'name = "clip"\nfade = 2.0',
            'name = "clip"\nnext = 7\nfade = 2.0',
            "cues[1].next",
            ("unknown cue '7'",),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacty = 1.0",
            "cues[2].layers.logo.opacty",
            ("unknown key", "did you mean 'opacity'?"),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacity = 1.0\nparams = { speed = 2.0 }",
            "cues[2].layers.logo.params.speed",
            ("layer 'logo' declares no parameter 'speed'",),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacity = 1.0\ncurve = 3",
            "cues[2].layers.logo.curve",
            ("expected one of: linear",),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacity = 1.0\n[cues.surfaces.pier-lft]\nvisible = false",
            "cues[2].surfaces.pier-lft",
            ("unknown surface 'pier-lft'", "did you mean 'pier-left'?"),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacity = 1.0\n[cues.surfaces.pier-left]\nvisible = 1",
            "cues[2].surfaces.pier-left.visible",
            ("expected true or false",),
        ),
        (
            "[cues.layers.logo]\nopacity = 1.0",
            "[cues.layers.logo]\nopacity = 1.0\n[cues.outputs.left]\nlevel = 1.5",
            "cues[2].outputs.left.level",
            ("between 0.0 and 1.0",),
        ),
    ],
)
def test_bad_cue_playback_keys(show_dir, show_file, old, new, key_path, fragments) -> None:
    edit(show_file, old, new)
    problem = assert_only(problems_of(show_dir), key_path, *fragments)
    assert problem.line is not None


@pytest.mark.parametrize(
    ("table", "key_path", "fragments"),
    [
        ("osc_port = 70000", "control.osc_port", ("port number 0..65535", "70000")),
        ('allow = ["10.0.0.300"]', "control.allow[0]", ("like 192.168.1.0/24", "10.0.0.300")),
        ("locked = 1", "control.locked", ("expected true or false",)),
        ("osc_prot = 9000", "control.osc_prot", ("unknown key", "did you mean 'osc_port'?")),
    ],
)
def test_bad_control_table(show_dir, show_file, table, key_path, fragments) -> None:
    show_file.write_text(show_file.read_text() + f"\n[control]\n{table}\n")
    assert_only(problems_of(show_dir), key_path, *fragments)


def test_a_valid_control_table_is_read(show_dir, show_file) -> None:
    show_file.write_text(
        show_file.read_text()
        + '\n[control]\nosc_port = 9000\nbind = "0.0.0.0"\nallow = ["192.168.1.7"]\nlocked = true\n'
    )
    control = load_show(show_dir).control
    assert (control.osc_port, control.bind, control.allow, control.locked) == (
        9000,
        "0.0.0.0",
        ("192.168.1.7/32",),
        True,
    )
