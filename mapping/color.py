"""Per-output colour: the settings, ``.cube`` 3D LUT files and the reference maths (pure).

So that projectors of different makes and ages match, every output may carry a colour
correction (``[outputs.color]`` in the show file), applied in the final pass
(``shaders/warp.glsl``) after the warp samples the canvas and before blending:

1. **LUT** (optional): the colourist's 3D LUT applied to the signal (0..1, as delivered
   for display-referred video), trilinear between its points.
2. **Contrast, brightness, gamma** on the signal: ``s = (s − ½)·contrast + ½ + brightness``,
   clamped to 0..1, then ``s = s^(1/gamma)`` (gamma above 1 lifts the mid-tones).
3. **RGB gains in linear light**: the signal is decoded with the projector's gamma
   (``outputs.gamma``), each channel multiplied by its gain, and encoded again: white
   balance and level are a matter of light, not of pixel values. Blending's share of the
   light (``mapping/blend.py``) is applied in the same linear step.

:func:`apply_reference` is that pipeline in float64 numpy (trilinear interpolation
written out, independent of GL), for tests and for anyone checking a setting.

``.cube`` files are read as colourists deliver them (Adobe/Resolve): ``TITLE``, ``#``
comments and blank lines anywhere, ``LUT_3D_SIZE N`` (2..256), optional ``DOMAIN_MIN`` /
``DOMAIN_MAX`` (three numbers each) or Resolve's ``LUT_3D_INPUT_RANGE min max``, then
``N³`` lines of three numbers, red changing fastest. :func:`load_cube` reports every
problem as a :class:`~mapping.errors.Problem` naming the file and line (a wrong number of
values, a token that is not a finite number, a missing or unsupported size, 1D LUTs,
unknown keywords), through the shared number checks of :mod:`mapping.validate`.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mapping import validate
from mapping.errors import Problem, ValidationError

LUT_SIZE_RANGE = (2, 256)
BRIGHTNESS_RANGE = (-1.0, 1.0)
CONTRAST_RANGE = (0.0, 4.0)
COLOR_GAMMA_RANGE = (0.2, 5.0)
GAIN_RANGE = (0.0, 4.0)


@dataclass(frozen=True, eq=False)
class Lut3D:
    """A 3D LUT: ``table[b, g, r]`` is the output RGB for the input at grid point (r, g, b)
    (the file's order: red fastest), over ``domain_min``..``domain_max``."""

    table: np.ndarray  # (N, N, N, 3) float32
    domain_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    domain_max: tuple[float, float, float] = (1.0, 1.0, 1.0)
    title: str = ""
    path: Path | None = None

    @property
    def size(self) -> int:
        return int(self.table.shape[0])


@dataclass(frozen=True, eq=False)
class OutputColor:
    """One output's colour correction (the identity by default)."""

    brightness: float = 0.0
    contrast: float = 1.0
    gamma: float = 1.0
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    lut: Lut3D | None = None

    @property
    def signal_identity(self) -> bool:
        """Whether steps 1 and 2 change nothing."""
        return self.lut is None and (self.brightness, self.contrast, self.gamma) == (0, 1, 1)

    @property
    def identity(self) -> bool:
        return self.signal_identity and self.gains == (1.0, 1.0, 1.0)

    def key(self) -> tuple[object, ...]:
        lut = None if self.lut is None else (self.lut.path, self.lut.table.tobytes())
        return (self.brightness, self.contrast, self.gamma, self.gains, lut)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputColor) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


# --------------------------------------------------------------------------- .cube files


