"""Specification of ``mapping/validate.py`` by exact messages and literal values: value
descriptions, number and integer ranges at both sides of each bound, point lists, regions,
the homography messages and normalisation, key paths and their lines in TOML text, and
every way reading an input file fails (what is at the path, encoding, nesting, syntax)."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from mapping import validate
from mapping.errors import Problem, ValidationError
from mapping.validate import Range

# --- descriptions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (False, "boolean false"),
        ("", "string ''"),
        ("x" * 58, "string '" + "x" * 58 + "'"),  # 60 characters with the quotes: whole
        ("x" * 59, "string '" + "x" * 56 + "..."),  # 61: cut to 57 and "..."
        (3, "number 3"),
        (-0.25, "number -0.25"),
        ([], "array []"),
        (list(range(19)), "array " + repr(list(range(19)))[:57] + "..."),
        ([1] * 20, "array " + repr([1] * 20)),  # exactly 60 characters
        ({}, "a table"),
        (dt.datetime(2026, 11, 26, 18, 30), "date-time 2026-11-26T18:30:00"),
        (dt.date(2026, 11, 26), "date-time 2026-11-26"),
        (dt.time(18, 30, 5), "date-time 18:30:05"),
        (None, "nothing"),
        ((1, 2), "tuple"),
    ],
)
def test_describe(value, text):
    assert len(repr([1] * 20)) == 60
    assert validate.describe(value) == text


def test_numbers_are_ints_and_floats_not_booleans():
    assert validate.is_number(1) and validate.is_number(1.5) and validate.is_number(float("nan"))
    assert not validate.is_number(True) and not validate.is_number("1")
    assert validate.is_finite_number(10**300) and not validate.is_finite_number(10**400)
    assert not validate.is_finite_number(float("inf")) and not validate.is_finite_number(False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 0.0, 1.0), None),  # both bounds are inside
        ((1.0, 0.0, 1.0), None),
        ((-1e-9, 0.0, 1.0), "expected a number between 0.0 and 1.0, got -1e-09"),
        ((1.000001, 0.0, 1.0), "expected a number between 0.0 and 1.0, got 1.000001"),
        ((5, 5, None), None),
        ((4, 5, None), "expected a number at least 5.0, got 4"),
        ((7, None, 7), None),
        ((8, None, 7), "expected a number at most 7.0, got 8"),
        (
            (float("inf"), None, None, "px"),
            "expected a number, got number inf",
        ),  # no range: no unit
        ((3000, 1, 2000, "px"), "expected a number between 1.0 and 2000.0 px, got 3000"),
        ((-1, 0, None, "s"), "expected a number at least 0.0 s, got -1"),
        ((9, None, 4, "dB"), "expected a number at most 4.0 dB, got 9"),
        (([1], 0, 1), "expected a number between 0.0 and 1.0, got array [1]"),
    ],
)
def test_number_problem(args, message):
    assert validate.number_problem(*args) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0,), None),
        ((-1,), "expected an integer ≥ 0, got number -1"),
        ((5, 5, 9), None),
        ((9, 5, 9), None),
        ((4, 5, 9), "expected an integer 5..9, got number 4"),
        ((10, 5, 9), "expected an integer 5..9, got number 10"),
        ((True, 0, 9), "expected an integer 0..9, got boolean true"),
        ((1.0, 0, 9), "expected an integer 0..9, got number 1.0"),
        (("3", 0), "expected an integer ≥ 0, got string '3'"),
    ],
)
def test_integer_problem(args, message):
    assert validate.integer_problem(*args) == message


def test_ranges_say_what_they_expect_in_the_same_words():
    fps = Range(1, 240, unit="fps")
    assert fps.text == "1..240 fps"
    assert fps.contains(1) and fps.contains(240) and fps.contains(24.5)
    assert not fps.contains(0.5) and not fps.contains(241)
    assert fps.problem(300) == "expected a number between 1.0 and 240.0 fps, got 300"
    count = Range(1, 64, integer=True)
    assert count.text == "1..64"
    assert count.problem(2.0) == "expected an integer 1..64, got number 2.0"
    assert count.problem(65) == "expected an integer 1..64, got number 65"
    assert count.contains(64) and not count.contains(0)
    assert Range(-0.5, 1e15).text == "-0.5..1e+15"
    assert Range(0, 99999999999999.0).text == "0..99999999999999"
    assert Range(0.25, 2.5, unit="s").text == "0.25..2.5 s"


# --- points and regions ---------------------------------------------------------------------


def test_points_problem():
    assert validate.points_problem([[0, 0], [1.5, -2]]) is None
    assert validate.points_problem([[0, 0]] * 4, 4) is None
    assert validate.points_problem([[0, 0]] * 3, 4) == (
        "expected a list of 4 [x, y] points, got array [[0, 0], [0, 0], [0, 0]]"
    )
    assert validate.points_problem([[0, 0, 0]]) == (
        "expected a list of [x, y] points, got array [[0, 0, 0]]"
    )
    assert validate.points_problem([[0, True]]) == (
        "expected a list of [x, y] points, got array [[0, True]]"
    )
    assert validate.points_problem([(0, 1)]).startswith("expected a list of [x, y] points, got")
    assert validate.points_problem("[0, 0]") == (
        "expected a list of [x, y] points, got string '[0, 0]'"
    )
    assert validate.points_problem([[0, float("nan")]]) is not None
    # the count limit, at both sides
    assert validate.points_problem([[0, 0]] * 3, max_count=3) is None
    assert validate.points_problem([[0, 0]] * 4, max_count=3) == (
        "expected a list of [x, y] points (at most 3), got 4 points"
    )
    # coordinates: |x|, |y| ≤ limit, at both sides, on either axis
    assert validate.points_problem([[1e6, -1e6]]) is None
    assert validate.points_problem([[0, 0], [1000001, 0]]) == (
        "expected a list of [x, y] points with coordinates between -1000000 and 1000000, "
        "got point 1 = [1000001, 0]"
    )
    assert validate.points_problem([[0, -1000000.5]]) == (
        "expected a list of [x, y] points with coordinates between -1000000 and 1000000, "
        "got point 0 = [0, -1000000.5]"
    )
    assert validate.points_problem([[2.5, 0]], 1, limit=2.5) is None
    assert validate.points_problem([[2.5, 2.6]], 1, limit=2.5) == (
        "expected a list of 1 [x, y] points with coordinates between -2.5 and 2.5, "
        "got point 0 = [2.5, 2.6]"
    )


def test_region_problem():
    position, size = Range(-100, 100, unit="px"), Range(1, 50)
    assert validate.region_problem([-100, 100, 1, 50], position, size) is None
    expected = (
        "expected [x, y, width, height] in canvas pixels, x and y -100..100 px, "
        "width and height 1..50, got "
    )
    for bad in ([-101, 0, 1, 1], [0, 101, 1, 1], [0, 0, 0.5, 1], [0, 0, 1, 51], [0, 0, 1]):
        assert validate.region_problem(bad, position, size) == expected + validate.describe(bad)
    assert validate.region_problem("x", position, size) == expected + "string 'x'"
    assert validate.region_problem([0, 0, 1, 1, 1], position, size) is not None


# --- homographies ---------------------------------------------------------------------------

EXPECTED = (
    "expected a 3×3 H (row-major array of numbers like "
    "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])"
)


def test_homography_messages_name_the_matrix():
    check = validate.check_homography(np.eye(2), "H")
    assert check.problems == (f"{EXPECTED}, got shape (2, 2)",) and not check.ok
    check = validate.check_homography(np.array([["a"] * 3] * 3), "H")
    assert check.problems == (f"{EXPECTED}, got an array of <U1",)
    check = validate.check_homography([[1, 0, 0], [0, 1, 0]], "H")
    assert check.problems == (f"{EXPECTED}, got shape (2, 3): array [[1, 0, 0], [0, 1, 0]]",)
    check = validate.check_homography([[1, 0, 0], [0, 1, 0], [0, 0]], "H")
    assert check.problems == (f"{EXPECTED}, got array [[1, 0, 0], [0, 1, 0], [0, 0]]",)
    check = validate.check_homography([[1, 0, 0], [0, 1, 0], "abc"], "H")
    assert check.problems[0].endswith("got array [[1, 0, 0], [0, 1, 0], 'abc']")
    check = validate.check_homography([[1, "a", 0], [0, 1, None], [0, 0, 1]], "H")
    assert check.problems == (f"{EXPECTED}; not numbers: [0][1] = string 'a', [1][2] = nothing",)
    check = validate.check_homography([[10**400, 0, 0], [0, 1, 0], [0, 0, 1]], "H")
    assert check.problems == ("H entries must be finite numbers; an integer is too large",)
    check = validate.check_homography(((1, 0, 0), (0, 1, 0), (0, 0, np.float32(1))), "H")
    assert check.ok and check.H.dtype == np.float64
    np.testing.assert_array_equal(check.H, np.eye(3))
    check = validate.check_homography(np.eye(3, dtype=np.int32) * 2)
    assert check.ok and check.H.dtype == np.float64 and check.H[0, 0] == 2.0
    bad = validate.check_homography(np.zeros((3, 3)), "H")
    assert bad.H is None and bad.problems == ("H is all zeros",)


def test_homography_problem_messages():
    assert validate.homography_problem(np.eye(4), "M") == "expected a 3×3 M, got shape (4, 4)"
    nan = np.eye(3)
    nan[0, 2] = np.nan
    nan[2, 0] = np.inf
    assert validate.homography_problem(nan, "M") == (
        "M entries must be finite numbers; not finite at [0][2], [2][0]"
    )
    big = np.eye(3) * 1e302
    assert validate.homography_problem(big, "M") == (
        "M has an entry of 1e+302, too large to apply to pixel coordinates without overflow "
        "(at most 5.99e+301); a homography is defined up to scale, so divide every entry by "
        "the same number"
    )
    tiny = np.eye(3) * 1e-310
    assert validate.homography_problem(tiny, "M") == (
        "M has no entry larger than 1e-310: too close to zero to normalise without losing "
        "precision (the largest entry must be at least 2.23e-308)"
    )
    assert validate.homography_problem(np.diag([1.0, 1.0, 0.0]), "M") == (
        "M is singular: the third row is all zero, which sends every point to infinity"
    )
    message = validate.homography_problem(np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]), "M")
    assert message.startswith("M is singular: |det| relative to the matrix scale is ")
    assert message.endswith(
        "(needs > 1e-10); it squashes the plane onto a line or a point, and a homography "
        "must be invertible"
    )
    assert validate.homography_problem(np.diag([1.0, 1e-9, 1.0]), "M") == (
        "M is too badly conditioned to invert reliably: condition number 1e+09 in kilopixel "
        "units (needs < 1e+08)"
    )


def test_homography_bounds_at_both_sides():
    # the largest entry: at most MAX_ENTRY, at least MIN_ENTRY
    assert validate.MAX_ENTRY == pytest.approx(5.992310449541053e301, rel=1e-15)
    assert validate.homography_problem(np.eye(3) * validate.MAX_ENTRY) is None
    assert validate.homography_problem(np.eye(3) * np.nextafter(validate.MAX_ENTRY, np.inf))
    assert validate.homography_problem(np.eye(3) * 2.2250738585072014e-308) is None
    assert validate.homography_problem(np.eye(3) * 2.2250738585072009e-308)
    # diag(1, 1, d) is itself in kilopixel units: relative |det| = d / (2 + d²)^1.5 and
    # condition number 1 / d. The condition number must be below 1e8 …
    assert validate.homography_problem(np.diag([1.0, 1.0, 1.1e-8])) is None  # 9.1e7
    assert "badly conditioned" in validate.homography_problem(np.diag([1.0, 1.0, 0.9e-8]))
    # … and a relative |det| of 1e-10 or less is named singular instead (d = 2.83e-10)
    assert "badly conditioned" in validate.homography_problem(np.diag([1.0, 1.0, 2.9e-10]))
    assert "is singular: |det|" in validate.homography_problem(np.diag([1.0, 1.0, 2.7e-10]))
    # a third row of zeros is judged after scaling: a tiny nonzero entry is not zero
    assert "third row" not in validate.homography_problem(np.diag([1.0, 1.0, 1e-300]))


def test_normalised_homography():
    H = np.array([[2.0, 0, 4], [0, 2, 6], [0, 0, 2]])
    np.testing.assert_array_equal(validate.normalised_homography(H), H / 2)
    # H[2, 2] ≈ 0 (at most 1e-9 of the largest entry): scaled by the largest entry instead
    H = np.array([[0, 0, 4.0], [0, 4, 0], [4, 0, 4e-9]])
    np.testing.assert_array_equal(validate.normalised_homography(H), H / 4)
    H[2, 2] = 4.4e-9  # just above 1e-9 of it
    np.testing.assert_array_equal(validate.normalised_homography(H), H / 4.4e-9)
    H[2, 2] = -4.4e-9  # a negative H[2, 2] counts by its size
    np.testing.assert_array_equal(validate.normalised_homography(H), H / -4.4e-9)
    np.testing.assert_array_equal(validate.normalised_homography(np.eye(3) * -3), np.eye(3))
    with pytest.raises(ValueError, match=r"^matrix is all zeros$"):
        validate.normalised_homography(np.zeros((3, 3)))


# --- key paths and lines --------------------------------------------------------------------


def test_key_names_and_paths():
    assert validate.key_name("wall-left_2") == "wall-left_2"
    assert validate.key_name("door.arch") == '"door.arch"'
    assert validate.key_name('say "hi"') == '"say \\"hi\\""'
    assert validate.key_name("") == '""'
    assert validate.split_key_path(' surfaces[2]."door.arch".output ') == (
        "surfaces",
        2,
        "door.arch",
        "output",
    )
    assert validate.split_key_path('a.\'b.c\'."q\\"x"[10]') == ("a", "b.c", 'q"x', 10)
    assert validate.split_key_path("") == ()


def test_toml_line_index():
    text = (
        'title = "x"\n'  # 1
        "[a]\n"  # 2
        "b = [\n"  # 3
        "  [1, 2],\n"  # 4
        "  [3, 4],  # a comment ]]]\n"  # 5
        "]\n"  # 6
        "c = '''\n"  # 7
        "[not.a.header]\n"  # 8
        "d = 1\n"  # 9
        "'''\n"  # 10
        'e = """one line"""\n'  # 11
        "[[x.y]]\n"  # 12
        "z = 1\n"  # 13
        "[[x.y]]  # second\n"  # 14
        "[x.y.w]\n"  # 15
        "v = { p = 1 }\n"  # 16
        'g = "["\n'  # 17
        "h = 2\n"  # 18
    )
    index = validate.toml_line_index(text)
    assert index == {
        ("title",): 1,
        ("a",): 2,
        ("a", "b"): 3,
        ("a", "c"): 7,
        ("a", "e"): 11,
        ("x", "y", 0): 12,
        ("x", "y", 0, "z"): 13,
        ("x", "y", 1): 14,
        ("x", "y", 1, "w"): 15,
        ("x", "y", 1, "w", "v"): 16,
        ("x", "y", 1, "w", "g"): 17,
        ("x", "y", 1, "w", "h"): 18,
    }
    assert validate.toml_line_index(text.splitlines()) == index
    assert validate.find_line(index, "x.y[1].w.v.p") == 16
    assert validate.find_line(index, "a.b[1]") == 3


def test_toml_syntax_problem_without_a_line():
    class Error(tomllib.TOMLDecodeError):
        def __str__(self) -> str:
            return "bad"

    problem = validate.toml_syntax_problem(Path("f.toml"), Error("bad"))
    assert problem == Problem(Path("f.toml"), "", "TOML syntax error: bad", None)


# --- reading input files --------------------------------------------------------------------


def _problem(call) -> Problem:
    with pytest.raises(ValidationError) as info:
        call()
    (problem,) = info.value.problems
    return problem


def test_what_is_at_the_path(tmp_path: Path):
    file = tmp_path / "show.toml"
    file.write_text("a = 1\n")
    assert validate.file_problem(file) is None
    assert validate.read_input(file) == b"a = 1\n"
    assert validate.file_problem(tmp_path / "none.toml", "show file") == "show file not found"
    assert validate.file_problem(tmp_path, "show file") == "is a folder, expected a show file"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert validate.file_problem(fifo) == "is a named pipe (FIFO), expected a file"
    assert validate.file_problem(Path("/dev/null")) == "is a device or socket, expected a file"
    dangling = tmp_path / "link.toml"
    dangling.symlink_to(tmp_path / "gone.toml")
    assert validate.file_problem(dangling) == (
        f"file not found: {dangling} is a symlink to a missing file"
    )
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    assert validate.file_problem(loop) == (
        "cannot read file: a symlink loop (a link that points back at itself)"
    )
    assert validate.file_problem(file / "x") == (
        "file not found: a part of the path is a file, not a folder"
    )
    assert validate.file_problem(tmp_path / ("x" * 300)) == "cannot read file: the path is too long"
    assert validate.file_problem(Path("a\0b")).startswith("cannot read file: ")
    problem = _problem(lambda: validate.read_input(tmp_path, "calibration file"))
    assert problem == Problem(tmp_path, "", "is a folder, expected a calibration file")
    if os.geteuid() != 0:  # root reads anything
        file.chmod(0)
        assert validate.file_problem(file) == "cannot read file: permission denied"


def test_encoding_problems_name_the_encoding_and_line(tmp_path: Path):
    f = tmp_path / "x.toml"
    for bom, name in [
        (b"\xef\xbb\xbf", "UTF-8 with a byte-order mark (BOM)"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
    ]:
        problem = validate.encoding_problem(f, bom + b"a = 1\n")
        assert problem == Problem(
            f,
            "",
            f"the file is {name}; expected UTF-8 without a byte-order mark "
            "(save it as “UTF-8”, not “UTF-8 with BOM” or “Unicode”)",
            1,
        )
    utf16 = "a = 1\nb = 2\n".encode("utf-16-le")
    problem = validate.encoding_problem(f, utf16)
    assert problem.line == 1
    assert problem.message == (
        "the file looks like UTF-16 or UTF-32 text (every other byte is zero); "
        "expected UTF-8 (save it as “UTF-8”)"
    )
    assert validate.encoding_problem(f, b"a\nb\n\x00\x00c").line == 3  # the first NUL's line
    latin1 = 'a = 1\nname = "caf\xe9"\n'.encode("latin-1")
    assert validate.encoding_problem(f, latin1) == Problem(
        f,
        "",
        "not UTF-8 text: byte 0xe9 at column 12 is not valid UTF-8 (was the file saved as "
        "Latin-1 or Windows-1252? save it as UTF-8)",
        2,
    )
    # the column counts characters, not bytes
    problem = validate.encoding_problem(f, 'é = "'.encode() + b'\xff"\n')
    assert problem.line == 1 and "byte 0xff at column 6 " in problem.message
    assert validate.encoding_problem(f, "é = 1\n".encode()) is None
    assert validate.decode_text(f, "é = 1\n".encode()) == "é = 1\n"
    assert _problem(lambda: validate.decode_text(f, latin1)).line == 2
    # one NUL in a long file is not UTF-16: it is judged as UTF-8 (and passes)
    assert validate.encoding_problem(f, b"a = 1\n" * 40 + b"\x00") is None


def test_nesting(tmp_path: Path):
    f = tmp_path / "x.toml"
    assert validate.nesting_problem(f, "a = " + "[" * 32 + "]" * 32) is None
    deep = "x = 1\n\na = " + "[" * 33 + "]" * 33 + "\n"
    assert validate.nesting_problem(f, deep) == Problem(
        f,
        "",
        "arrays or inline tables nested more than 32 deep; a show or calibration file never "
        "needs more than a few levels",
        3,
    )
    assert validate.nesting_problem(f, "a = " + "{b = " * 4 + "1" + "}" * 4, limit=3).line == 1
    assert validate.nesting_problem(f, "a = " + "{b = " * 3 + "1" + "}" * 3, limit=3) is None
    # across lines, and headers ([[x]]) are not nesting
    lines = "[[x]]\n" * 40 + "a = [\n" + "[\n" * 3 + "]\n" * 4
    assert validate.nesting_problem(f, lines, limit=3).line == 44
    assert validate.nesting_problem(f, "[[x]]\n" * 40 + "a = [[[1]]]\n", limit=3) is None
    # brackets in strings and comments do not count
    assert validate.nesting_problem(f, 'a = "' + "[" * 40 + '"  # ' + "{" * 40 + "\n") is None
    dotted = "x = 1\n" + ".".join(["k"] * 33) + " = 1\n"  # 33 parts: one too many
    assert validate.nesting_problem(f, dotted) == Problem(
        f,
        "",
        "a dotted key or table name with more than 32 parts; a show or calibration file never "
        "needs more than a few levels",
        2,
    )
    assert validate.nesting_problem(f, ".".join(["k"] * 32) + " = 1\n") is None
    assert validate.nesting_problem(f, "[" + ".".join(['"k"'] * 33) + "]\n").line == 1


def test_load_toml(tmp_path: Path):
    f = tmp_path / "x.toml"
    f.write_text('a = 1\n[b]\nc = "é"\n', encoding="utf-8")
    data, text, doc = validate.load_toml(f)
    assert data == text.encode() and doc == {"a": 1, "b": {"c": "é"}}
    f.write_text("a = 1\nb = \n")
    problem = _problem(lambda: validate.load_toml(f))
    assert problem.file == f and problem.line == 2
    assert problem.message.startswith("TOML syntax error: ")
    f.write_text("a = " + "[" * 40 + "]" * 40 + "\n")
    assert "nested more than 32 deep" in _problem(lambda: validate.load_toml(f)).message
    f.write_bytes(b"\xef\xbb\xbfa = 1\n")
    assert "byte-order mark" in _problem(lambda: validate.load_toml(f)).message
    assert _problem(lambda: validate.load_toml(tmp_path / "no.toml", "marks file")).message == (
        "marks file not found"
    )


def test_a_file_that_fails_while_being_read(tmp_path: Path):
    # /proc/self/mem is a regular, readable file that fails at the read (EIO): the error
    # is a Problem naming the file, not a traceback
    mem = Path("/proc/self/mem")
    assert validate.file_problem(mem) is None
    problem = _problem(lambda: validate.read_input(mem, "show file"))
    assert problem == Problem(mem, "", "cannot read show file: Input/output error")
    # what the file is called defaults to "file"
    assert _problem(lambda: validate.read_input(tmp_path / "x")) == Problem(
        tmp_path / "x", "", "file not found"
    )
    assert _problem(lambda: validate.load_toml(tmp_path / "x")).message == "file not found"


def test_utf16_is_told_by_its_zero_bytes_at_both_sides_of_the_threshold(tmp_path: Path):
    f = tmp_path / "x.toml"
    utf16 = "the file looks like UTF-16 or UTF-32 text"
    be = validate.encoding_problem(f, "a = 1\n".encode("utf-16-be"))  # starts with a zero
    assert be is not None and be.message.startswith(utf16) and be.line == 1
    # the line of the first zero byte, not the last
    assert validate.encoding_problem(f, b"a\nb\n\x00\n\x00").line == 3
    # a quarter of the first 200 bytes (or of the file) zero: UTF-16; less: not
    assert validate.encoding_problem(f, b"ab\x00cd\x00ef").message.startswith(utf16)  # 2 of 8
    assert validate.encoding_problem(f, b"ab\x00cd\x00efg") is None  # 2 of 9: UTF-8 text
    head = (b"\x00" + b"a" * 3) * 49 + b"aaaa"  # 49 zeros in the first 200 bytes
    assert validate.encoding_problem(f, head + b"\x00" * 100) is None
    head = (b"\x00" + b"a" * 3) * 50  # 50 zeros in the first 200: exactly a quarter
    assert validate.encoding_problem(f, head + b"a" * 100).message.startswith(utf16)
    # the column after a newline at the very start
    problem = validate.encoding_problem(f, b"\n\xe9")
    assert problem.line == 2 and "byte 0xe9 at column 1 " in problem.message


def test_nesting_counts_brackets_outside_strings_and_comments(tmp_path: Path):
    f = tmp_path / "x.toml"

    def line(text: str, limit: int = 3) -> int | None:
        problem = validate.nesting_problem(f, text, limit)
        return None if problem is None else problem.line

    assert line('a = "\\"[[[[["\n') is None  # an escaped quote does not end the string
    assert line("a = '\\'[[[[[\n") == 1  # a literal string has no escapes
    assert line('a = ["\\\\", [[[1]]]]\n') == 1  # an escaped backslash, then the quote ends it
    assert line('a = ["\\"", [[[1]]]]\n') == 1  # nesting after an escaped quote still counts
    assert line("a = [1] # [[[[[\n") is None  # a comment
    assert line("a = [[1], [[2]]]\n", limit=2) == 1  # 3 deep, after a closed one
    assert line("a = [[1], [2]]\nb = [[[[", limit=3) == 2
    assert line("a = [[[1]]]\nb = [[[1]]]\n") is None  # exactly 3, twice
    assert line("a = [1]\nb = [[[1]]]\n") is None  # depth back at 0 after a line
    assert line("a = [[[\n1]]]\nb = [2]\n") is None  # 3 open at the end of a line: not too deep
    assert line("a = [\n[[[1]]]\n]\n") == 2  # 1 open, then 3 more within a line
    assert line("a = [\n[[1]]\n]\n") is None
    assert line("   [[x]]\n" * 5 + "a = 1\n") is None  # indented headers are not nesting
    dotted = "\n" + ".".join(["k"] * 33) + " = 1\n"
    assert validate.nesting_problem(f, dotted).line == 2
    data = b"\xef\xbb\xbfa = 1\n"
    f.write_bytes(data)
    assert _problem(lambda: validate.load_toml(f)).file == f
    f.write_text("a = " + "[" * 40 + "]" * 40 + "\n")
    assert _problem(lambda: validate.load_toml(f)).file == f


def test_more_boundaries_of_messages_and_homographies(tmp_path: Path):
    long = [10] + [1] * 19  # repr is 61 characters: cut
    assert len(repr(long)) == 61
    assert validate.describe(long) == "array " + repr(long)[:57] + "..."
    # a tuple is described, not given a shape
    assert validate.check_homography((1, 2, 3), "H").problems == (f"{EXPECTED}, got tuple",)
    # the condition number limit is exclusive: diag(1, 1, 1e-8) has exactly 1e8
    assert "condition number 1e+08" in validate.homography_problem(np.diag([1.0, 1.0, 1e-8]))
    # conditioning is judged with pixels counted in thousands: a translation by t px is
    # a = t / 1000 kilopixels, relative |det| ≈ 1 / a³: 1.5e6 px is accepted (3e-10),
    # 2.5e6 px is not (6.4e-11)
    assert validate.homography_problem(np.array([[1.0, 0, 1.5e6], [0, 1, 0], [0, 0, 1]])) is None
    shift = np.array([[1.0, 0, 2.5e6], [0, 1, 0], [0, 0, 1]])
    assert "is singular: |det|" in validate.homography_problem(shift)
    # the encoding problems name the file, no key, and the line of the bad byte
    f = tmp_path / "x.toml"
    assert validate.encoding_problem(f, b"a\n\x00\x00") == Problem(
        f,
        "",
        "the file looks like UTF-16 or UTF-32 text (every other byte is zero); "
        "expected UTF-8 (save it as “UTF-8”)",
        2,
    )
    problem = validate.encoding_problem(f, b"a = 1\nb = 2\nc = '\xe9'\n")
    assert problem.line == 3 and "byte 0xe9 at column 6 " in problem.message


def test_brackets_headers_and_strings_in_the_line_index(tmp_path: Path):
    f = tmp_path / "x.toml"
    # an X is an ordinary character, not a quote or a bracket
    assert validate.nesting_problem(f, "X = [[[[1]]]]\n", 3).line == 1
    assert validate.nesting_problem(f, "X = [1]\nb = [[[1]]]\n", 3) is None
    # headers are not nesting, indented or not (here with a limit of 1)
    assert validate.nesting_problem(f, "   [[x]]\na = 1\n[[x]]\n", 1) is None
    text = (
        "a = [\n"  # 1
        "  [1],\n"  # 2
        "  [3]\n"  # 3: a row of the array, not a [3] table
        "]\n"  # 4
        'e = """one""" # see """doc"""\n'  # 5: four quotes, the string is closed
        "f = 1\n"  # 6
        'g = """\n'  # 7
        "not = 1\n"  # 8: inside a multi-line string
        '"""\n'  # 9
        "h = 2\n"  # 10
    )
    assert validate.toml_line_index(text) == {
        ("a",): 1,
        ("e",): 5,
        ("f",): 6,
        ("g",): 7,
        ("h",): 10,
    }
