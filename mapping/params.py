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
