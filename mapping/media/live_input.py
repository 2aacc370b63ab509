"""Live video inputs — cameras and capture cards — read on their own thread (PyAV, no GL).

:class:`LiveInput` owns one live device: a capture thread opens it through PyAV
(``av.open(device, format=..., options=...)``: V4L2 on Linux, or any FFmpeg input such as
``lavfi`` test sources, pipes and network streams), decodes every frame and keeps **only the
newest** one, so memory stays bounded and a slow reader never sees an old frame.
:meth:`LiveInput.latest` hands the newest frame to the render thread without waiting.

A missing or unplugged device is not an error that stops anything: the input goes to
:attr:`LiveState.MISSING` with a reason, :meth:`LiveInput.latest` returns ``None`` (the
layer shows a placeholder), and the device is opened again after a back-off (doubling from
``retry_min_s`` to ``retry_max_s``). An open device that delivers no frame for ``stall_s``
("no signal": a capture card whose source was switched off) counts as missing too, until
frames come again. Each change of state or reason is logged once, with the device and the
reason, never a traceback.

:data:`SHARED` hands every layer naming the same device one :class:`LiveInput` (a V4L2
device can be opened only once), closed when its last user releases it.

Time: every frame carries the moment it existed (``captured_s``, on ``time.monotonic()``),
worked out by :class:`CaptureClock` from the frame's timestamp:

* ``device``: timestamps on the system's monotonic clock (V4L2: FFmpeg passes on the
  kernel's capture timestamp, ``CLOCK_MONOTONIC`` for UVC cameras and most capture cards)
  are used as they are; wall-clock timestamps (V4L2 with ``timestamps = "abs"``) are
  moved onto the monotonic clock;
* ``stream``: timestamps that count from the start of the stream (``lavfi``, pipes,
  network streams) are anchored to the monotonic clock at the earliest arrival seen, so a
  frame arriving later than its timestamp says shows as latency;
* ``arrival``: frames without a timestamp are timed when the capture thread got them.

The reader reports when it drew a frame (:meth:`LiveInput.note_shown`), and
:attr:`LiveInput.latency_s` gives the capture-to-draw latency (p50, p95, max over the last
frames). :meth:`LiveInput.stats` counts frames, drops (frames replaced before anyone took
them), connects, reconnects and failed opens.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import av.container
import numpy as np

from mapping.media.video import VideoFrame, YuvPlanes
from mapping.ratelimit import RateLimitedLog

logger = logging.getLogger(__name__)

# Timestamps within this many seconds of the wall clock are taken as absolute capture times.
ABSOLUTE_WINDOW_S = 10.0
# How many latency samples are kept for the statistics (bounded memory).
LATENCY_WINDOW = 600
# This many undecodable frames in a row and the device counts as lost (wrong format…).
MAX_CORRUPT_RUN = 30

_rate_log = RateLimitedLog(logger, interval_s=10.0)

# 8-bit planar YUV formats whose planes go to the GPU as they are (as VideoClip does);
# the value says whether the format is full range by definition.
_PLANAR_YUV = {
    "yuv420p": False, "yuvj420p": True, "yuv422p": False, "yuvj422p": True,
    "yuv444p": False, "yuvj444p": True,
}  # fmt: skip
_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_BT601 = (5, 6)
_AVCOL_RANGE_JPEG = 2


class LiveState(enum.Enum):
    """Where a live input stands."""

    CONNECTING = "connecting"  # opening the device, no frame yet
    LIVE = "live"  # frames are arriving
    MISSING = "missing"  # could not be opened, or was lost: retried after a back-off
    CLOSED = "closed"  # :meth:`LiveInput.close` was called


@dataclass(frozen=True)
class LiveFrame:
    """One captured frame.

    Attributes:
        frame: the picture, RGB or YUV planes as :class:`~mapping.media.video.VideoFrame`;
            ``frame.index`` counts frames since the input was created (it keeps growing
            across reconnects), ``frame.pts_s`` is the stream's own timestamp in seconds.
        captured_s: when the frame existed, on ``time.monotonic()`` (see :class:`CaptureClock`).
        received_s: when the capture thread had it decoded, on ``time.monotonic()``.
    """

    frame: VideoFrame
    captured_s: float
    received_s: float


@dataclass(frozen=True)
class LatencyStats:
    """Capture-to-draw latency over the last :data:`LATENCY_WINDOW` frames drawn (seconds)."""

    count: int  # frames measured since the input was created
    last_s: float
    mean_s: float
    p50_s: float
    p95_s: float
    max_s: float

    @staticmethod
    def of(samples: list[float], count: int) -> LatencyStats:
        if not samples:
            nan = math.nan
            return LatencyStats(count, nan, nan, nan, nan, nan)
        values = np.asarray(samples, dtype=np.float64)
        return LatencyStats(
            count=count,
            last_s=float(values[-1]),
            mean_s=float(values.mean()),
            p50_s=float(np.percentile(values, 50)),
            p95_s=float(np.percentile(values, 95)),
            max_s=float(values.max()),
        )


@dataclass(frozen=True)
class LiveStats:
    """A snapshot of one input's counters."""

    device: str
    state: LiveState
    reason: str  # why it is missing ("" while live)
    frames: int  # frames captured
    drops: int  # frames replaced by a newer one before anyone took them
    connects: int  # successful opens
    reconnects: int  # successful opens after the first
    failures: int  # opens that failed, and losses of an open device
    stalls: int  # times an open device delivered no frame for the stall time
    corrupt: int  # frames that could not be decoded (skipped)
    size_px: tuple[int, int] | None  # of the last frame
    fps: float | None  # the stream's nominal rate
    clock: str  # "device", "stream" or "arrival" (see CaptureClock)
    latency: LatencyStats


