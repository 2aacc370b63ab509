"""``check`` opens every media file and compiles every shader, reporting all that fail."""

from __future__ import annotations

from pathlib import Path

from mapping.check import check_show
from mapping.gl.context import create_headless_context


def test_a_valid_show_checks_clean_and_summarises(show_dir: Path):
    report = check_show(show_dir, ctx_factory=create_headless_context)
    assert report.ok, report.problems
    summary = report.summary()
    assert "right-wing" in summary and "calibration (demo-venue.toml)" in summary


def test_undecodable_media_and_a_broken_shader_are_all_reported(show_dir: Path):
    (show_dir / "media" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (show_dir / "media" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    shader = show_dir / "shaders" / "aurora.glsl"
    shader.write_text("void mainImage(out vec4 c, in vec2 p) {\n  c = vec4(1.0)\n}\n")
    report = check_show(show_dir, ctx_factory=create_headless_context)
    assert not report.ok
    by_key = {p.key_path: p for p in report.problems}
    assert set(by_key) == {"layers[0].shader", "layers[1].file", "layers[2].file"}
    assert "logo.png" in by_key["layers[2].file"].message
    assert "expected an image file" in by_key["layers[2].file"].message
    assert "clip.mp4" in by_key["layers[1].file"].message
    assert by_key["layers[0].shader"].file == shader
    assert by_key["layers[0].shader"].line in (2, 3)  # the missing ';' is seen at line 2 or 3


def test_a_show_that_does_not_load_reports_its_problems_and_no_summary(show_dir: Path):
    (show_dir / "show.toml").write_text("schema_version = 2\n")
    report = check_show(show_dir, ctx_factory=create_headless_context)
    assert report.show is None and not report.ok
    assert any(p.key_path == "schema_version" for p in report.problems)
    assert report.summary() == ""
