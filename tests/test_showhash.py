"""The show folder's content hash: what it includes, what it ignores, stable across
machines, the manifest naming the files that differ, the size+mtime cache.

Per-file hashes are checked by coreutils' ``sha256sum -c`` on the manifest, run in the show
folder: an implementation independent of the code under test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mapping.cluster.showhash import (
    FORMAT,
    HashCache,
    ShowHash,
    compare,
    describe,
    digest_of,
    hash_show,
)
from tests.conftest import IN_CI

DEMO_FILES = [
    "../calibrations/demo-venue.toml",
    "media/clip.mp4",
    "media/facade.png",
    "media/logo.png",
    "shaders/aurora.glsl",
    "shaders/embers.fs",
    "shaders/ripple.fs",
    "shaders/sweep.fs",
    "shaders/tide.fs",
    "show.toml",
]
OLD = 1_600_000_000  # a modification time well in the past: cacheable


def age(folder: Path) -> None:
    """Every file's modification time set in the past (as rsync -a gives an old show)."""
    for here, _, names in os.walk(folder):
        for name in names:
            os.utime(Path(here) / name, (OLD, OLD))


def test_manifest_names_the_show_files_and_sha256sum_agrees(show_dir: Path) -> None:
    h = hash_show(show_dir)
    assert [f.name for f in h.files] == DEMO_FILES
    assert h.notes == ()
    sizes = {f.name: f.size for f in h.files}
    assert sizes["media/clip.mp4"] == (show_dir / "media" / "clip.mp4").stat().st_size
    if shutil.which("sha256sum") is None and not IN_CI:
        pytest.skip("coreutils sha256sum missing")
    checked = subprocess.run(
        ["sha256sum", "-c", "--strict", "-"],
        input=h.sha256sum_text(),
        cwd=show_dir,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(DEMO_FILES)
    # the digest's recipe, written out: format line, then name NUL size NUL sha256 LF
    import hashlib

    lines = "".join(f"{f.name}\0{f.size}\0{f.sha256}\n" for f in h.files)
    assert h.digest == hashlib.sha256(f"{FORMAT}\n{lines}".encode()).hexdigest()


def test_same_show_elsewhere_with_other_times_hashes_the_same(
    show_dir: Path, tmp_path: Path
) -> None:
    """Another machine: another absolute path, other modification times, state and
    temporary files of its own."""
    here = hash_show(show_dir)
    other = tmp_path / "elsewhere" / "venue"
    shutil.copytree(show_dir.parent, other)  # demo + calibrations, as rsync of the parent
    node = other / "demo"
    age(other)
    for junk in (
        "state/journal.json",
        "logs/show-2026-11-26.log",
        ".history/show.toml.1",
        "media/.syncthing.clip.mp4.tmp",
        "media/.clip.mp4.Xa81Qz",  # rsync's temporary name
        "show.toml~",
        "media/notes.swp",
        "render.log",
        "media/upload.part",
        "__pycache__/x.pyc",
    ):
        (node / junk).parent.mkdir(parents=True, exist_ok=True)
        (node / junk).write_bytes(b"not show content")
    there = hash_show(node)
    assert there.digest == here.digest and there.files == here.files
    assert compare(here, there) == []


def test_differences_are_named(show_dir: Path) -> None:
    (show_dir / "media" / "spare.png").write_bytes(b"\x89PNG spare")  # named by no key
    reference = hash_show(show_dir)
    clip = show_dir / "media" / "clip.mp4"
    data = bytearray(clip.read_bytes())
    data[1000] ^= 0xFF  # one byte, same size
    clip.write_bytes(bytes(data))
    (show_dir / "media" / "spare.png").unlink()
    (show_dir / "media" / "extra.png").write_bytes(b"\x89PNG")
    cal = show_dir.parent / "calibrations" / "demo-venue.toml"
    cal.write_text(cal.read_text() + "\n# moved a pin\n")
    node = hash_show(show_dir)
    assert node.notes == ()
    assert node.digest != reference.digest
    diffs = compare(reference, node)
    assert [(d.name, d.what.split(" (")[0]) for d in diffs] == [
        ("../calibrations/demo-venue.toml", "differs"),
        ("media/clip.mp4", "differs"),
        ("media/extra.png", "only here"),
        ("media/spare.png", "missing here"),
    ]
    assert "same size, other content" in diffs[1].what
    assert describe(diffs, limit=2).endswith("; and 2 more")


def test_a_file_the_show_does_not_name_still_counts(show_dir: Path) -> None:
    before = hash_show(show_dir).digest
    (show_dir / "media" / "spare.mp4").write_bytes(b"spare")
    assert hash_show(show_dir).digest != before


def test_cache_skips_unchanged_files_and_rereads_changed_ones(
    show_dir: Path, tmp_path: Path
) -> None:
    age(show_dir.parent)
    cache_file = tmp_path / "cache" / "showhash.json"
    cache = HashCache(cache_file)
    first = hash_show(show_dir, cache)
    assert cache.bytes_read == first.total_bytes and cache.hits == 0
    again = HashCache(cache_file)  # a new process: from the file
    second = hash_show(show_dir, again)
    assert second == first
    assert again.bytes_read == 0 and again.hits == len(DEMO_FILES)
    shader = show_dir / "shaders" / "aurora.glsl"
    shader.write_text(shader.read_text() + "// edit\n")  # new size, new time
    third = hash_show(show_dir, again)
    assert again.bytes_read == shader.stat().st_size
    assert [d.name for d in compare(first, third)] == ["shaders/aurora.glsl"]


def test_recently_modified_files_are_not_cached(show_dir: Path) -> None:
    """A file written within the last 2 s could change again within the same time stamp."""
    for here, _, names in os.walk(show_dir.parent):  # the show and its calibrations
        for name in names:
            os.utime(Path(here) / name)  # modified now
    cache = HashCache()
    hash_show(show_dir, cache)
    read = cache.bytes_read
    hash_show(show_dir, cache)
    assert cache.bytes_read == 2 * read


def test_unreadable_cache_file_is_ignored(show_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cache.json"
    bad.write_text("{not json")
    assert hash_show(show_dir, HashCache(bad)).digest == hash_show(show_dir).digest


def test_invalid_show_still_hashes_its_folder_with_a_note(show_dir: Path) -> None:
    (show_dir / "show.toml").write_text("this is = = not toml")
    h = hash_show(show_dir)
    assert "show file does not load" in h.notes[0]
    assert "../calibrations/demo-venue.toml" not in h.manifest
    assert "media/clip.mp4" in h.manifest and "show.toml" in h.manifest


def test_json_round_trip_and_bad_manifests(show_dir: Path) -> None:
    h = hash_show(show_dir)
    assert ShowHash.from_json(h.to_json()) == h
    assert digest_of(tuple(reversed(h.files))) == h.digest  # order does not matter
    with pytest.raises(ValueError, match="expected format"):
        ShowHash.from_json({"digest": "x"})
    with pytest.raises(ValueError, match="malformed"):
        ShowHash.from_json({"format": FORMAT, "digest": "x", "files": [["a", "b"]]})


def test_hash_command_names_differences(
    show_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from run_show import main

    assert main(["hash", str(show_dir), "--json"]) == 0
    reference = tmp_path / "controller.json"
    reference.write_text(capsys.readouterr().out)
    assert main(["hash", str(show_dir), "--against", str(reference)]) == 0
    out = capsys.readouterr()
    assert ShowHash.from_json(json.loads(reference.read_text())).digest in out.out
    (show_dir / "shaders" / "aurora.glsl").write_text("// another shader\n")
    assert main(["hash", str(show_dir), "--against", str(reference)]) == 1
    err = capsys.readouterr().err
    assert "1 file differs" in err and "shaders/aurora.glsl: differs" in err
    assert main(["hash", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["hash", str(show_dir), "--against", str(show_dir / "show.toml")]) == 2
