"""Layer parameters: typed, ranged values a shader declares and cues set and fade (pure).

A layer's parameters are declared by its content, not by the show file: every input of an
ISF file (:mod:`mapping.isf`) and every ``uniform`` a Shadertoy-style generator declares is
a :class:`ParamSpec`. The show file may give a start value (``params = { speed = 2.0 }``),
cues set and fade them, and show control publishes them (OSC, OSCQuery, panel) from the
spec alone, without knowing shaders.

Types follow ISF's names: ``float``, ``long`` (an integer, often a menu of ``values`` with
``labels``), ``bool``, ``color`` (RGBA, four floats 0..1), ``point2D`` (two floats),
``event`` (a momentary trigger: true for one frame when set) and ``image`` (the name of an
image file in the show folder). Floats, colours and points interpolate during a fade;
the others switch at the start of the fade.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ParamValue = float | int | bool | tuple[float, ...] | str
"""A parameter's value: float; int (``long``); bool (``bool``, ``event``); a tuple of 4
floats (``color``) or 2 (``point2D``); a str (``image``: a file in the show folder)."""

PARAM_TYPES = ("float", "long", "bool", "color", "point2D", "event", "image")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a layer's content: its name, type, default and range.

    ``min``/``max`` are ``None`` where the content gives no bound. For ``long``,
    ``values``/``labels`` list the allowed values and their names (an ISF menu).
    ``label`` is a human name for panels (ISF ``LABEL``), ``""`` when none.
    """

    name: str
    type: str
    default: ParamValue
    min: ParamValue | None = None
    max: ParamValue | None = None
    values: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()
    label: str = ""


MAX_NUMBER = 1e9
"""Largest ``|value|`` of a float, long or point component without a declared range (a
float32 uniform keeps it exactly enough; the show format's historic parameter bound)."""

INTERPOLATED = frozenset({"float", "color", "point2D"})
"""Types that move smoothly during a fade; the others switch at the start of the fade."""

_COMPONENTS = {"color": 4, "point2D": 2}
GLSL_TYPES = {
    "float": "float",
    "long": "int",
    "bool": "bool",
    "event": "bool",
    "color": "vec4",
    "point2D": "vec2",
    "image": "sampler2D",
}
"""The GLSL type of each parameter type's uniform (ISF's own table adds its audio inputs)."""
_OSC_TAGS = {
    "float": "f",
    "long": "i",
    "bool": "T",
    "event": "N",
    "color": "ffff",
    "point2D": "ff",
    "image": "s",
}
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "off", "no")


class ParamError(ValueError):
    """A value that does not fit a parameter; the message says what was expected."""


def legacy_spec(name: str, start: float = 0.0) -> ParamSpec:
    """A float parameter with no declared range: what a show declares for content that
    declares no parameters itself (``params = { speed = 1.0 }`` on such a layer)."""
    return ParamSpec(name, "float", float(start))


def infer_spec(name: str, raw: object) -> ParamSpec:
    """A spec guessed from a value's shape, where the content's declarations cannot be read:
    true/false a bool, an integer or number a float, 2 numbers a point, 3 or 4 numbers or
    "#rrggbb" a colour, any other text an image. No range beyond the type's own."""
    if isinstance(raw, bool):
        return ParamSpec(name, "bool", False)
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return ParamSpec(name, "point2D", (0.0, 0.0))
    if (isinstance(raw, list | tuple) and len(raw) in (3, 4)) or (
        isinstance(raw, str) and raw.startswith("#")
    ):
        return ParamSpec(name, "color", (0.0, 0.0, 0.0, 1.0))
    if isinstance(raw, str) and _number(raw) is None:
        return ParamSpec(name, "image", "")
    return ParamSpec(name, "float", 0.0)


def components(spec: ParamSpec) -> int:
    """How many numbers the value has (a colour 4, a point 2, every other type 1)."""
    return _COMPONENTS.get(spec.type, 1)


def glsl_type(spec: ParamSpec) -> str:
    """The GLSL type of the uniform that carries this parameter (``vec4`` for a colour)."""
    return GLSL_TYPES[spec.type]


def osc_tags(spec: ParamSpec) -> str:
    """The OSC type tags of the value, as OSCQuery's TYPE publishes it: ``f`` float, ``i``
    long, ``T`` bool (``T``/``F``; 0/1 accepted), ``N`` event (any value, or none, fires
    it), ``ffff`` colour (RGBA 0..1), ``ff`` point, ``s`` image (a file name)."""
    return _OSC_TAGS[spec.type]


