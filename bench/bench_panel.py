"""Web panel: render-thread cost of the output thumbnails, and GO-to-frame delay from the page.

What it measures
    (1) **Thumbnail cost on the render thread**: the demo show at its real sizes (canvas
        1600×900, two 1280×720 outputs; the sky shader moves, so every frame is drawn),
        stepped as fast as it goes on headless outputs. Blocks of frames alternate between
        no page connected (the baseline: the panel's frame listener returns at once) and a
        page connected over the WebSocket (state differences every frame; a thumbnail of one
        output every 1 / (4 fps × 2 outputs) s: GPU area-average into a 192×108 FBO, small
        read-back through a pack buffer, collected the next frame). Reported: the panel's
        frame listener per frame (all of its render-thread work; ``ctx.finish()`` is called
        inside the timing after a capture so the GPU work is counted, not deferred), per
        capture, and the mean frame time of both modes. Target on a GPU: ≤ 0.3 ms per frame.
    (2) **GO from the page to the frame that shows the cue**: a tiny looping show (one
        160×90 output, two cues) runs ``ShowPlayer.run`` at 60 Hz on its own thread; a
        logged-in client with the WebSocket open posts GO to ``/api/command`` (what the
        page's button does) at random moments of the frame cycle. Measured from the POST:
        (a) the end of the first frame whose Status shows the new cue (rendered and
        presented), (b) the POST's answer, (c) the WebSocket push of the new cue (what the
        page draws). Baseline (same process, same show): ``player.submit("go")`` from
        another thread to (a), without HTTP.

Run: ``python bench/bench_panel.py`` (``--frames 60 --gos 100``). Same machine, same run.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's mapping/, not an installed copy

import aiohttp  # noqa: E402
from _common import TWO_CUE_SHOW, format_table  # noqa:E402

from mapping.control.panel import PanelServer  # noqa: E402
from mapping.outputs import HeadlessOutputs  # noqa: E402
from mapping.player import ShowPlayer  # noqa: E402
from mapping.show import load_show  # noqa: E402
from tests.panelkit import TOKEN, LiveShowThread, demo_copy  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _client_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


class _Watcher:
    """A logged-in page's WebSocket, kept open on its own thread and loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        self.ready.wait(10.0)

    async def _run(self) -> None:
        async with _client_session() as s:
            async with s.post(self.url + "api/login", json={"token": TOKEN}) as r:
                csrf = (await r.json())["csrf"]
            async with s.ws_connect(f"{self.url}ws?csrf={csrf}") as ws:
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        await asyncio.wait_for(ws.receive(), 0.1)
                    except TimeoutError:
                        pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5.0)


