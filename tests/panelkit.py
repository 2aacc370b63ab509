"""A live show on its own render thread with the web panel, for the panel's tests, the
screenshot script and the benchmark."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path
from typing import Any

from mapping.control.panel import PanelServer
from mapping.live import ShowLibrary
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import Show, load_show

REPO = Path(__file__).resolve().parents[1]
TOKEN = "correct-horse-battery"


def demo_copy(root: Path) -> Path:
    """A private copy of the demo show (and the venue's calibrations) under ``root``."""
    shutil.copytree(REPO / "shows" / "demo", root / "demo")
    shutil.copytree(REPO / "shows" / "calibrations", root / "calibrations")
    return root / "demo"


def small(show: Show, width: int = 160, height: int = 90) -> Show:
    """The show on a small canvas and small outputs (corner pins scaled with them)."""
    return dataclasses.replace(
        show,
        canvas=dataclasses.replace(show.canvas, size_px=(width, height)),
        outputs=tuple(dataclasses.replace(o, resolution=(width, height)) for o in show.outputs),
    )


class LiveShowThread:
    """ShowPlayer on HeadlessOutputs (its own EGL context) running ``player.run`` on a
    thread, with a :class:`PanelServer` on a free port of 127.0.0.1."""

    def __init__(
        self,
        show_dir: Path,
        *,
        size: tuple[int, int] | None = (160, 90),
        fps: float = 30.0,
        start_cue: str | None = "1",
        **panel: Any,
    ) -> None:
        self.show_dir = show_dir
        self.size = size
        self.fps = fps
        self.start_cue = start_cue
        self.panel_options = {"port": 0, "token": TOKEN, **panel}
        self.player: ShowPlayer | None = None
        self.panel: PanelServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="render", daemon=True)

    def _load(self, folder: Path) -> Show:
        show = load_show(folder)
        return show if self.size is None else small(show, *self.size)

    def _run(self) -> None:
        try:
            outputs = HeadlessOutputs()  # its own EGL context, current on this thread
            player = ShowPlayer(
                self._load(self.show_dir),
                outputs,
                start_cue=self.start_cue,
                library=ShowLibrary(self.show_dir.parent),
            )
            player.live.loader = self._load
            self.panel = PanelServer(player, "127.0.0.1", **self.panel_options).start()
            self.player = player
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        player.run(fps=self.fps)

    def start(self) -> LiveShowThread:
        self._thread.start()
        self._ready.wait(30.0)
        if self._error is not None:
            raise self._error
        return self

    @property
    def url(self) -> str:
        assert self.panel is not None
        return self.panel.url

    def stop(self) -> None:
        if self.player is not None:
            self.player.running = False
        self._thread.join(10.0)
        if self.panel is not None:
            self.panel.close()