def osc_range(spec: ParamSpec) -> list[dict[str, object]]:
    """OSCQuery RANGE of the value: one object per OSC argument (``MIN``/``MAX``, or
    ``VALS`` for a menu); a colour is 0..1 per component unless the content narrows it."""
    if spec.type == "long" and spec.values:
        return [{"VALS": list(spec.values)}]
    if spec.type in ("bool", "event", "image"):
        return [{}]
    n = components(spec)
    lows = _per_component(spec.min, n, 0.0 if spec.type == "color" else None)
    highs = _per_component(spec.max, n, 1.0 if spec.type == "color" else None)
    out: list[dict[str, object]] = []
    for lo, hi in zip(lows, highs, strict=True):
        entry: dict[str, object] = {}
        if lo is not None:
            entry["MIN"] = int(lo) if spec.type == "long" else float(lo)
        if hi is not None:
            entry["MAX"] = int(hi) if spec.type == "long" else float(hi)
        out.append(entry)
    return out


def json_value(spec: ParamSpec, value: ParamValue) -> list[object]:
    """The value as the OSC/JSON argument list it is published as (a colour: 4 numbers)."""
    if spec.type in _COMPONENTS:
        return [float(c) for c in value]  # type: ignore[union-attr]
    if spec.type == "event":
        return [bool(value)]
    return [value]


def expected(spec: ParamSpec) -> str:
    """What a value of this parameter must be, for messages (``a number in 0..4``)."""
    if spec.type == "float":
        return "a number " + _bounds_text(spec.min, spec.max, float)
    if spec.type == "long":
        if spec.values:
            labels = _padded(spec.labels, len(spec.values))
            names = [
                f"{v} ({label})" if label else str(v)
                for v, label in zip(spec.values, labels, strict=True)
            ]
            return "one of " + ", ".join(names)
        return "an integer " + _bounds_text(spec.min, spec.max, int)
    if spec.type == "bool":
        return "true or false (1 or 0)"
    if spec.type == "event":
        return "a trigger (true, 1, or no value)"
    if spec.type == "color":
        text = 'a colour "#rrggbb", "#rrggbbaa" or [r, g, b] / [r, g, b, a]'
        if spec.min is None and spec.max is None:
            return text + " with values 0..1"
        return text + f" with values from {_num_text(spec.min)} to {_num_text(spec.max)}"
    if spec.type == "point2D":
        text = "a point [x, y]"
        if spec.min is None and spec.max is None:
            return text + " with |x|, |y| ≤ 1e9"
        return text + f" from {_num_text(spec.min)} to {_num_text(spec.max)}"
    return "the name of an image file in the show folder"


def coerce(spec: ParamSpec, raw: object) -> ParamValue:
    """``raw`` (a TOML value, OSC arguments, JSON) as a value of ``spec``, or ParamError.

    Accepted: float — a number (not a boolean); long — an integral number, or a menu
    label; bool — true/false, 0/1, "on"/"off"; event — as bool, or ``None`` (OSC nil or
    impulse: fires); color — 3 or 4 numbers, or "#rrggbb"/"#rrggbbaa" (alpha 1 when not
    given); point2D — 2 numbers; image — a non-empty string. A one-element list or tuple
    stands for its element (OSC arguments arrive as a list). Ranges are checked.
    """
    if isinstance(raw, list | tuple) and len(raw) == 1 and spec.type not in _COMPONENTS:
        raw = raw[0]
    if spec.type == "float":
        number = _number(raw)
        if number is None or not _within(number, spec.min, spec.max, MAX_NUMBER):
            raise _error(spec, raw)
        return number
    if spec.type == "long":
        return _long(spec, raw)
    if spec.type in ("bool", "event"):
        return _bool(spec, raw)
    if spec.type == "color":
        return _color(spec, raw)
    if spec.type == "point2D":
        return _point(spec, raw)
    if spec.type == "image":
        if isinstance(raw, str) and raw.strip():
            return raw
        raise _error(spec, raw)
    raise ParamError(f"unknown parameter type {spec.type!r}; expected one of {PARAM_TYPES}")


def interpolate(kind: str, start: ParamValue, end: ParamValue, u: float) -> ParamValue:
    """The value a fade of type ``kind`` has at progress ``u`` (0..1, after the curve).

    Floats, colours and points move linearly per component: exactly ``start`` at 0 and
    ``end`` at 1, monotonic in ``u`` and never outside the two ends (the sum is clamped, so
    rounding cannot overshoot). Every other type switches to ``end`` at the start of the
    fade (any ``u``).
    """
    if kind not in INTERPOLATED:
        return end
    if kind == "float":
        return _lerp(float(start), float(end), u)  # type: ignore[arg-type]
    return tuple(
        _lerp(float(a), float(b), u)
        for a, b in zip(start, end, strict=True)  # type: ignore[arg-type]
    )


