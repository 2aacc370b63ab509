"""The one validator for numbers and matrices in every input file (pure: numpy and tomllib).

Show files (``mapping/show.py``) and calibration files (``calibration/store.py``) both
check their values here, so the same mistake gets the same words in either file. This
module owns:

* **value descriptions** for messages (:func:`describe`: ``string 'hd'``, ``number 1.5``);
* **number checks** (:func:`number_problem`, :func:`integer_problem`): finite, in range;
* **the homography validator** (:func:`check_homography`): a 3×3 array of finite numbers,
  usable without overflow, non-singular and sanely conditioned;
* **key path → line lookup** (:func:`line_of`) in the TOML text, for ``FILE:LINE``;
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

import datetime as dt
import re
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


def number_problem(value: Any, lo: float | None = None, hi: float | None = None) -> str | None:
    """What is wrong with ``value`` as a finite number in ``[lo, hi]``, or ``None``."""
    if not is_finite_number(value):
        return f"expected a number, got {describe(value)}"
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            rng = f"between {float(lo)} and {float(hi)}"
        elif lo is not None:
            rng = f"at least {float(lo)}"
        else:
            rng = f"at most {float(hi)}"  # type: ignore[arg-type]
        return f"expected a number {rng}, got {value}"
    return None


def integer_problem(value: Any, lo: int = 0) -> str | None:
    """What is wrong with ``value`` as an integer ``≥ lo``, or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        return f"expected an integer ≥ {lo}, got {describe(value)}"
    return None


def points_problem(value: Any, count: int | None = None) -> str | None:
    """What is wrong with ``value`` as a list of ``[x, y]`` finite numbers, or ``None``."""
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(is_finite_number(c) for c in p) for p in value
    )
    if ok and count is not None and len(value) != count:
        ok = False
    if not ok:
        n = f"{count} " if count else ""
        return f"expected a list of {n}[x, y] points, got {describe(value)}"
    return None


# --------------------------------------------------------------------------- homographies

MAX_COORDINATE_PX = 1e6
"""Largest pixel coordinate a homography must map without overflow (far beyond any canvas)."""

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


def _bracket_balance(text: str) -> int:
    """Opening minus closing brackets and braces outside strings and comments."""
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
        elif c in "]}":
            balance -= 1
        i += 1
    return balance