def load_cube(path: Path) -> Lut3D:
    """Read a ``.cube`` 3D LUT; :class:`ValidationError` with every problem (file, line)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError([Problem(path, "", "LUT file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem(path, "", f"cannot read LUT file: {exc}")]) from None
    return parse_cube(text, Path(path))


def parse_cube(text: str, path: Path) -> Lut3D:
    """Parse the text of a ``.cube`` file (see the module docstring)."""
    problems: list[Problem] = []

    def problem(line: int, message: str) -> None:
        if len(problems) < 20:
            problems.append(Problem(path, "", message, line))

    size: int | None = None
    size_line = 0
    title = ""
    domain_min = [0.0, 0.0, 0.0]
    domain_max = [1.0, 1.0, 1.0]
    rows: list[tuple[float, float, float]] = []
    first_data_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word = line.split(None, 1)[0]
        if word[0].isalpha():
            rest = line[len(word) :].strip()
            if rows:
                problem(number, f"{word} after the table's first values (keywords come first)")
                continue
            if word == "TITLE":
                try:
                    parts = shlex.split(rest)
                except ValueError:
                    parts = [rest]
                title = " ".join(parts)
            elif word == "LUT_3D_SIZE":
                size_line = number
                value = _numbers(rest, 1, number, word, problem)
                if value is None:
                    continue
                lo, hi = LUT_SIZE_RANGE
                n = value[0]
                if n != int(n) or not lo <= n <= hi:
                    problem(number, f"LUT_3D_SIZE: expected an integer {lo}..{hi}, got {rest}")
                    continue
                size = int(n)
            elif word in ("DOMAIN_MIN", "DOMAIN_MAX"):
                value = _numbers(rest, 3, number, word, problem)
                if value is not None:
                    (domain_min if word == "DOMAIN_MIN" else domain_max)[:] = value
            elif word == "LUT_3D_INPUT_RANGE":
                value = _numbers(rest, 2, number, word, problem)
                if value is not None:
                    domain_min[:] = [value[0]] * 3
                    domain_max[:] = [value[1]] * 3
            elif word == "LUT_1D_SIZE":
                problem(number, "a 1D LUT: expected a 3D LUT (LUT_3D_SIZE)")
            else:
                problem(
                    number,
                    f"unknown keyword {word!r}; expected TITLE, LUT_3D_SIZE, DOMAIN_MIN, "
                    "DOMAIN_MAX, LUT_3D_INPUT_RANGE or rows of three numbers",
                )
            continue
        value = _numbers(line, 3, number, "a table row", problem)
        if not rows:
            first_data_line = number
        rows.append(tuple(value) if value is not None else (math.nan,) * 3)  # type: ignore[arg-type]
    if size is None and not any("LUT_3D_SIZE" in p.message for p in problems):
        problem(size_line or 1, "missing LUT_3D_SIZE N (the table has N³ rows)")
    if size is not None and len(rows) != size**3:
        where = first_data_line or size_line
        problem(
            where,
            f"LUT_3D_SIZE {size} needs {size**3} rows of three numbers, found {len(rows)}",
        )
    for axis in range(3):
        if not domain_max[axis] > domain_min[axis]:
            problem(
                size_line or 1,
                f"DOMAIN_MAX must be above DOMAIN_MIN in every channel, got "
                f"{domain_min} .. {domain_max}",
            )
            break
    if problems:
        raise ValidationError(problems)
    assert size is not None
    table = np.asarray(rows, dtype=np.float32).reshape(size, size, size, 3)
    return Lut3D(
        table,
        (domain_min[0], domain_min[1], domain_min[2]),
        (domain_max[0], domain_max[1], domain_max[2]),
        title,
        path,
    )


def _numbers(
    text: str, count: int, line: int, what: str, problem: Callable[[int, str], None]
) -> list[float] | None:
    tokens = text.split()
    if len(tokens) != count:
        noun = "number" if count == 1 else "numbers"
        problem(line, f"{what}: expected {count} {noun}, got {len(tokens)}: {text!r}")
        return None
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            problem(line, f"{what}: {token!r} is not a number")
            return None
        if not validate.is_finite_number(value):
            problem(line, f"{what}: {token!r} is not a finite number")
            return None
        values.append(value)
    return values


def write_cube(path: Path, table: np.ndarray, title: str = "") -> Path:
    """Write ``table[b, g, r]`` (N, N, N, 3) as a ``.cube`` file (tests, tools)."""
    n = table.shape[0]
    lines = [f'TITLE "{title}"'] if title else []
    lines.append(f"LUT_3D_SIZE {n}")
    lines += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in np.asarray(table).reshape(-1, 3)]
    path.write_text("\n".join(lines) + "\n")
    return path


def identity_table(n: int) -> np.ndarray:
    """The identity LUT's table, (n, n, n, 3) as ``[b, g, r]``."""
    axis = np.linspace(0.0, 1.0, n)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1)


# --------------------------------------------------------------------------- reference


def sample_lut(lut: Lut3D, rgb: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of ``lut`` at signal values ``rgb`` (..., 3), float64."""
    n = lut.size
    lo = np.asarray(lut.domain_min)
    hi = np.asarray(lut.domain_max)
    pos = np.clip((np.asarray(rgb, np.float64) - lo) / (hi - lo), 0.0, 1.0) * (n - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), n - 2)
    f = pos - i0
    table = lut.table.astype(np.float64)
    out = np.zeros((*np.shape(rgb)[:-1], 3))
    for dr in (0, 1):
        for dg in (0, 1):
            for db in (0, 1):
                w = (
                    (f[..., 0] if dr else 1 - f[..., 0])
                    * (f[..., 1] if dg else 1 - f[..., 1])
                    * (f[..., 2] if db else 1 - f[..., 2])
                )
                corner = table[i0[..., 2] + db, i0[..., 1] + dg, i0[..., 0] + dr]
                out += w[..., None] * corner
    return out


def apply_reference(color: OutputColor, rgb: np.ndarray, projector_gamma: float) -> np.ndarray:
    """The final pass's colour steps on signal values ``rgb`` (..., 3) in 0..1, float64."""
    s = np.asarray(rgb, np.float64)
    if color.lut is not None:
        s = sample_lut(color.lut, s)
    s = np.clip((s - 0.5) * color.contrast + 0.5 + color.brightness, 0.0, 1.0)
    s = s ** (1.0 / color.gamma)
    linear = s**projector_gamma * np.asarray(color.gains)
    return np.clip(linear, 0.0, 1.0) ** (1.0 / projector_gamma)