def _lerp(a: float, b: float, u: float) -> float:
    if u <= 0.0:
        return a
    if u >= 1.0:
        return b
    v = a + (b - a) * u
    return min(max(v, min(a, b)), max(a, b))


# --------------------------------------------------------------------------- helpers


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        number = float(raw)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _within(value: float, lo: object, hi: object, limit: float) -> bool:
    if lo is None and hi is None:
        return abs(value) <= limit
    return (lo is None or value >= lo) and (hi is None or value <= hi)  # type: ignore[operator]


def _long(spec: ParamSpec, raw: object) -> int:
    if isinstance(raw, str) and spec.labels and raw in spec.labels:
        return spec.values[spec.labels.index(raw)]
    number = _number(raw)
    if number is None or number != int(number):
        raise _error(spec, raw)
    value = int(number)
    if spec.values:
        if value not in spec.values:
            raise _error(spec, raw)
        return value
    if not _within(value, spec.min, spec.max, MAX_NUMBER):
        raise _error(spec, raw)
    return value


def _bool(spec: ParamSpec, raw: object) -> bool:
    if spec.type == "event" and (raw is None or raw == math.inf):
        return True
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE + _FALSE:
        return raw.strip().lower() in _TRUE
    raise _error(spec, raw)


def _color(spec: ParamSpec, raw: object) -> tuple[float, ...]:
    if isinstance(raw, str):
        m = re.fullmatch(r"#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?", raw.strip())
        if m is None:
            raise _error(spec, raw)
        digits = m.group(1) + (m.group(2) or "ff")
        rgba = tuple(int(digits[i : i + 2], 16) / 255.0 for i in range(0, 8, 2))
    elif isinstance(raw, list | tuple) and len(raw) in (3, 4):
        numbers = [_number(c) for c in raw]
        if any(n is None for n in numbers):
            raise _error(spec, raw)
        rgba = (*numbers, 1.0) if len(numbers) == 3 else tuple(numbers)  # type: ignore[assignment]
    else:
        raise _error(spec, raw)
    lows = _per_component(spec.min, 4, 0.0)
    highs = _per_component(spec.max, 4, 1.0)
    for c, lo, hi in zip(rgba, lows, highs, strict=True):
        if not _within(c, lo, hi, 1.0):
            raise _error(spec, raw)
    return tuple(float(c) for c in rgba)  # type: ignore[arg-type]


def _point(spec: ParamSpec, raw: object) -> tuple[float, ...]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise _error(spec, raw)
    numbers = [_number(c) for c in raw]
    lows = _per_component(spec.min, 2, None)
    highs = _per_component(spec.max, 2, None)
    for n, lo, hi in zip(numbers, lows, highs, strict=True):
        if n is None or not _within(n, lo, hi, MAX_NUMBER):
            raise _error(spec, raw)
    return (float(numbers[0]), float(numbers[1]))  # type: ignore[arg-type]


def _per_component(bound: object, n: int, default: float | None) -> list[float | None]:
    """A bound for each component: a tuple gives one each, a number the same for all."""
    if bound is None:
        return [default] * n
    if isinstance(bound, tuple | list):
        return [float(b) for b in bound][:n] + [default] * (n - len(bound))
    return [float(bound)] * n  # type: ignore[arg-type]


def _padded(labels: tuple[str, ...], n: int) -> tuple[str, ...]:
    return labels[:n] + ("",) * (n - len(labels))


def _num_text(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_num_text(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bounds_text(lo: object, hi: object, kind: type) -> str:
    if lo is None and hi is None:
        return "with |value| ≤ 1e9"
    if lo is None:
        return f"≤ {_num_text(hi)}"
    if hi is None:
        return f"≥ {_num_text(lo)}"
    return f"in {_num_text(lo)}..{_num_text(hi)}"


def _describe(raw: object) -> str:
    if isinstance(raw, bool):
        return str(raw).lower()
    if isinstance(raw, str):
        return repr(raw) if len(raw) <= 40 else repr(raw[:37] + "...")
    if isinstance(raw, list | tuple):
        return "[" + ", ".join(_describe(v) for v in raw[:6]) + (", …]" if len(raw) > 6 else "]")
    if isinstance(raw, float):
        return _num_text(raw)
    return "nothing" if raw is None else str(raw)


def _error(spec: ParamSpec, raw: object) -> ParamError:
    return ParamError(f"expected {expected(spec)}, got {_describe(raw)}")
