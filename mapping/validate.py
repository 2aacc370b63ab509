"""The one validator for numbers and matrices in every input file (pure: numpy and tomllib).

Show files (``mapping/show.py``) and calibration files (``calibration/store.py``) both
check their values here, so the same mistake gets the same words in either file. This
module owns:

* **value descriptions** for messages (:func:`describe`: ``string 'hd'``, ``number 1.5``);
* **number checks** (:func:`number_problem`, :func:`integer_problem`): finite, in range;
* **the homography validator** (:func:`check_homography`): a 3×3 array of finite numbers,
  usable without overflow, non-singular and sanely conditioned;
* **number ranges** (:class:`Range`, :func:`region_problem`, :func:`points_problem` with a
  coordinate bound): every number a show file holds is finite and within a range that
  renders (docs/show-format.md lists them);
* **key path → line lookup** (:func:`line_of`) in the TOML text, for ``FILE:LINE``;
* **reading an input file** (:func:`read_input`, :func:`decode_text`, :func:`load_toml`):
  what is at the path (a folder, a FIFO, a symlink loop, unreadable), its encoding (not
  UTF-8, a BOM, UTF-16) and its nesting, each an ordinary :class:`Problem` with the line;
  used by the show, calibration, schedule and marks loaders so they say it the same way;
* **TOML syntax errors → Problem** (:func:`toml_syntax_problem`).

Homographies are defined up to scale, so the validator judges ``H / max|H|``: a valid
matrix multiplied by 1e-300, or scaled until its largest entry is 1e300, is accepted,
and :func:`normalised_homography` hands consumers the same mapping with
``H[2, 2] == 1``. What is rejected is a matrix that cannot be *used as written*: the
loaders keep the file's numbers bit for bit, and other tools apply them to pixel
coordinates directly, so the largest entry must leave headroom for that
(``max|H| ≤`` :data:`MAX_ENTRY`, about 6e301: a point a million pixels away still maps
to finite numbers) and must be a normal float64 (``≥`` :data:`MIN_ENTRY`, below which
entries lose precision). A matrix with entries of 1e308 is refused for that reason by
both loaders, with the same message.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mapping import errors
from mapping.errors import Problem

# --------------------------------------------------------------------------- descriptions


def describe(value: Any) -> str:
    """Short description of a parsed TOML value for messages: ``string 'hd'``, ``number 2``."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        text = repr(value)
        return f"string {text if len(text) <= 60 else text[:57] + '...'}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        text = repr(value)
        return f"array {text if len(text) <= 60 else text[:57] + '...'}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"date-time {value.isoformat()}"
    if value is None:
        return "nothing"
    return type(value).__name__


# --------------------------------------------------------------------------- numbers


def is_number(value: Any) -> bool:
    """Whether a parsed value is a number (TOML integer or float; ``true`` is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a number (not a boolean) that is finite and fits a float64."""
    return is_number(value) and errors.is_finite_number(value)


def number_problem(
    value: Any, lo: float | None = None, hi: float | None = None, unit: str = ""
) -> str | None:
    """What is wrong with ``value`` as a finite number in ``[lo, hi]``, or ``None``.

    NaN, ±inf and integers too large for a float64 are refused with the range expected.
    """
    if (
        not is_finite_number(value)
        or (lo is not None and value < lo)
        or (hi is not None and value > hi)
    ):
        got = value if is_finite_number(value) else describe(value)
        return f"expected a number{_range_text(lo, hi, unit)}, got {got}"
    return None


def _range_text(lo: float | None, hi: float | None, unit: str = "") -> str:
    if lo is not None and hi is not None:
        rng = f" between {float(lo)} and {float(hi)}"
    elif lo is not None:
        rng = f" at least {float(lo)}"
    elif hi is not None:
        rng = f" at most {float(hi)}"
    else:
        rng = ""
    return rng + (f" {unit}" if unit and rng else "")


