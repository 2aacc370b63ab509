"""``mapping.atomic.write_atomic``: readers see the old file or the new one, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mapping.atomic import write_atomic


def test_the_temporary_file_is_renamed_within_the_targets_folder(tmp_path, monkeypatch):
    """A rename across file systems fails (EXDEV) or, done as a copy, is not atomic."""
    target = tmp_path / "state" / "status.json"
    target.parent.mkdir()
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def recording_replace(src, dst):
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    write_atomic(target, b'{"frames": 1}')
    write_atomic(target, b'{"frames": 2}', durable=False)
    assert [dst for _, dst in renames] == [target, target]
    for src, _ in renames:
        assert src.parent == target.parent
        assert src.name.startswith(".status.json.") and src.name.endswith(".tmp")
    assert target.read_bytes() == b'{"frames": 2}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["status.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "status.json"
    write_atomic(target, b"old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]
