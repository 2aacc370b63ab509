"""Files that session fixtures make (clips encoded by ffmpeg, simulated captures), made once
per test run rather than once per pytest-xdist worker.

A session fixture runs once in every worker: the fixtures that encode test clips ran ffmpeg
four times each (220 ffmpeg runs, 17 s of CPU in a run of the suite, three quarters of it
repeated work). :func:`made_once` makes such files once, in a folder that the run's workers
share, under a lock: the first worker to ask makes them, the others wait for it and reuse
them. The files must be read-only to the tests that use them (as they already were: a
session fixture is shared by the tests of its worker).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def shared_temp(factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder: the workers' common parent under xdist, else the base."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(factory: pytest.TempPathFactory, key: str, make: Callable[[Path], T]) -> T:
    """``make(folder)``'s result, computed once per run for ``key`` (a name unique in the
    suite). ``make`` writes its files into the empty ``folder`` it is given and returns what
    the fixture returns (picklable: paths, dicts of paths). A ``make`` that raised is tried
    again by the next worker, so each worker reports the failure itself."""
    root = shared_temp(factory)
    folder = root / f"made-once-{key}"
    done = root / f"made-once-{key}.pickle"
    with open(root / f"made-once-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if done.exists():
            return pickle.loads(done.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # what a failed make left
        folder.mkdir()
        result = make(folder)
        partial = done.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(result))
        partial.replace(done)
        return result
