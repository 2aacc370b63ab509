"""Live input latency, capture to drawn, through LiveInput and the renderer, against PyAV alone.

What it measures
    How old a live camera's picture is when the show draws it. The camera is virtual
    (``tests/livekit.FifoCamera``: no capture card or v4l2loopback here): raw RGB frames of
    ``--size`` written into a named pipe in real time at ``--fps`` by a separate process
    (so, like a real camera, it captures on time whatever this process does), each
    carrying, in its top-left 64×48 pixels, the ``CLOCK_MONOTONIC`` time at which it was
    written (the same clock as ``time.monotonic()`` here). The true age of
    a frame is therefore read from the picture itself, wherever it is looked at.

How
    One process, one headless GL context; each row runs ``--seconds`` with a fresh camera:

    * ``PyAV alone`` (the baseline): ``av.open`` on the pipe and a decode loop, every frame
      to an RGB array as fast as it comes; age = when the array is ready − the time in it.
      This is the floor: pipe, demuxer and conversion, nothing else.
    * ``LiveInput.latest()``: the capture thread keeps the newest frame; a loop at
      ``--render-hz`` (the show's frame rate) takes it; age = when the loop first holds a
      frame − the time in it (includes waiting for the loop's next tick).
    * ``LiveInput → Renderer (picture)``: a show with one live layer covering the canvas
      (``--size``); each tick ``renderer.render`` then ``ctx.finish()``, so the upload and
      the composite are done; age = after ``finish`` − the time read back from the output's
      pixels (the output is the canvas's top-left 64×48, so reading it back costs nothing).
    * ``LiveInput → Renderer (own estimate)``: the same frames, as ``live_input.latency_s``
      reports them (capture time from the stream's timestamps anchored at the earliest
      arrival, to the draw): what the show exposes without a stamped picture.
    * ``lavfi testsrc2 → Renderer (own estimate)``: FFmpeg's virtual device at ``--size``
      and ``--fps`` (YUV 4:2:0 planes, converted on the GPU), ``live_input.latency_s``.

How to read the table
    ``frames``: frames measured (drawn or taken); ``p50``/``p95``/``max``: age in ms;
    ``vs PyAV``: the row's p50 minus the baseline's p50 (what LiveInput and the renderer
    add); ``drops``: frames the device delivered that were replaced by a newer one before
    the show took them (a 30 fps camera drawn at 60 Hz should drop none; a slow renderer
    drops rather than falls behind); ``draw ms``: the median time of one ``render`` +
    ``finish`` (renderer rows): above ``1000 / --render-hz`` the show cannot draw at its
    rate and frames are dropped. On llvmpipe the GPU is the CPU: upload and composite of
    a 1280×720 frame take milliseconds that a real GPU does not.

Run ``python bench/bench_live.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from _common import format_table

from mapping.cues import CueEngine
from mapping.gl.context import create_headless_context
from mapping.gl.renderer import Renderer
from mapping.gl.sources.live import LiveSource
from mapping.media.live_input import LiveInput
from mapping.show import Canvas, Layer, LiveDevice, Output, Show, Surface
from tests.livekit import STAMP_SIZE_PX, FifoCamera, read_stamp

log = logging.getLogger("bench_live")


class Row:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ages_s: list[float] = []
        self.drops = 0
        self.draw_s: list[float] = []  # render + finish per tick (renderer rows)

    def cells(self, baseline_p50_s: float | None) -> list[str]:
        draw = f"{np.percentile(self.draw_s, 50) * 1000.0:.1f}" if self.draw_s else "-"
        if not self.ages_s:
            return [self.name, "0", "-", "-", "-", "-", str(self.drops), draw]
        ms = np.asarray(self.ages_s) * 1000.0
        p50 = float(np.percentile(ms, 50))
        extra = "-" if baseline_p50_s is None else f"{p50 - baseline_p50_s * 1000.0:+.1f}"
        return [
            self.name,
            str(len(ms)),
            f"{p50:.1f}",
            f"{np.percentile(ms, 95):.1f}",
            f"{ms.max():.1f}",
            extra,
            str(self.drops),
            draw,
        ]


def now_us() -> float:
    return time.monotonic_ns() / 1000.0


def pyav_alone(fifo: Path, camera: FifoCamera, seconds: float) -> Row:
    row = Row("PyAV alone (baseline)")
    container = av.open(str(fifo), format="rawvideo", options=camera.options)
    try:
        end = time.monotonic() + seconds
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            row.ages_s.append((now_us() - read_stamp(image)) / 1e6)
            if time.monotonic() >= end:
                break
    finally:
        container.close()
    return row


def ticks(hz: float, seconds: float, body: Callable[[float], None]) -> None:
    """Call ``body(t)`` at ``hz`` for ``seconds`` (a render loop's pacing)."""
    start = time.monotonic()
    n = 0
    while (t := time.monotonic() - start) < seconds:
        body(t)
        n += 1
        delay = start + n / hz - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def live_input_latest(fifo: Path, camera: FifoCamera, seconds: float, hz: float) -> Row:
    row = Row("LiveInput.latest()")
    live = LiveInput(str(fifo), "rawvideo", camera.options, yuv_planes=False)
    try:
        if live.wait_frame(timeout_s=5.0) is None:
            raise RuntimeError(f"no frame from the camera: {live.stats()}")
        last = -1

        def take(_t: float) -> None:
            nonlocal last
            frame = live.latest()
            if frame is not None and frame.frame.index != last:
                assert frame.frame.image is not None
                row.ages_s.append((now_us() - read_stamp(frame.frame.image)) / 1e6)
                last = frame.frame.index

        drops_before = live.stats().drops
        ticks(hz, seconds, take)
        row.drops = live.stats().drops - drops_before
    finally:
        live.close()
    return row


def live_show(device: LiveDevice, size: tuple[int, int]) -> Show:
    """One live layer over the whole canvas; the output is the canvas's top-left corner."""
    w, h = size
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surface = Surface("all", "out", rect, np.eye(3), "homography")
    layer = Layer("cam", "live", device, 1.0, "normal", (0.0, 0.0, float(w), float(h)))
    output = Output("out", STAMP_SIZE_PX)
    return Show(Path("."), "bench", Canvas(size), (output,), (surface,), (layer,), ())


def through_renderer(
    ctx, device: LiveDevice, size: tuple[int, int], seconds: float, hz: float, stamped: bool
) -> tuple[Row | None, LiveSource, int, list[float]]:
    """Draw the live layer at ``hz``; the picture's age per new frame (if ``stamped``)."""
    show = live_show(device, size)
    renderer = Renderer(ctx, show)
    engine = CueEngine(show)
    row = Row("LiveInput → Renderer (picture)") if stamped else None
    draw_s: list[float] = []
    try:
        renderer.render(engine.tick(0.0))
        (source,) = (s for s in renderer._sources.values() if isinstance(s, LiveSource))
        if source.input.wait_frame(timeout_s=5.0) is None:
            raise RuntimeError(f"no frame from {device.path}: {source.input.stats()}")
        drops_before = source.input.stats().drops
        measured_before = source.input.latency_s.count
        shown = source.frame_index

        def draw(t: float) -> None:
            nonlocal shown
            started = time.perf_counter()
            renderer.render(engine.tick(t))
            ctx.finish()
            done_us = now_us()
            draw_s.append(time.perf_counter() - started)
            if row is not None and source.frame_index != shown:
                shown = source.frame_index
                row.ages_s.append((done_us - read_stamp(renderer.read_output("out"))) / 1e6)

        ticks(hz, seconds, draw)
        drops = source.input.stats().drops - drops_before
        if row is not None:
            row.drops = drops
            row.draw_s = draw_s
        measured = source.input.latency_s.count - measured_before
        return row, source, min(measured, 600) if measured else 0, draw_s
    finally:
        renderer.release()


def own_estimate(name: str, source: LiveSource, measured: int, drops: int) -> Row:
    row = Row(name)
    # The input keeps its latest samples (bounded); the last `measured` are this row's.
    samples = source.input.latency_samples_s()[-measured:] if measured else []
    row.ages_s = samples
    row.drops = drops
    return row


def run_camera(fifo: Path, fps: float, size: tuple[int, int], body: Callable[[FifoCamera], Row]):
    camera = FifoCamera(fifo, fps, size, process=True).start()
    try:
        return body(camera)
    finally:
        camera.unplug()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="camera frame size (default 1280x720)")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frame rate")
    parser.add_argument("--render-hz", type=float, default=60.0, help="the show's frame rate")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured time per row")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s: %(message)s"
    )
    w, h = (int(v) for v in args.size.lower().split("x"))
    size = (w, h)
    if w < STAMP_SIZE_PX[0] or h < STAMP_SIZE_PX[1]:
        parser.error(f"--size must be at least {STAMP_SIZE_PX[0]}x{STAMP_SIZE_PX[1]}")
    ctx = create_headless_context()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_live_") as tmp:
        fifo = Path(tmp) / "camera.fifo"
        rows.append(run_camera(fifo, args.fps, size, lambda c: pyav_alone(fifo, c, args.seconds)))
        rows.append(
            run_camera(
                fifo,
                args.fps,
                size,
                lambda c: live_input_latest(fifo, c, args.seconds, args.render_hz),
            )
        )

        def rendered(camera: FifoCamera) -> Row:
            device = LiveDevice(str(fifo), "rawvideo", tuple(sorted(camera.options.items())))
            row, source, measured, draw_s = through_renderer(
                ctx, device, size, args.seconds, args.render_hz, stamped=True
            )
            assert row is not None
            rows.append(row)
            own = own_estimate("LiveInput → Renderer (own estimate)", source, measured, row.drops)
            own.draw_s = draw_s
            return own

        rows.append(run_camera(fifo, args.fps, size, rendered))
    graph = f"testsrc2=size={w}x{h}:rate={args.fps:g}"
    _, source, measured, draw_s = through_renderer(
        ctx, LiveDevice(graph, "lavfi"), size, args.seconds, args.render_hz, stamped=False
    )
    lavfi = own_estimate("lavfi testsrc2 → Renderer (own estimate)", source, measured, 0)
    lavfi.drops, lavfi.draw_s = source.input.stats().drops, draw_s
    rows.append(lavfi)

    baseline = statistics.median(rows[0].ages_s) if rows[0].ages_s else None
    headers = ["row", "frames", "p50 ms", "p95 ms", "max ms", "vs PyAV", "drops", "draw ms"]
    table = [rows[0].cells(None), *(row.cells(baseline) for row in rows[1:])]
    print(
        f"Live input latency, capture to drawn: camera {w}x{h} RGB at {args.fps:g} fps "
        f"(named pipe), show drawn at {args.render_hz:g} Hz, {args.seconds:g} s per row"
    )
    print(
        f"GL_RENDERER: {ctx.info['GL_RENDERER']} | host: {platform.machine()}, "
        f"{os.cpu_count()} CPUs | Python {platform.python_version()} | PyAV {av.__version__} | "
        f"threads now {threading.active_count()}"
    )
    print(format_table(headers, table))
    ctx.release()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
