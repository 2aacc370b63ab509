"""Specification of the layer-kind table's helpers (``mapping/kinds.py``), pure: which kinds
write their content under which key, which function checks or reads a kind's content, and
a content file's identity written out field by field (path, size, mtime, ISF dependencies).
"""

from __future__ import annotations

import os
from pathlib import Path

from mapping import kinds
from mapping.kinds import ContentId, LayerKind


def test_kinds_taking_lists_the_kinds_of_each_content_key_in_table_order():
    assert kinds.kinds_taking("color") == ("solid",)
    assert kinds.kinds_taking("file") == ("image", "video", "audio")
    assert kinds.kinds_taking("shader") == ("shader", "isf")
    assert kinds.kinds_taking("device") == ("live",)
    assert kinds.kinds_taking("colour") == ()
    assert kinds.CONTENT_KEYS == ("color", "file", "shader", "device")


def test_probe_and_params_functions_are_the_named_functions_or_none():
    from mapping import isf, shader_params
    from mapping.media import probe

    table = kinds.LAYER_KINDS
    assert kinds.probe_function(table["image"]) is probe.check_image
    assert kinds.probe_function(table["video"]) is probe.check_video
    assert kinds.probe_function(table["audio"]) is probe.check_audio
    assert kinds.params_function(table["shader"]) is shader_params.shader_param_specs
    assert kinds.params_function(table["isf"]) is isf.param_specs
    for name in ("solid", "shader", "live", "isf"):
        assert kinds.probe_function(table[name]) is None, name
    for name in ("solid", "image", "video", "live", "audio"):
        assert kinds.params_function(table[name]) is None, name
    empty = LayerKind("x", "file", "file", "anything", probe="", params="")
    assert kinds.probe_function(empty) is None and kinds.params_function(empty) is None
    assert kinds.resolve("os.path:join") is os.path.join


def test_a_missing_file_is_size_and_mtime_minus_one(tmp_path: Path):
    path = tmp_path / "missing.png"
    assert ContentId.of(path) == ContentId(path, -1, -1, ())
    assert ContentId.of(str(path)).path == path  # a str is taken as a Path
    assert not ContentId.of(path).exists
    assert ContentId(path, 0, 5).exists  # an empty file exists


def test_an_existing_file_is_its_size_and_mtime_in_nanoseconds(tmp_path: Path):
    path = tmp_path / "a.png"
    path.write_bytes(b"12345")
    os.utime(path, ns=(7, 1_234_567_891_011))
    assert ContentId.of(path) == ContentId(path, 5, 1_234_567_891_011, ())


def test_an_isf_file_covers_its_vertex_shaders_whatever_the_suffix_case(tmp_path: Path):
    path = tmp_path / "glow.FS"
    vs, vert = tmp_path / "glow.vs", tmp_path / "glow.vert"
    missing = ContentId.of(path)  # missing: the .vs and .vert are still listed
    assert missing == ContentId(path, -1, -1, ((str(vs), -1, -1), (str(vert), -1, -1)))
    path.write_text("void main() {}\n")
    os.utime(path, ns=(1, 2_000_000_000))
    vs.write_text("x" * 11)
    os.utime(vs, ns=(1, 3_000_000_000))
    first = ContentId.of(path)
    assert first == ContentId(
        path, 15, 2_000_000_000, ((str(vs), 11, 3_000_000_000), (str(vert), -1, -1))
    )
    assert not first.changed()
    os.utime(vs, ns=(1, 4_000_000_000))  # the vertex shader saved again: new content
    assert first.changed()
    # a file of another kind has no dependencies, even next to a .vs of its name
    png = tmp_path / "glow.png"
    png.write_bytes(b"x")
    assert ContentId.of(png).deps == ()