def integer_problem(value: Any, lo: int = 0, hi: int | None = None) -> str | None:
    """What is wrong with ``value`` as an integer in ``[lo, hi]`` (``hi=None``: no bound)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < lo
        or (hi is not None and value > hi)
    ):
        rng = f"≥ {lo}" if hi is None else f"{lo}..{hi}"
        return f"expected an integer {rng}, got {describe(value)}"
    return None


@dataclass(frozen=True)
class Range:
    """A closed range of finite numbers (integers only with ``integer``), with its unit.

    The one way the loaders bound a number: :meth:`problem` says what is wrong in the
    same words everywhere (:func:`number_problem`, :func:`integer_problem`), :attr:`text`
    is how docs/show-format.md writes it.
    """

    lo: float
    hi: float
    integer: bool = False
    unit: str = ""

    def problem(self, value: Any) -> str | None:
        if self.integer:
            return integer_problem(value, int(self.lo), int(self.hi))
        return number_problem(value, self.lo, self.hi, self.unit)

    def contains(self, value: Any) -> bool:
        return self.problem(value) is None

    @property
    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{_g(self.lo)}..{_g(self.hi)}{unit}"


def _g(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


MAX_COORDINATE_PX = 1e6
"""Largest absolute pixel coordinate a file may hold (polygons, corners, pins), and the
coordinate a homography must map without overflow: far beyond any canvas or projector,
and still exact to 1/16 px in the GPU's float32."""


def points_problem(
    value: Any,
    count: int | None = None,
    *,
    limit: float = MAX_COORDINATE_PX,
    max_count: int | None = None,
) -> str | None:
    """What is wrong with ``value`` as a list of ``[x, y]`` numbers with ``|x|, |y| ≤ limit``.

    Linear in the number of points.
    """
    n = f"{count} " if count else ""
    expected = f"expected a list of {n}[x, y] points"
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(is_finite_number(c) for c in p) for p in value
    )
    if not ok or (count is not None and len(value) != count):
        return f"{expected}, got {describe(value)}"
    if max_count is not None and len(value) > max_count:
        return f"{expected} (at most {max_count}), got {len(value)} points"
    for i, (x, y) in enumerate(value):
        if abs(x) > limit or abs(y) > limit:
            return (
                f"{expected} with coordinates between {_g(-limit)} and {_g(limit)}, "
                f"got point {i} = {describe([x, y]).removeprefix('array ')}"
            )
    return None


def region_problem(value: Any, position: Range, size: Range) -> str | None:
    """What is wrong with ``value`` as ``[x, y, width, height]``, or ``None``."""
    ok = (
        isinstance(value, list)
        and len(value) == 4
        and all(
            rng.contains(v) for v, rng in zip(value, (position, position, size, size), strict=True)
        )
    )
    if not ok:
        return (
            f"expected [x, y, width, height] in canvas pixels, x and y {position.text}, "
            f"width and height {size.text}, got {describe(value)}"
        )
    return None


# --------------------------------------------------------------------------- homographies

MAX_ENTRY = sys.float_info.max / (3 * MAX_COORDINATE_PX)
"""Largest allowed ``max|H|``: ``H @ [x, y, 1]`` stays finite for ``|x|, |y| ≤ 1e6``."""

MIN_ENTRY = sys.float_info.min
"""Smallest allowed ``max|H|`` (the smallest normal float64, about 2.2e-308)."""

KILOPIXEL = 1000.0
"""Unit in which conditioning is judged: ``N⁻¹ H N`` with ``N = diag(1000, 1000, 1)``."""

SINGULAR_RELATIVE_DET = 1e-10
"""Singular when ``|det(Hk)| ≤ 1e-10 · ‖Hk‖_F³`` (``Hk``: H in kilopixel units)."""

MAX_CONDITION = 1e8
"""Largest allowed 2-norm condition number of ``Hk`` (a sanity bound; real ones are < 1e4)."""

HOMOGRAPHY_EXAMPLE = "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]"


@dataclass(frozen=True)
class HomographyCheck:
    """Result of :func:`check_homography`: the raw float64 matrix, or what is wrong with it."""

    H: np.ndarray | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_homography(value: Any, name: str = "H_canvas_to_projector") -> HomographyCheck:
    """Validate a homography given as nested lists (a parsed file) or an array.

    On success ``H`` is the matrix as written, float64 (bit-exact, not normalised). The
    messages name the matrix (``name``) and say what was expected.
    """
    expected = f"expected a 3×3 {name} (row-major array of numbers like {HOMOGRAPHY_EXAMPLE})"
    if isinstance(value, np.ndarray):
        if value.shape != (3, 3):
            return HomographyCheck(None, (f"{expected}, got shape {value.shape}",))
        try:
            H = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            return HomographyCheck(None, (f"{expected}, got an array of {value.dtype}",))
    else:
        if (
            not isinstance(value, list | tuple)
            or len(value) != 3
            or not all(isinstance(row, list | tuple) and len(row) == 3 for row in value)
        ):
            shape = _shape_text(value)
            return HomographyCheck(None, (f"{expected}, got {shape}{describe(value)}",))
        not_numbers = [
            f"[{i}][{j}] = {describe(v)}"
            for i, row in enumerate(value)
            for j, v in enumerate(row)
            if not (is_number(v) or isinstance(v, np.number))
        ]
        if not_numbers:
            return HomographyCheck(None, (f"{expected}; not numbers: {', '.join(not_numbers)}",))
        try:
            H = np.array([[float(v) for v in row] for row in value], dtype=np.float64)
        except OverflowError:
            return HomographyCheck(
                None, (f"{name} entries must be finite numbers; an integer is too large",)
            )
    message = homography_problem(H, name)
    return HomographyCheck(None if message else H, (message,) if message else ())


