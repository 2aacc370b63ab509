"""Key bindings of the projector windows, generated from the command registry.

A spec's ``keys`` are pyglet key names, optionally with modifiers (``SHIFT+ESCAPE``).
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


def key_bindings(registry: Registry) -> dict[tuple[int, int], str]:
    """(symbol, modifiers) → command name, for every key a command declares."""
    bindings: dict[tuple[int, int], str] = {}
    for spec in registry:
        for text in spec.keys:
            bindings[parse_key(text)] = spec.name
    return bindings