def thumbnail_cost(frames: int, blocks: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        show = load_show(demo_copy(Path(tmp)))
        player = ShowPlayer(show, HeadlessOutputs(), start_cue="2")
        panel = PanelServer(player, "127.0.0.1", 0, TOKEN).start()
        ctx = player.outputs.ctx
        listener_ms: list[float] = []
        capture_ms: list[float] = []
        original = panel._on_frame

        def timed(p: ShowPlayer) -> None:
            ctx.finish()  # the frame's own drawing is done: not counted as the panel's
            before = panel.thumbnail_captures
            t0 = time.perf_counter()
            original(p)
            if panel.thumbnail_captures != before:
                ctx.finish()  # count the GPU work of the capture here, not in the next frame
            dt = (time.perf_counter() - t0) * 1e3
            if panel.watching:
                listener_ms.append(dt)
                if panel.thumbnail_captures != before:
                    capture_ms.append(dt)

        player.frame_listeners[player.frame_listeners.index(original)] = timed
        frame_ms: dict[bool, list[float]] = {False: [], True: []}
        t = 0.0
        for _ in range(5):  # warm-up: shaders, the clip's decoder
            t += 1 / 30
            player.step(t)
        watcher: _Watcher | None = None
        try:
            for block in range(2 * blocks):
                watching = block % 2 == 1
                if watching and watcher is None:
                    watcher = _Watcher(panel.url)
                    while not panel.watching:
                        t += 1 / 30
                        player.step(t)
                elif not watching and watcher is not None:
                    watcher.close()
                    watcher = None
                    while panel.watching:
                        t += 1 / 30
                        player.step(t)
                for _ in range(frames):
                    t += 1 / 30
                    t0 = time.perf_counter()
                    player.step(t)
                    ctx.finish()
                    frame_ms[watching].append((time.perf_counter() - t0) * 1e3)
        finally:
            if watcher is not None:
                watcher.close()
            panel.close(release_gl=True)
            player.close()

    def row(name: str, ms: list[float], digits: int = 2) -> list[str]:
        mean, p99 = statistics.mean(ms), _pct(ms, 0.99)
        return [name, f"{mean:.{digits}f}", f"{p99:.{digits}f}", str(len(ms))]

    return [
        row("frame, no page connected (baseline)", frame_ms[False]),
        row("frame, a page connected", frame_ms[True]),
        row("panel listener per frame (all its work)", listener_ms, 3),
        row("  of which frames with a capture", capture_ms, 3),
        row("  of which frames without", [m for m in listener_ms if m not in capture_ms], 3),
    ]


def go_latency(gos: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        folder.mkdir()
        (folder / "show.toml").write_text(TWO_CUE_SHOW)
        live = LiveShowThread(folder, size=None, fps=60.0, start_cue="1").start()
        player = live.player
        shown: list[tuple[float, str | None]] = []
        last = [player.status.cue]

        def on_frame(p: ShowPlayer) -> None:
            if p.status.cue != last[0]:
                last[0] = p.status.cue
                shown.append((time.perf_counter(), p.status.cue))

        player.frame_listeners.insert(0, on_frame)
        frame_s = 1 / 60

        def wait_shown(count: int) -> float:
            deadline = time.monotonic() + 2.0
            while len(shown) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError("GO was not shown within 2 s")
                time.sleep(0.0005)
            return shown[count - 1][0]

        baseline: list[float] = []
        for _ in range(gos):
            time.sleep(random.uniform(0.02, 0.02 + frame_s))
            n = len(shown)
            t0 = time.perf_counter()
            player.submit("go", source="bench")
            baseline.append((wait_shown(n + 1) - t0) * 1e3)

        async def page() -> tuple[list[float], list[float], list[float]]:
            to_frame, to_answer, to_push = [], [], []
            async with _client_session() as s:
                async with s.post(live.url + "api/login", json={"token": TOKEN}) as r:
                    csrf = (await r.json())["csrf"]
                async with s.ws_connect(f"{live.url}ws?csrf={csrf}") as ws:
                    await ws.receive_json()
                    for _ in range(gos):
                        await asyncio.sleep(random.uniform(0.02, 0.02 + frame_s))
                        n = len(shown)
                        t0 = time.perf_counter()
                        async with s.post(
                            live.url + "api/command",
                            json={"name": "go"},
                            headers={"X-CSRF-Token": csrf},
                        ) as r:
                            assert (await r.json())["ok"]
                        to_answer.append((time.perf_counter() - t0) * 1e3)
                        while True:
                            m = await ws.receive_json()
                            if m["type"] == "state" and "cue" in m["data"]:
                                break
                        to_push.append((time.perf_counter() - t0) * 1e3)
                        to_frame.append((wait_shown(n + 1) - t0) * 1e3)
            return to_frame, to_answer, to_push

        try:
            to_frame, to_answer, to_push = asyncio.run(page())
        finally:
            live.stop()

    def row(name: str, ms: list[float]) -> list[str]:
        return [
            name,
            f"{statistics.median(ms):.2f}",
            f"{_pct(ms, 0.99):.2f}",
            f"{max(ms):.2f}",
            f"{_pct(ms, 0.99) / (frame_s * 1e3):.2f}",
        ]

    return [
        row("player.submit → frame shown (baseline)", baseline),
        row("page GO (POST) → frame shown", to_frame),
        row("page GO (POST) → answer", to_answer),
        row("page GO (POST) → WebSocket push", to_push),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per block (4 blocks)")
    parser.add_argument("--blocks", type=int, default=2, help="blocks of each mode")
    parser.add_argument("--gos", type=int, default=100)
    args = parser.parse_args()
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl")
    renderer = ctx.info["GL_RENDERER"]
    ctx.release()
    print(f"{platform.node()} · {platform.processor() or platform.machine()} · GL: {renderer}")
    print()
    print(
        "(1) render-thread cost of the panel (demo show, 2 × 1280×720 outputs, 4 thumbnails/s each)"
    )
    rows = thumbnail_cost(args.frames, args.blocks)
    print(format_table(["", "mean ms", "p99 ms", "n"], rows))
    print()
    print(f"(2) GO to the frame that shows the cue, 60 Hz, {args.gos} GOs each")
    rows = go_latency(args.gos)
    print(format_table(["", "median ms", "p99 ms", "max ms", "p99 frames"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
