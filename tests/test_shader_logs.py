"""Driver shader logs are rewritten to the artist's file and line, whatever the driver.

The logs are literal copies of what Mesa (llvmpipe, CI), NVIDIA (the lent H200) and
AMD/Intel-style drivers print for a missing ';' on line 3 of a generator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.gl.shaders import map_driver_log

SOURCE = ["void mainImage(out vec4 c, in vec2 p) {", "    c = vec4(1.0)", "}"]
FILE = Path("shaders/aurora.glsl")


@pytest.mark.parametrize(
    ("driver", "log"),
    [
        ("mesa", "0:3(1): error: syntax error, unexpected '}', expecting ',' or ';'"),
        (
            "nvidia",
            "GLSL Compiler failed\n\nfragment_shader\n=================\n"
            "0(3) : error C0000: syntax error, unexpected '}', expecting ',' or ';' at token \"}\"",
        ),
        (
            "nvidia, one line",
            "fragment_shader 0(3) : error C0000: syntax error, unexpected '}', expecting ';'",
        ),
        ("amd", "ERROR: 0:3: '}' : syntax error syntax error"),
    ],
)
def test_each_drivers_log_points_at_the_artists_line(driver, log):
    (diag,) = map_driver_log(log, FILE, SOURCE)
    assert diag.file == FILE and diag.line == 3, driver
    assert diag.source_line == "}"
    assert "syntax error" in diag.message


def test_a_log_without_a_line_is_kept_whole():
    (diag,) = map_driver_log("Link failed: too many uniforms", FILE, SOURCE)
    assert diag.line is None and diag.message == "Link failed: too many uniforms"
