"""Shared by the benchmark scripts (run as ``python bench/<name>.py``): table printing.

Importing it (before ``mapping``) puts this checkout first on ``sys.path``, so a benchmark
measures the code beside it, not an installed (editable) copy from another worktree.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        parts = [str(cells[0]).ljust(widths[0])]
        parts += [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(parts)

    rule = "-" * len(line(headers))
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


TWO_CUE_SHOW = """\
schema_version = 1
name = "bench"
[canvas]
size = [160, 90]
[[outputs]]
name = "out"
resolution = [160, 90]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [160, 0], [160, 90], [0, 90]]
corners = [[0, 0], [160, 0], [160, 90], [0, 90]]
[[layers]]
name = "wash"
kind = "solid"
color = "#ffffff"
opacity = 0.0
[[cues]]
name = "on"
[cues.layers.wash]
opacity = 1.0
[[cues]]
name = "off"
next = "1"
[cues.layers.wash]
opacity = 0.0
"""
"""A tiny show (one 160×90 output, one solid layer) whose two cues GO round forever:
what the control benchmarks (OSC, web panel) fire GOs at."""


def one_output_show(name: str, size: tuple[int, int]) -> str:
    """The head of a ``show.toml`` whose canvas is one output of ``size``, mapped 1:1 by
    one surface (``all`` on output ``out``); append layers and cues to it."""
    w, h = size
    return f"""schema_version = 1
name = "{name}"
[canvas]
size = [{w}, {h}]
[[outputs]]
name = "out"
resolution = [{w}, {h}]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
corners = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
"""
