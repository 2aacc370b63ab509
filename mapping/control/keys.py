"""Key bindings of the projector windows, generated from the command registry.

A spec's ``keys`` are pyglet key names, optionally with modifiers (``SHIFT+ESCAPE``) and
argument values after ``=`` (``SHIFT+LEFT=-0.1,0`` nudges by −0.1 px in x).
"""

from __future__ import annotations

from mapping.commands import Registry

_MODIFIERS = {"SHIFT": 0x1, "CTRL": 0x2, "ALT": 0x4}


def parse_key(text: str) -> tuple[int, int]:
    """``"SHIFT+ESCAPE"`` → (pyglet symbol, modifier mask). ValueError if unknown."""
    from pyglet.window import key

    *mods, name = text.split("+")
    symbol = getattr(key, name, None)
    if not isinstance(symbol, int):
        raise ValueError(f"unknown key {name!r}")
    mask = 0
    for mod in mods:
        mask |= _MODIFIERS[mod]
    return symbol, mask


def key_table(registry: Registry) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Key text (``SHIFT+LEFT``) → (command name, argument values), for every key declared."""
    table: dict[str, tuple[str, tuple[str, ...]]] = {}
    for spec in registry:
        for text in spec.keys:
            key, _, values = text.partition("=")
            if key in table:
                raise ValueError(f"key {key} is bound to {table[key][0]} and {spec.name}")
            table[key] = (spec.name, tuple(values.split(",")) if values else ())
    return table


def key_bindings(registry: Registry) -> dict[tuple[int, int], tuple[str, tuple[str, ...]]]:
    """(pyglet symbol, modifiers) → (command name, argument values); needs pyglet's keys."""
    return {parse_key(key): bound for key, bound in key_table(registry).items()}
