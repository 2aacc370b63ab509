"""``kill -9`` during ``render`` leaves only usable files (issue 10).

Before: in 2 of 8 tries the last PNG was truncated under its final name, and the
``--video`` MP4s were 48-byte unplayable files. Now each PNG is written to a temporary
name and renamed, and the MP4 is fragmented: it plays up to the frames encoded so far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2

from tests.test_bad_input import write_show

REPO = Path(__file__).resolve().parents[1]


def test_a_render_killed_mid_way_leaves_complete_pngs_and_a_playable_mp4(tmp_path: Path):
    show = write_show(tmp_path / "show", ow="64", oh="48")
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "run_show.py", "--log-level", "WARNING", "render", str(show),
         "--out", str(out), "--frames", "100000", "--fps", "30", "--video"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    frames = out / "out"
    video = out / "out.mp4"
    try:
        deadline = time.monotonic() + 90
        # past x264's look-ahead (about 40 frames), so some frames are in the file
        while time.monotonic() < deadline and process.poll() is None:
            written = len(list(frames.glob("*.png"))) if frames.exists() else 0
            if written >= 120 and video.exists() and video.stat().st_size > 2000:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the render ended before it was killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    pngs = sorted(frames.glob("[0-9]*.png"))
    assert len(pngs) >= 120
    assert [p.name for p in pngs] == [f"{n:06d}.png" for n in range(len(pngs))]
    for png in pngs:  # every file under its final name is a whole picture
        image = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert image is not None and image.shape == (48, 64, 3), png
    leftovers = [p.name for p in frames.iterdir() if not p.name[0].isdigit()]
    assert len(leftovers) <= 1 and all(n.endswith(".png.tmp") for n in leftovers), leftovers

    decoded = 0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            assert (frame.width, frame.height) == (64, 48)
            decoded += 1
    assert decoded >= 1