class CaptureClock:
    """When each frame existed, on the monotonic clock, from its timestamp (pure).

    :meth:`capture_time` gets the frame's timestamp in seconds (or ``None``), the monotonic
    time it arrived and the wall-clock time then. A timestamp within
    :data:`ABSOLUTE_WINDOW_S` of the arrival on the monotonic clock, or of the wall clock,
    is the device's own capture time (``device``); any other counts from the start of the
    stream (``stream``) and is anchored at the smallest ``arrival - timestamp`` seen,
    re-anchored when the timestamps go backwards (a restarted stream). The answer is never
    later than the arrival.
    """

    def __init__(self) -> None:
        self._offset_s: float | None = None
        self._last_pts_s: float | None = None
        self.kind = "arrival"

    def capture_time(self, pts_s: float | None, received_s: float, wall_now_s: float) -> float:
        if pts_s is None or not math.isfinite(pts_s):
            self.kind = "arrival"
            return received_s
        if abs(pts_s - received_s) <= ABSOLUTE_WINDOW_S:  # the kernel's monotonic stamp
            self.kind = "device"
            return min(received_s, pts_s)
        if abs(pts_s - wall_now_s) <= ABSOLUTE_WINDOW_S:  # a wall-clock stamp
            self.kind = "device"
            return min(received_s, received_s - (wall_now_s - pts_s))
        self.kind = "stream"
        if self._last_pts_s is not None and pts_s < self._last_pts_s:
            self._offset_s = None  # timestamps restarted: anchor again
        self._last_pts_s = pts_s
        offset = received_s - pts_s
        if self._offset_s is None or offset < self._offset_s:
            self._offset_s = offset
        return min(received_s, self._offset_s + pts_s)


def to_video_frame(
    av_frame: av.VideoFrame, index: int, pts_s: float, yuv_planes: bool
) -> VideoFrame:
    """A decoded PyAV frame as a :class:`VideoFrame`: the decoder's own Y, U, V planes for
    8-bit planar YUV when ``yuv_planes`` (no CPU colour conversion), else RGB."""
    full_range = _PLANAR_YUV.get(av_frame.format.name)
    if yuv_planes and full_range is not None:
        y, u, v = (_plane_array(plane) for plane in av_frame.planes[:3])
        colorspace = int(av_frame.colorspace)
        if colorspace == _AVCOL_SPC_BT709:
            matrix = "bt709"
        elif colorspace in _AVCOL_SPC_BT601:
            matrix = "bt601"
        else:  # untagged: guessed by size, as for clips (SD BT.601, HD BT.709)
            matrix = "bt709" if av_frame.height >= 720 else "bt601"
        full = full_range or int(av_frame.color_range) == _AVCOL_RANGE_JPEG
        return VideoFrame(None, index, pts_s, YuvPlanes(y, u, v, matrix, full))
    image = av_frame.to_ndarray(format="rgb24")
    image.flags.writeable = False
    return VideoFrame(image, index, pts_s)


def _plane_array(plane: av.video.plane.VideoPlane) -> np.ndarray:
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    array = np.ascontiguousarray(rows[:, : plane.width])
    array.flags.writeable = False
    return array


