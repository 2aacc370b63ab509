"""``run_show.py media SHOW_DIR``: the table and JSON of a show's media, and the exit status
(0: no problems, 1: some file has problems, 2: the show file is invalid)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import run_show

REPO = Path(__file__).resolve().parents[1]


def media_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = run_show.main(["media", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_demo_show_lists_every_file_and_exits_0():
    result = subprocess.run(
        [sys.executable, str(REPO / "run_show.py"), "media", "shows/demo"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("file "))
    for column in ("kind", "codec", "resolution", "fps", "duration", "audio", "alpha", "problems"):
        assert column in header
    rows = {line.split()[0]: line for line in lines if line.startswith(("media/", "shaders/"))}
    assert set(rows) == {
        "media/facade.png",
        "media/clip.mp4",
        "media/logo.png",
        "shaders/aurora.glsl",
        "shaders/tide.fs",
        "shaders/embers.fs",
        "shaders/ripple.fs",
        "shaders/sweep.fs",
    }
    assert rows["media/clip.mp4"].split()[1:4] == ["video", "H.264", "(BT.601?)"]
    assert "480×270" in rows["media/clip.mp4"] and "4.00 s" in rows["media/clip.mp4"]
    assert "yes" in rows["media/logo.png"]  # the logo has alpha
    assert "untagged: assuming BT.601" in result.stdout  # a note, not a problem
    assert lines[-1] == "8 file(s), 8 used by the show, no problems"


def test_unused_and_broken_files_are_listed_with_their_reasons_and_exit_1(
    show_dir: Path, capsys: pytest.CaptureFixture[str]
):
    media = show_dir / "media"
    (media / "spare.mp4").write_bytes(b"")  # delivered but not named by the show
    (media / "readme.txt").write_text("edit notes")  # not media at all: a note, no problem
    (media / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: not listed
    (media / "clip.mp4").write_text("this was meant to be the clip\n")  # named by the show
    status, out, err = media_cli(capsys, str(show_dir))
    assert status == 1 and "Traceback" not in err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("media/")}
    assert set(rows) == {
        "media/facade.png",
        "media/clip.mp4",
        "media/logo.png",
        "media/spare.mp4",
        "media/readme.txt",
    }
    assert rows["media/spare.mp4"].endswith("1 problem  (not used)")
    assert rows["media/readme.txt"].endswith("—  (not used)")
    assert rows["media/clip.mp4"].endswith("1 problem")
    assert "✗ empty file (0 bytes): expected a video file" in out
    assert "✗ a text file, not media: expected a video file" in out
    assert out.splitlines()[-1] == "10 file(s), 8 used by the show, 2 with problems (2 in all)"


def test_json_output(show_dir: Path, capsys: pytest.CaptureFixture[str]):
    (show_dir / "media" / "spare.mp4").write_bytes(b"")
    status, out, _ = media_cli(capsys, str(show_dir), "--json")
    data = json.loads(out)
    assert status == 1 and data["exit_status"] == 1 and data["problem_count"] == 1
    files = {f["file"]: f for f in data["files"]}
    clip = files["media/clip.mp4"]
    assert (clip["kind"], clip["codec"], clip["width"], clip["height"]) == (
        "video",
        "H.264",
        480,
        270,
    )
    assert clip["used"] and "layers[1].file" in clip["uses"]
    assert clip["colour"] == {
        "matrix": "BT.601",
        "range": "limited",
        "transfer": None,
        "guessed": True,
    }
    assert files["media/facade.png"]["uses"] == ["canvas.reference"]
    assert files["shaders/aurora.glsl"]["kind"] == "shader"
    spare = files["media/spare.mp4"]
    assert not spare["used"] and spare["problems"][0].startswith("empty file")


def test_an_invalid_show_file_exits_2_like_check(
    show_dir: Path, capsys: pytest.CaptureFixture[str]
):
    (show_dir / "show.toml").write_text("schema_version = 1\nname = \n")
    status, out, err = media_cli(capsys, str(show_dir))
    assert status == 2 and out == ""
    assert "show.toml" in err
