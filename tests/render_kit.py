"""Render show folders in a child process, so a native abort fails a test instead of pytest.

``python -m tests.render_kit DIR...`` loads each show and renders one frame of every output
(headless GL, ``mapping.recorder.render_show``), printing ``start DIR`` before and
``ok DIR`` after each (or ``rejected DIR``: ``load_show`` refused it). An exception or a
native abort (exit 134, "stack smashing detected") ends the process early: the last
``start`` line names the show that did it. :func:`render_in_child` runs it and returns
what each show did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def render_in_child(folders: list[Path], timeout: float = 300) -> dict[Path, str]:
    """Render each folder in one child process; ``{folder: "ok" | "rejected"}``.

    Raises AssertionError naming the show that crashed the child (with its output).
    """
    if not folders:
        return {}
    result = subprocess.run(
        [sys.executable, "-m", "tests.render_kit", *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    outcomes: dict[Path, str] = {}
    current = None
    for line in result.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word == "start":
            current = Path(rest)
        elif word in ("ok", "rejected"):
            outcomes[Path(rest)] = word
            current = None
    if result.returncode != 0 or current is not None:
        text = (current / "show.toml").read_text() if current else ""
        raise AssertionError(
            f"rendering {current} ended the process (exit {result.returncode}):\n"
            f"{result.stderr[-3000:]}\n--- show.toml ---\n{text}"
        )
    return outcomes


def main(folders: list[str]) -> int:
    import logging

    from mapping.errors import ValidationError
    from mapping.gl.context import create_headless_context
    from mapping.recorder import render_show
    from mapping.show import load_show

    logging.basicConfig(level=logging.WARNING)
    ctx = create_headless_context()
    for folder in map(Path, folders):
        print(f"start {folder}", flush=True)
        try:
            show = load_show(folder)
        except ValidationError:
            print(f"rejected {folder}", flush=True)
            continue
        render_show(ctx, show, folder / "out", frames=1, fps=30.0, progress=False)
        print(f"ok {folder}", flush=True)
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