def describe_error(exc: BaseException) -> str:
    """One line for a person: the error's own words, without a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


class LiveInput:
    """One live device read on a capture thread (see module docstring).

    Args:
        device: what FFmpeg opens: ``/dev/video0`` for V4L2, a filter graph for ``lavfi``
            (``testsrc2=size=320x240:rate=30``), a path or URL for other formats.
        format: the FFmpeg input format (``v4l2``, ``lavfi``, ``rawvideo``, ``mpegts``, …).
        options: FFmpeg input options, e.g. ``{"video_size": "1280x720", "framerate": "30",
            "input_format": "mjpeg"}`` for V4L2.
        yuv_planes: hand 8-bit planar YUV frames over as planes (the GPU converts them).
        retry_min_s, retry_max_s: the back-off between attempts to open a missing device.
        open_timeout_s, read_timeout_s: how long an open or a read may wait (network and
            other interruptible inputs) before the device counts as missing.
        stall_s: an open device that delivers no frame for this long (or three frame
            periods, if longer) counts as missing too ("no signal": a capture card whose
            source was switched off) until frames come again.
        start: start the capture thread now (else call :meth:`start`).

    A ``lavfi`` graph that does not pace itself gets ``,realtime`` appended, so a virtual
    device delivers frames at its own rate, like a camera, instead of as fast as it can.
    """

    def __init__(
        self,
        device: str,
        format: str = "v4l2",  # FFmpeg's own name for it
        options: Mapping[str, str] | None = None,
        *,
        yuv_planes: bool = True,
        retry_min_s: float = 1.0,
        retry_max_s: float = 5.0,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 2.0,
        stall_s: float = 2.0,
        start: bool = True,
    ) -> None:
        self.device = device
        self.format = format
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        self._url = device
        if format == "lavfi" and "realtime" not in device:
            self._url = f"{device},realtime"
        self._yuv_planes = yuv_planes
        self._retry_min_s = retry_min_s
        self._retry_max_s = max(retry_min_s, retry_max_s)
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._stall_s = stall_s

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._slot: LiveFrame | None = None  # the newest frame: the only one kept
        self._slot_taken = True
        self._state = LiveState.CONNECTING
        self._reason = ""
        self._logged: tuple[LiveState, str] | None = None
        self._frames = 0
        self._drops = 0
        self._connects = 0
        self._failures = 0
        self._stalls = 0
        self._corrupt = 0
        self._size_px: tuple[int, int] | None = None
        self._fps: float | None = None
        self._clock = CaptureClock()
        self._latency: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._latency_count = 0
        self._last_noted_index = -1
        if start:
            self.start()

    # ------------------------------------------------------------------ reader side

    def start(self) -> None:
        """Start the capture thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"live-input {self.device}", daemon=True
        )
        self._thread.start()

    @property
    def state(self) -> LiveState:
        return self._state

    @property
    def reason(self) -> str:
        """Why the input is missing (the last error), or ``""`` while live."""
        return self._reason

    def latest(self) -> LiveFrame | None:
        """The newest frame, or ``None`` while the device is missing or before its first
        frame. Never waits for the device."""
        self._check_stall()
        with self._lock:
            self._slot_taken = True
            return self._slot

    def newest_index(self) -> int:
        """``frame.index`` of the newest frame held, or -1 while there is none (does not
        count as taking it: for asking whether there is something new to draw)."""
        self._check_stall()
        with self._lock:
            return self._slot.frame.index if self._slot is not None else -1

    def _check_stall(self) -> None:
        """An open device whose newest frame is too old counts as missing ("no signal")."""
        slot = self._slot
        if slot is None or self._state is not LiveState.LIVE:
            return
        limit = max(self._stall_s, 3.0 / self._fps) if self._fps else self._stall_s
        if time.monotonic() - slot.received_s <= limit:
            return
        with self._lock:
            if self._slot is not slot:
                return  # a new frame came meanwhile
            self._slot = None
            self._stalls += 1
        self._set_state(LiveState.MISSING, f"no frame for {limit:g} s (no signal?)")

    def wait_frame(
        self, after_index: int = -1, timeout_s: float = 5.0, *, while_missing: bool = True
    ) -> LiveFrame | None:
        """The newest frame with ``frame.index > after_index``, waiting up to ``timeout_s``
        (for offline rendering and tests; the render thread uses :meth:`latest`). With
        ``while_missing=False``, gives up as soon as the device is found missing."""
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self.latest()
            if frame is not None and frame.frame.index > after_index:
                return frame
            state = self._state
            if time.monotonic() >= deadline or state is LiveState.CLOSED:
                return None
            if state is LiveState.MISSING and not while_missing:
                return None
            time.sleep(0.005)

    def note_shown(self, frame: LiveFrame, shown_s: float | None = None) -> float | None:
        """Record that ``frame`` was drawn at ``shown_s`` (``time.monotonic()`` by default);
        the first draw of each frame counts. Returns the latency recorded, or ``None``."""
        shown_s = time.monotonic() if shown_s is None else shown_s
        with self._lock:
            if frame.frame.index <= self._last_noted_index:
                return None
            self._last_noted_index = frame.frame.index
            latency = shown_s - frame.captured_s
            self._latency.append(latency)
            self._latency_count += 1
            return latency

    @property
    def latency_s(self) -> LatencyStats:
        """Capture-to-draw latency of the frames drawn (see :meth:`note_shown`)."""
        with self._lock:
            return LatencyStats.of(list(self._latency), self._latency_count)

    def latency_samples_s(self) -> list[float]:
        """The latest capture-to-draw latencies, oldest first (at most :data:`LATENCY_WINDOW`)."""
        with self._lock:
            return list(self._latency)

    def stats(self) -> LiveStats:
        with self._lock:
            return LiveStats(
                device=self.device,
                state=self._state,
                reason=self._reason,
                frames=self._frames,
                drops=self._drops,
                connects=self._connects,
                reconnects=max(0, self._connects - 1),
                failures=self._failures,
                stalls=self._stalls,
                corrupt=self._corrupt,
                size_px=self._size_px,
                fps=self._fps,
                clock=self._clock.kind,
                latency=LatencyStats.of(list(self._latency), self._latency_count),
            )

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop the capture thread and release the device, waiting up to ``timeout_s`` for
        the thread (0: do not wait; it closes the device by itself after its current read).
        Safe to call more than once."""
        self._stop.set()
        thread = self._thread
        if timeout_s > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                logger.warning(
                    "live input %s: capture thread still blocked in the device after %.1f s",
                    self.device,
                    timeout_s,
                )
        with self._lock:
            self._slot = None
        self._set_state(LiveState.CLOSED, "")

    def __enter__(self) -> LiveInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LiveInput({self.device!r}, format={self.format!r}, {self._state.value})"

    # ------------------------------------------------------------------ capture thread

    def _run(self) -> None:
        """The capture thread: serve the device; an unexpected error restarts the loop
        after a pause instead of leaving the input frozen."""
        while not self._stop.is_set():
            try:
                self._serve()
            except Exception as exc:  # a bug, not a device problem: keep the input alive
                logger.error(
                    "live input %s: capture loop failed (%s: %s); restarting it",
                    self.device,
                    type(exc).__name__,
                    describe_error(exc),
                )
                self._stop.wait(self._retry_min_s)

    def _serve(self) -> None:
        backoff = self._retry_min_s
        while not self._stop.is_set():
            try:
                container = av.open(
                    self._url,
                    mode="r",
                    format=self.format,
                    options=self.options,
                    timeout=self._timeouts,
                )
            except Exception as exc:  # any failure to open: missing, retried
                if self._stop.is_set():
                    break
                self._lost(describe_error(exc))
                self._stop.wait(backoff)
                backoff = min(2.0 * backoff, self._retry_max_s)
                continue
            frames_before = self._frames
            try:
                self._capture(container)
                reason = "the stream ended"
            except Exception as exc:  # unplugged, read error, timeout: lost, retried
                reason = describe_error(exc)
            finally:
                try:
                    container.close()
                except Exception as exc:
                    logger.debug("live input %s: close: %s", self.device, exc)
            got_frames = self._frames > frames_before
            if self._stop.is_set():
                break
            self._lost(reason)
            if got_frames:
                backoff = self._retry_min_s
            self._stop.wait(backoff)
            backoff = min(2.0 * backoff, self._retry_max_s)

    def _capture(self, container: av.container.InputContainer) -> bool:
        """Read frames until the stream ends or stop; raise on a device error (a frame that
        cannot be decoded is skipped, unless :data:`MAX_CORRUPT_RUN` come in a row).
        Returns whether any frame came."""
        if not container.streams.video:
            raise ValueError("no video stream in the input")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self._clock = CaptureClock()
        opened = False
        corrupt_run = 0
        for packet in container.demux(stream):
            if self._stop.is_set():
                break
            try:
                av_frames = packet.decode()
            except av.FFmpegError as exc:  # a corrupt frame: skipped, the device stays open
                if isinstance(exc, OSError):
                    raise
                corrupt_run += 1
                with self._lock:
                    self._corrupt += 1
                if corrupt_run >= MAX_CORRUPT_RUN:
                    raise ValueError(
                        f"{corrupt_run} frames in a row cannot be decoded: {describe_error(exc)}"
                    ) from exc
                _rate_log.warning(
                    f"corrupt {self.device}",
                    "live input %s: a frame could not be decoded (%s); skipped",
                    self.device,
                    describe_error(exc),
                )
                continue
            corrupt_run = 0
            for av_frame in av_frames:
                opened |= self._publish(av_frame, rate, first=not opened)
        return opened

    def _publish(self, av_frame: av.VideoFrame, rate: Fraction | None, first: bool) -> bool:
        """Keep ``av_frame`` as the newest frame (the previous one, untaken, is a drop)."""
        received_s = time.monotonic()
        wall_s = time.time()
        pts_s = float(av_frame.time) if av_frame.time is not None else None
        captured_s = self._clock.capture_time(pts_s, received_s, wall_s)
        index = self._frames
        frame = to_video_frame(av_frame, index, pts_s or 0.0, self._yuv_planes)
        live = LiveFrame(frame, captured_s, received_s)
        with self._lock:
            if not self._slot_taken:
                self._drops += 1
            self._slot = live
            self._slot_taken = False
            self._frames += 1
            self._size_px = (av_frame.width, av_frame.height)
            if first:
                self._connects += 1
                self._fps = float(rate) if rate else None
        if self._state is not LiveState.LIVE:  # first frame, or frames again after a stall
            self._set_state(LiveState.LIVE, "")
        return True

    def _lost(self, reason: str) -> None:
        with self._lock:
            self._slot = None
            self._failures += 1
        self._set_state(LiveState.MISSING, reason)

    def _set_state(self, state: LiveState, reason: str) -> None:
        with self._lock:
            if self._state is LiveState.CLOSED:
                return  # closed while the capture thread was still reading
            self._state = state
            self._reason = reason
            if self._logged == (state, reason):
                return
            self._logged = (state, reason)
        if state is LiveState.LIVE:
            size = "x".join(map(str, self._size_px)) if self._size_px else "?"
            logger.info(
                "live input %s (%s): live, %s at %s fps",
                self.device,
                self.format,
                size,
                f"{self._fps:g}" if self._fps else "?",
            )
        elif state is LiveState.MISSING:
            logger.warning(
                "live input %s (%s): unavailable: %s; showing a placeholder, retrying every "
                "%g–%g s",
                self.device,
                self.format,
                reason,
                self._retry_min_s,
                self._retry_max_s,
            )
        elif state is LiveState.CLOSED:
            logger.debug("live input %s: closed", self.device)


class SharedInputs:
    """One :class:`LiveInput` per device, shared by every user that names it (reference
    counted: the input is closed, without waiting, when its last user releases it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inputs: dict[tuple[str, str, tuple[tuple[str, str], ...]], list] = {}

    def acquire(
        self, device: str, format: str = "v4l2", options: Mapping[str, str] | None = None
    ) -> LiveInput:
        key = (device, format, tuple(sorted((options or {}).items())))
        with self._lock:
            entry = self._inputs.get(key)
            if entry is None or entry[0].state is LiveState.CLOSED:
                entry = self._inputs[key] = [LiveInput(device, format, dict(key[2])), 0]
            entry[1] += 1
            return entry[0]

    def release(self, live: LiveInput) -> None:
        with self._lock:
            for key, entry in list(self._inputs.items()):
                if entry[0] is live:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        del self._inputs[key]
                        live.close(timeout_s=0.0)
                    return
        live.close(timeout_s=0.0)  # not shared (or already released): just close it

    def __len__(self) -> int:
        with self._lock:
            return len(self._inputs)

    def stats(self) -> list[LiveStats]:
        """Every open shared input's counters and latency (for status displays)."""
        with self._lock:
            inputs = [entry[0] for entry in self._inputs.values()]
        return [live.stats() for live in inputs]


SHARED = SharedInputs()
"""The process's shared live inputs (what live layers use)."""
