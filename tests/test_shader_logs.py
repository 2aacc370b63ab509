"""Driver shader logs are rewritten to the artist's file and line, whatever the driver.

The samples (tests/shader_log_samples.py) are logs as drivers wrote them: Mesa's captured
here, the others quoted from public issue threads — NVIDIA (several message codes,
warnings, per-stage headers, line-less link errors), AMD (current and Catalyst), Intel on
Windows, Apple, ANGLE. The last test compiles on this machine's driver and compares only
the file and line, never the driver's wording.
"""

from __future__ import annotations

from pathlib import Path

import moderngl
import pytest

from mapping.gl.shaders import ShaderError, load_generator, map_driver_log
from tests.shader_log_samples import SAMPLES

FILE = Path("shaders/aurora.glsl")
SOURCE = [f"source line {n}" for n in range(1, 1001)]


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{i}-{s.family}" for i, s in enumerate(SAMPLES)])
def test_each_captured_log_maps_to_the_artists_file_and_line(sample):
    diags = map_driver_log(sample.log, FILE, SOURCE)
    got = [(d.line, d.severity) for d in diags]
    assert got == [(line, sev) for line, sev, _ in sample.expected], sample.source
    for diag, (line, _, words) in zip(diags, sample.expected, strict=True):
        assert diag.file == FILE
        assert words in diag.message, (diag.message, sample.source)
        assert diag.source_line == (f"source line {line}" if line else "")
        assert not diag.message.startswith(("error", "ERROR", ":")), diag.message


def test_every_driver_family_is_sampled():
    families = {s.family.split("-")[0] for s in SAMPLES}
    assert {"mesa", "nvidia", "amd", "intel", "apple", "angle"} <= families


def test_a_line_that_points_into_the_file_shows_the_offending_source():
    source = ["void mainImage(out vec4 c, in vec2 p) {", "    c = vec4(1.0)", "}"]
    (diag,) = map_driver_log("0(3) : error C0000: syntax error, unexpected '}'", FILE, source)
    assert str(diag) == f"{FILE}:3: syntax error, unexpected '}}'\n    3 | }}"
    (warning,) = map_driver_log('0(2) : warning C7050: "c" might be used', FILE, source)
    assert str(warning).startswith(f"{FILE}:2: warning: ")


def test_a_log_without_a_line_is_kept_whole():
    (diag,) = map_driver_log("Link failed: too many uniforms", FILE, SOURCE)
    assert diag.line is None and diag.message == "Link failed: too many uniforms"
    assert str(diag) == f"{FILE}: Link failed: too many uniforms"


def test_an_empty_log_still_says_what_failed():
    (diag,) = map_driver_log("GLSL Compiler failed\n\nfragment_shader\n=====\n\n", FILE, SOURCE)
    assert diag.line is None and "failed to compile" in diag.message


def test_this_drivers_log_points_at_the_artists_line(ctx: moderngl.Context, tmp_path: Path):
    """Whatever the driver says, the error names the file and the line of the typo."""
    shader = tmp_path / "typo.glsl"
    lines = [
        "// a comment",
        "void mainImage(out vec4 fragColor, in vec2 fragCoord) {",
        "    vec2 uv = fragCoord / iResolution.xy;",
        "    float t = iTmie * 0.25;",
        "    fragColor = vec4(uv, t, 1.0);",
        "}",
    ]
    shader.write_text("\n".join(lines) + "\n")
    with pytest.raises(ShaderError) as caught:
        load_generator(ctx, shader)
    first = caught.value.errors[0]
    assert (first.file, first.line) == (shader, 4)
    assert "iTmie" in first.message
    assert first.source_line == "float t = iTmie * 0.25;"
