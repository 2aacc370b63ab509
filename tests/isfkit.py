"""Helpers for the ISF tests: write an ISF file, render it, read the picture back."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import moderngl
import numpy as np

from mapping.gl.isf import IsfProgram
from mapping.isf import parse_isf


def write_isf(folder: Path, name: str, header: dict, body: str, vertex: str | None = None) -> Path:
    """``folder/name.fs`` with ``header`` as its JSON comment (pretty-printed, so the
    header has several lines) and ``body`` after it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.fs"
    text = "/*\n" + json.dumps(header, indent=2) + "\n*/\n" + textwrap.dedent(body).lstrip("\n")
    path.write_text(text)
    if vertex is not None:
        path.with_suffix(".vs").write_text(textwrap.dedent(vertex).lstrip("\n"))
    return path


def read_rgba(texture: moderngl.Texture) -> np.ndarray:
    """An RGBA8 texture as ``(h, w, 4)`` uint8 (row 0 = memory row 0 = the top)."""
    w, h = texture.size
    return np.frombuffer(texture.read(), np.uint8).reshape(h, w, 4)


def upload(ctx: moderngl.Context, image: np.ndarray) -> moderngl.Texture:
    h, w = image.shape[:2]
    tex = ctx.texture((w, h), 4, np.ascontiguousarray(image, np.uint8).tobytes())
    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    tex.repeat_x = tex.repeat_y = False
    return tex


def program(ctx: moderngl.Context, path: Path) -> IsfProgram:
    return IsfProgram(ctx, parse_isf(path))


def level(x: float) -> float:
    """A 0..1 value as the 8-bit level GL writes (round to nearest)."""
    return float(np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5))
