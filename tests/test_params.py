"""Typed layer parameters (mapping/params.py): what each type accepts, what a refusal says,
how fades interpolate, and the GLSL and OSC types published for each.

Expected values are written out by hand (the spec's own words: a colour is four numbers
0..1, "#ff8000" is 255/255, 128/255, 0); the interpolation properties are checked with
Hypothesis over the whole range a show may hold.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.params import (
    ParamError,
    ParamSpec,
    coerce,
    glsl_type,
    interpolate,
    json_value,
    osc_range,
    osc_tags,
)

SPEED = ParamSpec("speed", "float", 1.0, min=0.0, max=4.0)
FREE = ParamSpec("x", "float", 0.0)
BANDS = ParamSpec("bands", "long", 3, min=1, max=8)
MODE = ParamSpec("mode", "long", 0, values=(0, 1, 2), labels=("off", "slow", "fast"))
ON = ParamSpec("on", "bool", False)
FLASH = ParamSpec("flash", "event", False)
TINT = ParamSpec("tint", "color", (0.0, 0.0, 0.0, 1.0))
CENTRE = ParamSpec("centre", "point2D", (0.0, 0.0), min=(-1.0, -1.0), max=(1.0, 1.0))
PICTURE = ParamSpec("picture", "image", "")


@pytest.mark.parametrize(
    ("spec", "raw", "value"),
    [
        (SPEED, 2, 2.0),
        (SPEED, 0.0, 0.0),
        (SPEED, 4.0, 4.0),
        (SPEED, "1.5", 1.5),  # OSC and the panel may send text
        (FREE, -1e9, -1e9),
        (BANDS, 8, 8),
        (BANDS, 3.0, 3),  # an OSC float that is an integer
        (MODE, 2, 2),
        (MODE, "slow", 1),  # a menu label
        (ON, True, True),
        (ON, 0, False),
        (ON, "on", True),
        (ON, [1], True),  # one OSC argument
        (FLASH, None, True),  # OSC nil fires an event
        (FLASH, math.inf, True),  # OSC impulse
        (TINT, [1, 0.5, 0], (1.0, 0.5, 0.0, 1.0)),
        (TINT, (0.1, 0.2, 0.3, 0.4), (0.1, 0.2, 0.3, 0.4)),
        (TINT, "#ff8000", (1.0, 128 / 255, 0.0, 1.0)),
        (TINT, "#ff800040", (1.0, 128 / 255, 0.0, 64 / 255)),
        (CENTRE, [0.5, -1], (0.5, -1.0)),
        (PICTURE, "media/a.png", "media/a.png"),
    ],
)
def test_each_type_accepts_its_values(spec, raw, value):
    got = coerce(spec, raw)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("spec", "raw", "words"),
    [
        (SPEED, 4.5, "expected a number in 0..4, got 4.5"),
        (SPEED, True, "expected a number in 0..4, got true"),
        (SPEED, "fast", "expected a number in 0..4, got 'fast'"),
        (SPEED, math.nan, "got nan"),
        (FREE, 2e9, "expected a number with |value| ≤ 1e9, got 2000000000"),
        (BANDS, 9, "expected an integer in 1..8, got 9"),
        (BANDS, 2.5, "expected an integer in 1..8, got 2.5"),
        (MODE, 3, "expected one of 0 (off), 1 (slow), 2 (fast), got 3"),
        (MODE, "medium", "got 'medium'"),
        (ON, 2, "expected true or false (1 or 0), got 2"),
        (TINT, [1, 0], "expected a colour"),
        (TINT, [1.5, 0, 0], "with values 0..1, got [1.5, 0, 0]"),
        (TINT, "#ff80", "got '#ff80'"),
        (CENTRE, [0.5], "expected a point [x, y] from [-1, -1] to [1, 1], got [0.5]"),
        (CENTRE, [2, 0], "got [2, 0]"),
        (PICTURE, "", "expected the name of an image file"),
    ],
)
def test_a_refused_value_says_what_was_expected(spec, raw, words):
    with pytest.raises(ParamError) as info:
        coerce(spec, raw)
    assert words in str(info.value)


def test_glsl_and_osc_types_per_parameter_type():
    table = {
        spec.type: (glsl_type(spec), osc_tags(spec))
        for spec in (SPEED, BANDS, ON, FLASH, TINT, CENTRE, PICTURE)
    }
    assert table == {
        "float": ("float", "f"),
        "long": ("int", "i"),
        "bool": ("bool", "T"),
        "event": ("bool", "N"),
        "color": ("vec4", "ffff"),
        "point2D": ("vec2", "ff"),
        "image": ("sampler2D", "s"),
    }


def test_osc_ranges_come_from_the_spec_alone():
    assert osc_range(SPEED) == [{"MIN": 0.0, "MAX": 4.0}]
    assert osc_range(FREE) == [{}]
    assert osc_range(BANDS) == [{"MIN": 1, "MAX": 8}]
    assert osc_range(MODE) == [{"VALS": [0, 1, 2]}]
    assert osc_range(ON) == [{}]
    assert osc_range(TINT) == [{"MIN": 0.0, "MAX": 1.0}] * 4
    assert osc_range(CENTRE) == [{"MIN": -1.0, "MAX": 1.0}] * 2
    assert json_value(TINT, (0.1, 0.2, 0.3, 1.0)) == [0.1, 0.2, 0.3, 1.0]
    assert json_value(BANDS, 3) == [3]


def test_discrete_types_switch_at_the_start_of_a_fade():
    for kind, a, b in (("long", 1, 5), ("bool", False, True), ("image", "a.png", "b.png")):
        assert interpolate(kind, a, b, 0.0) == b
        assert interpolate(kind, a, b, 0.5) == b


def test_a_colour_midway_is_the_mean_of_its_ends():
    mid = interpolate("color", (1.0, 0.0, 0.2, 1.0), (0.0, 1.0, 0.6, 0.0), 0.5)
    assert mid == pytest.approx((0.5, 0.5, 0.4, 0.5), abs=1e-15)


BOUND = 1e9
numbers = st.floats(-BOUND, BOUND, allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)
FLOATY = {"float": 1, "point2D": 2, "color": 4}


@st.composite
def fades(draw):
    kind = draw(st.sampled_from(sorted(FLOATY)))
    n = FLOATY[kind]
    comp = st.floats(0.0, 1.0) if kind == "color" else numbers
    a = tuple(draw(comp) for _ in range(n))
    b = tuple(draw(comp) for _ in range(n))
    if kind == "float":
        return kind, a[0], b[0]
    return kind, a, b


def _parts(value):
    return value if isinstance(value, tuple) else (value,)


@settings(max_examples=300, deadline=None)
@given(fades(), unit, unit)
def test_interpolation_is_exact_at_the_ends_monotonic_and_within_them(fade, u, v):
    kind, a, b = fade
    assert interpolate(kind, a, b, 0.0) == a
    assert interpolate(kind, a, b, 1.0) == b
    lo_u, hi_u = min(u, v), max(u, v)
    first, second = _parts(interpolate(kind, a, b, lo_u)), _parts(interpolate(kind, a, b, hi_u))
    for x0, x1, s, e in zip(first, second, _parts(a), _parts(b), strict=True):
        assert min(s, e) <= x0 <= max(s, e)  # never beyond either end
        assert min(s, e) <= x1 <= max(s, e)
        if e >= s:  # per component, moving towards its end and never back
            assert x0 <= x1
        else:
            assert x0 >= x1