def homography_problem(H: np.ndarray, name: str = "H_canvas_to_projector") -> str | None:
    """Why a float64 3×3 matrix is not a usable homography, or ``None`` if it is."""
    H = np.asarray(H, dtype=np.float64)
    if H.shape != (3, 3):
        return f"expected a 3×3 {name}, got shape {H.shape}"
    if not np.all(np.isfinite(H)):
        where = ", ".join(f"[{i}][{j}]" for i, j in zip(*np.nonzero(~np.isfinite(H)), strict=True))
        return f"{name} entries must be finite numbers; not finite at {where}"
    largest = float(np.max(np.abs(H)))
    if largest == 0.0:
        return f"{name} is all zeros"
    if largest > MAX_ENTRY:
        return (
            f"{name} has an entry of {largest:.3g}, too large to apply to pixel coordinates "
            f"without overflow (at most {MAX_ENTRY:.3g}); a homography is defined up to "
            "scale, so divide every entry by the same number"
        )
    if largest < MIN_ENTRY:
        return (
            f"{name} has no entry larger than {largest:.3g}: too close to zero to normalise "
            f"without losing precision (the largest entry must be at least {MIN_ENTRY:.3g})"
        )
    Hn = H / largest  # exact in scale, no overflow: every |entry| ≤ 1
    if not np.any(Hn[2]):
        return f"{name} is singular: the third row is all zero, which sends every point to infinity"
    N = np.diag([KILOPIXEL, KILOPIXEL, 1.0])
    Hk = np.linalg.inv(N) @ Hn @ N
    Hk = Hk / np.max(np.abs(Hk))
    relative_det = abs(float(np.linalg.det(Hk))) / float(np.linalg.norm(Hk)) ** 3
    if not relative_det > SINGULAR_RELATIVE_DET:
        return (
            f"{name} is singular: |det| relative to the matrix scale is {relative_det:.3g} "
            f"(needs > {SINGULAR_RELATIVE_DET:g}); it squashes the plane onto a line or a "
            "point, and a homography must be invertible"
        )
    condition = float(np.linalg.cond(Hk))
    if not condition < MAX_CONDITION:
        return (
            f"{name} is too badly conditioned to invert reliably: condition number "
            f"{condition:.3g} in kilopixel units (needs < {MAX_CONDITION:g})"
        )
    return None


def normalised_homography(H: np.ndarray) -> np.ndarray:
    """The same mapping scaled so that ``H[2, 2] == 1`` (or ``max|H| == 1`` when H[2, 2] ≈ 0).

    Raises ``ValueError`` with :func:`homography_problem`'s message for an unusable matrix.
    The matrix is divided by its largest entry first, so any accepted scale is safe.
    """
    H = np.array(H, dtype=np.float64)
    if message := homography_problem(H, "matrix"):
        raise ValueError(message)
    largest = np.max(np.abs(H))
    if abs(H[2, 2]) > 1e-9 * largest:
        return H / H[2, 2]  # one division: exact when H[2, 2] is already 1; entries ≤ 1e9
    return H / largest


def _shape_text(value: Any) -> str:
    try:
        shape = np.shape(value)
    except ValueError:
        return ""
    return f"shape {shape}: " if isinstance(value, list) and shape else ""


# --------------------------------------------------------------------------- TOML text


def toml_syntax_problem(file: Path, error: tomllib.TOMLDecodeError) -> Problem:
    """A TOML parse error as a :class:`Problem` at the line the parser names."""
    match = re.search(r"line (\d+)", str(error))
    line = int(match.group(1)) if match else None
    return Problem(file, "", f"TOML syntax error: {error}", line)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_name(name: str) -> str:
    """A key as it appears in a key path: bare if it may be bare in TOML, else quoted."""
    return name if _BARE_KEY.match(name) else '"' + name.replace('"', '\\"') + '"'


KeyPath = tuple[str | int, ...]


