"""The suite's own helper: files a session fixture makes are made once per run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.madeonce import made_once


def test_workers_asking_at_once_share_one_make(tmp_path_factory: pytest.TempPathFactory):
    calls: list[Path] = []

    def make(folder: Path) -> dict[str, Path]:
        calls.append(folder)
        time.sleep(0.2)  # the others ask while it is being made
        (folder / "clip.mp4").write_bytes(b"made")
        return {"clip": folder / "clip.mp4"}

    results: list[dict[str, Path]] = []
    threads = [
        threading.Thread(target=lambda: results.append(made_once(tmp_path_factory, "share", make)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 4
    assert all(r == results[0] for r in results)
    assert results[0]["clip"].read_bytes() == b"made"


def test_a_make_that_failed_is_tried_again_from_an_empty_folder(tmp_path_factory):
    def broken(folder: Path) -> Path:
        (folder / "half.mp4").write_bytes(b"half")
        raise RuntimeError("ffmpeg failed")

    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        made_once(tmp_path_factory, "retry", broken)

    def good(folder: Path) -> list[str]:
        return sorted(p.name for p in folder.iterdir())  # what the failed make left: nothing

    assert made_once(tmp_path_factory, "retry", good) == []
    assert made_once(tmp_path_factory, "retry", broken) == []  # made: not made again