def split_key_path(key_path: str) -> KeyPath:
    """``'surfaces[2]."door.arch".output'`` → ``('surfaces', 2, 'door.arch', 'output')``."""
    parts: list[str | int] = []
    for m in re.finditer(
        r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|\[(\d+)\]|([^.\["\']+)|\.', key_path.strip()
    ):
        if m.group(1) is not None:
            parts.append(m.group(1).replace('\\"', '"'))
        elif m.group(2) is not None:
            parts.append(m.group(2))
        elif m.group(3) is not None:
            parts.append(int(m.group(3)))
        elif m.group(4) is not None and m.group(4).strip():
            parts.append(m.group(4).strip())
    return tuple(parts)


def line_of(text_or_lines: str | list[str], key_path: str) -> int | None:
    """Best-effort 1-based line of ``key_path`` in TOML text (for messages only).

    The line of its ``key = value``; for a key that is not there (missing, or inside an
    inline table), the line of the closest enclosing key or table header; ``None`` when
    nothing encloses it. Understands ``[table]`` and ``[[array]]`` headers (counted, so
    ``layers[1]`` is the second ``[[layers]]``), quoted and dotted keys, and multi-line
    arrays (their rows are never mistaken for headers).
    """
    return find_line(toml_line_index(text_or_lines), key_path)


def find_line(index: dict[KeyPath, int], key_path: str) -> int | None:
    """:func:`line_of` with the text's :func:`toml_line_index` computed once by the caller."""
    parts = split_key_path(key_path)
    while parts:
        if parts in index:
            return index[parts]
        parts = parts[:-1]
    return None


_HEADER = re.compile(r"^\s*(\[\[?)\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_LINE = re.compile(
    r"""^\s*(?P<key>(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+|[ \t.])+?)\s*="""
)


def toml_line_index(text_or_lines: str | list[str]) -> dict[KeyPath, int]:
    """Map every key path written in the TOML text to the line (1-based) where it starts."""
    lines = text_or_lines.splitlines() if isinstance(text_or_lines, str) else text_or_lines
    index: dict[KeyPath, int] = {}
    array_counts: dict[KeyPath, int] = {}  # [[x]] path (with indices of parents) → last index
    table: KeyPath = ()
    depth = 0  # open brackets/braces of a multi-line value
    in_multiline_string: str | None = None
    for number, raw in enumerate(lines, start=1):
        if in_multiline_string:
            if in_multiline_string in raw:
                in_multiline_string = None
            continue
        if depth > 0:
            depth = max(0, depth + _bracket_balance(raw))
            continue
        header = _HEADER.match(raw)
        if header and not re.search(r"[,=]", header.group("name")):
            names = split_key_path(header.group("name"))
            if header.group(1) == "[[":
                resolved = (*_resolve(names[:-1], array_counts), *names[-1:])
                count = array_counts.get(resolved, -1) + 1
                array_counts[resolved] = count
                resolved = (*resolved, count)
            else:
                resolved = _resolve(names, array_counts)
            table = resolved
            index.setdefault(table, number)
            continue
        key = _KEY_LINE.match(raw)
        if key:
            path = (*table, *split_key_path(key.group("key")))
            index.setdefault(path, number)
            value = raw[key.end() :]
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    in_multiline_string = quote
            depth = max(0, _bracket_balance(value))
    return index


def _resolve(names: KeyPath, array_counts: dict[KeyPath, int]) -> KeyPath:
    """Insert the current index after every prefix of ``names`` that is an ``[[array]]``."""
    resolved: list[str | int] = []
    for name in names:
        resolved.append(name)
        key = tuple(resolved)
        if key in array_counts:
            resolved.append(array_counts[key])
    return tuple(resolved)


def _bracket_balance(text: str, stop_above: int | None = None) -> int:
    """Opening minus closing brackets and braces outside strings and comments.

    With ``stop_above``, returns as soon as the running balance exceeds it.
    """
    balance, quote = 0, None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            balance += 1
            if stop_above is not None and balance > stop_above:
                return balance
        elif c in "]}":
            balance -= 1
        i += 1
    return balance


# --------------------------------------------------------------------------- reading files

MAX_NESTING = 32
"""Deepest nesting of arrays and inline tables a file may have (real files need 3 or 4)."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF8, "UTF-8 with a byte-order mark (BOM)"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def file_problem(path: Path, what: str = "file") -> str | None:
    """Why ``path`` is not a regular file this process can read, or ``None``.

    Follows symlinks. Names what is there instead: a folder, a named pipe (FIFO, which
    would block a reader forever), a device or socket, a symlink loop, a missing file, a
    permission error.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return f"{what} not found: {path} is a symlink to a missing file"
        return f"{what} not found"
    except OSError as exc:
        return _os_error_text(exc, what)
    except ValueError as exc:  # an embedded NUL in the name
        return f"cannot read {what}: {exc}"
    if stat.S_ISDIR(mode):
        return f"is a folder, expected a {what}"
    if stat.S_ISFIFO(mode):
        return f"is a named pipe (FIFO), expected a {what}"
    if not stat.S_ISREG(mode):
        return f"is a device or socket, expected a {what}"
    if not os.access(path, os.R_OK):
        return f"cannot read {what}: permission denied"
    return None


def _os_error_text(exc: OSError, what: str) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return f"cannot read {what}: a symlink loop (a link that points back at itself)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot read {what}: permission denied"
    if exc.errno == errno.ENOTDIR:
        return f"{what} not found: a part of the path is a file, not a folder"
    if exc.errno == errno.ENAMETOOLONG:
        return f"cannot read {what}: the path is too long"
    return f"cannot read {what}: {exc.strerror or exc}"


def read_input(path: Path, what: str = "file") -> bytes:
    """The bytes of an input file, or a ValidationError with one :class:`Problem` saying why not."""
    if message := file_problem(path, what):
        raise errors.ValidationError([Problem(path, "", message)])
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise errors.ValidationError([Problem(path, "", _os_error_text(exc, what))]) from None


def encoding_problem(file: Path, data: bytes) -> Problem | None:
    """Why ``data`` is not UTF-8 text (without a BOM), as a Problem at its line, or ``None``."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return Problem(
                file,
                "",
                f"the file is {name}; expected UTF-8 without a byte-order mark "
                "(save it as “UTF-8”, not “UTF-8 with BOM” or “Unicode”)",
                1,
            )
    nul = data.find(b"\x00")
    if nul >= 0 and (nul < 200 and data[:200].count(b"\x00") * 4 >= min(len(data), 200)):
        return Problem(
            file,
            "",
            "the file looks like UTF-16 or UTF-32 text (every other byte is zero); "
            "expected UTF-8 (save it as “UTF-8”)",
            data[:nul].count(b"\n") + 1,
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data[: exc.start].count(b"\n") + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        return Problem(
            file,
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} is not valid "
            "UTF-8 (was the file saved as Latin-1 or Windows-1252? save it as UTF-8)",
            line,
        )
    return None


def decode_text(file: Path, data: bytes) -> str:
    """``data`` as UTF-8 text, or a ValidationError naming the encoding problem and line."""
    if problem := encoding_problem(file, data):
        raise errors.ValidationError([problem])
    return data.decode("utf-8")


_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = re.compile(rf"(?:{_KEY_PART}[ \t]*\.[ \t]*){{{MAX_NESTING},}}{_KEY_PART}")


def nesting_problem(file: Path, text: str, limit: int = MAX_NESTING) -> Problem | None:
    """A Problem at the line where arrays/inline tables nest deeper than ``limit``, or None.

    One linear pass outside strings and comments, so no parser or validator ever recurses
    deeper than ``limit`` on this text.
    """
    # more than `limit` parts: at least `limit` dots (the pattern checks where)
    dotted = _DOTTED_KEY.search(text) if text.count(".") >= limit else None
    if dotted is not None:
        return Problem(
            file,
            "",
            f"a dotted key or table name with more than {limit} parts; "
            "a show or calibration file never needs more than a few levels",
            text.count("\n", 0, dotted.start()) + 1,
        )
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.lstrip()
        if depth == 0 and stripped.startswith("["):  # a [table] or [[array]] header
            continue
        depth = max(0, depth + _bracket_balance(raw, limit - depth))
        if depth > limit:
            return Problem(
                file,
                "",
                f"arrays or inline tables nested more than {limit} deep; "
                "a show or calibration file never needs more than a few levels",
                number,
            )
    return None


def load_toml(file: Path, what: str = "file") -> tuple[bytes, str, dict[str, Any]]:
    """Read, decode and parse a TOML input file: ``(bytes, text, document)``.

    Every way it can fail is a ValidationError with one Problem naming the file and line:
    what is at the path (:func:`file_problem`), the encoding (:func:`encoding_problem`),
    nesting (:func:`nesting_problem`), TOML syntax.
    """
    data = read_input(file, what)
    text = decode_text(file, data)
    if problem := nesting_problem(file, text):
        raise errors.ValidationError([problem])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise errors.ValidationError([toml_syntax_problem(file, exc)]) from None
    except RecursionError:  # unreachable after nesting_problem; kept as a last guard
        raise errors.ValidationError([Problem(file, "", "nested too deeply to read")]) from None
    return data, text, doc
