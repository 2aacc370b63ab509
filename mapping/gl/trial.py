"""Trial frames: a compiled layer's content is drawn once in a separate process first.

A shader from the wild can fail to compile, take seconds per frame, or never finish (an
endless loop: on a real GPU the driver hangs until its watchdog fires; llvmpipe caps each
loop at 65535 iterations, which at a layer's size still means a frame of minutes). Drawn in
the show's own process, such a frame blocks the render thread inside the driver, where not
even Ctrl-C reaches it. So every layer kind with ``compiled = True`` in
:data:`mapping.kinds.LAYER_KINDS` (generator shaders, ISF) is **tried** before it is
admitted: a worker process (``python -m mapping.gl.trial``) with its own headless GL
context opens the content through the kind's ``gpu_source`` at the layer's size, capped at
:data:`TRIAL_MAX_SIDE` pixels on its longer side, and draws two frames. It answers with the
compile diagnostics (a :class:`~mapping.gl.shaders.ShaderError`'s, at the artist's file
and line), or the compile and frame times. A trial that is not answered within the
budget's ``timeout_s`` is killed (with the worker; the next trial starts a new one).

:class:`ShaderTrials` owns the worker and a cache of :class:`TrialResult` by
:class:`TrialKey` (kind, content identity — path, size, modification time — and the
layer's size), so a file is tried once until it changes. Live, :meth:`ShaderTrials.request`
never waits: the trial runs on the service's own thread and the renderer draws nothing for
the layer until it passes. Offline and in ``check``, :meth:`ShaderTrials.run` waits, in
short slices that Ctrl-C interrupts.

Frame times are measured at the trial size and scaled by pixel count to the layer's size
(``estimate_s``, a fragment-bound shader's cost grows with its pixels); above the budget's
``slow_s`` (one frame period) the shader is reported as too slow but admitted.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mapping.gl.shaders import ShaderDiagnostic
from mapping.kinds import ContentId

log = logging.getLogger(__name__)

TRIAL_MAX_SIDE = 320
"""The trial frame's longer side at most (pixels); the layer's aspect is kept."""
DEFAULT_TIMEOUT_S = 5.0
"""Compile plus two trial frames must finish within this, or the worker is killed."""
DEFAULT_SLOW_S = 1.0 / 60.0
"""One frame period at 60 fps: an estimated frame time above it is reported as too slow."""
WORKER_START_TIMEOUT_S = 60.0
"""Starting the worker (Python, GL context) is not part of a trial's budget, but is bounded."""


@dataclass(frozen=True)
class TrialBudget:
    """How long a trial may take (``timeout_s``: killed past it, the content refused) and
    the frame time above which an admitted content is reported as too slow (``slow_s``)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    slow_s: float = DEFAULT_SLOW_S

    @classmethod
    def for_fps(cls, fps: float | None, timeout_s: float | None = None) -> TrialBudget:
        """One frame period at ``fps`` is too slow; ``timeout_s`` (default 5 s) kills."""
        return cls(
            timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S,
            1.0 / fps if fps else DEFAULT_SLOW_S,
        )


class TrialKey(NamedTuple):
    """What a trial result holds for: the kind, the file's identity, the layer's size."""

    kind: str
    content: ContentId
    size_px: tuple[int, int]


OK, FAILED, TIMEOUT = "ok", "failed", "timeout"


@dataclass(frozen=True)
class TrialResult:
    """The outcome of one trial: ``ok`` (admitted), ``failed`` (does not compile or open,
    or the worker crashed on it) or ``timeout`` (killed after ``timeout_s``)."""

    key: TrialKey
    outcome: str
    reason: str = ""
    """Why it was refused (``failed``, ``timeout``), without the file's name."""
    diagnostics: tuple[ShaderDiagnostic, ...] = ()
    trial_size_px: tuple[int, int] = (0, 0)
    compile_s: float | None = None
    frame_s: float | None = None
    """One frame's time at ``trial_size_px``."""
    estimate_s: float | None = None
    """``frame_s`` scaled by pixel count to the layer's size."""
    wall_s: float = 0.0
    """The trial's time in the worker's hands, start-up excluded."""
    slow_s: float = DEFAULT_SLOW_S

    @property
    def file(self) -> Path:
        return self.key.content.path

    @property
    def errors(self) -> tuple[ShaderDiagnostic, ...]:
        """The compile diagnostics that are errors (warnings left out, unless all are)."""
        errors = tuple(d for d in self.diagnostics if d.severity == "error")
        return errors or self.diagnostics

    @property
    def message(self) -> str:
        """Why it was refused, naming the file (and the line: a compile error's
        diagnostics, as :class:`~mapping.gl.shaders.ShaderError` words them)."""
        if self.outcome == OK:
            return ""
        if self.diagnostics:
            return "\n".join(str(d) for d in self.errors)
        return f"{self.file}: {self.reason}"

    @property
    def admitted(self) -> bool:
        return self.outcome == OK

    @property
    def slow(self) -> bool:
        """Admitted, but its estimated frame time is over the budget's frame period."""
        return self.admitted and self.estimate_s is not None and self.estimate_s > self.slow_s

    def timing(self) -> str:
        """``"frame 12.0 ms at 320×180 (≈ 98.4 ms at 1920×1080), compile 8.0 ms"``."""
        if self.frame_s is None:
            return ""
        tw, th = self.trial_size_px
        text = f"frame {self.frame_s * 1e3:.1f} ms at {tw}×{th}"
        if self.key.size_px != self.trial_size_px and self.estimate_s is not None:
            w, h = self.key.size_px
            text += f" (≈ {self.estimate_s * 1e3:.1f} ms at {w}×{h})"
        if self.compile_s is not None:
            text += f", compile {self.compile_s * 1e3:.1f} ms"
        return text

    def slow_message(self) -> str:
        """The too-slow report: the file, its frame time and the frame period it exceeds."""
        return f"{self.file}: {self.slow_reason()}"

    def slow_reason(self) -> str:
        return (
            f"too slow: {self.timing()}; one frame at the show's rate is "
            f"{self.slow_s * 1e3:.1f} ms, the show will drop frames while it is visible"
        )


def trial_size(size_px: tuple[int, int], max_side: int = TRIAL_MAX_SIDE) -> tuple[int, int]:
    """The layer's size scaled down (aspect kept) so its longer side is at most
    ``max_side``; each side at least 1."""
    w, h = max(1, size_px[0]), max(1, size_px[1])
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _job_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a trial frame sets: numbers and number tuples (JSON), others left out."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, bool | int | float):
            out[name] = value
        elif isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
            out[name] = list(value)
    return out


class TrialWorkerError(Exception):
    """The trial process ended (a crash in the driver, a kill) before it answered."""


class TrialWorker:
    """One worker process (``python -m mapping.gl.trial``), kept across trials.

    It runs in its own session (Ctrl-C in the terminal reaches the show, which stops it)
    and is killed by the kernel if the thread that started it ends (``PR_SET_PDEATHSIG``).
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._next_id = 0
        self.spawns = 0
        self.jobs = 0
        self.spawn_s: list[float] = []
        self.renderer = ""

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.alive:
            return
        self.kill()
        t0 = time.monotonic()
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "mapping.gl.trial"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=root,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise TrialWorkerError(f"the trial process did not start ({exc})") from None
        self._buf = b""
        self.spawns += 1
        try:
            ready = self._read(time.monotonic() + WORKER_START_TIMEOUT_S)
        except TrialWorkerError as exc:
            raise TrialWorkerError(f"the trial process did not start ({exc})") from None
        if ready is None:
            self.kill()
            raise TrialWorkerError(
                f"the trial process did not start within {WORKER_START_TIMEOUT_S} s"
            )
        if "error" in ready:
            self.kill()
            raise TrialWorkerError(f"the trial process has no GL context: {ready['error']}")
        self.renderer = str(ready.get("renderer", ""))
        self.spawn_s.append(time.monotonic() - t0)
        log.debug("trial worker %d started on %s", self._proc.pid, self.renderer)

    def run(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """Send one job and wait for its answer: ``None`` (and the worker killed) past
        ``timeout_s``. Raises :class:`TrialWorkerError` if the worker ends first."""
        self.start()
        assert self._proc is not None and self._proc.stdin is not None
        self._next_id += 1
        job = {**job, "id": self._next_id}
        self.jobs += 1
        try:
            self._proc.stdin.write(json.dumps(job).encode() + b"\n")
            self._proc.stdin.flush()
        except OSError as exc:
            self.kill()
            raise TrialWorkerError(f"the trial process is gone ({exc})") from None
        try:
            reply = self._read(time.monotonic() + timeout_s)
        except TrialWorkerError as exc:
            self.kill()
            raise TrialWorkerError(f"the trial process crashed drawing it ({exc})") from None
        except BaseException:  # Ctrl-C while waiting: never leave it drawing
            self.kill()
            raise
        if reply is None or reply.get("id") != job["id"]:
            self.kill()
            return None
        return reply

    def _read(self, deadline: float) -> dict[str, Any] | None:
        """The worker's next JSON line, or ``None`` at the deadline."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], min(remaining, 0.1))
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.kill()
                    raise TrialWorkerError(f"exit status {proc.returncode}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def stop(self) -> None:
        """Kill the process from any thread (the thread waiting on it sees it end)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def kill(self) -> None:
        """Kill the process and close its pipes (from the thread that uses it)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


@dataclass
class _Pending:
    params: dict[str, Any] = field(default_factory=dict)


class ShaderTrials:
    """Trials of compiled content, cached by :class:`TrialKey`, run one at a time on the
    service's own thread in one reused :class:`TrialWorker` (see the module docstring)."""

    def __init__(self, budget: TrialBudget | None = None) -> None:
        self.budget = budget or TrialBudget()
        self.worker = TrialWorker()
        self._cond = threading.Condition()
        self._results: dict[TrialKey, TrialResult] = {}
        self._queue: deque[TrialKey] = deque()
        self._pending: dict[TrialKey, _Pending] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warm = False

    @staticmethod
    def key(kind: str, content: ContentId | Path, size_px: tuple[int, int]) -> TrialKey:
        cid = content if isinstance(content, ContentId) else ContentId.of(content)
        return TrialKey(kind, cid, (int(size_px[0]), int(size_px[1])))

    def cached(self, key: TrialKey) -> TrialResult | None:
        with self._cond:
            return self._results.get(key)

    def request(self, key: TrialKey, params: Mapping[str, Any] | None = None) -> TrialResult | None:
        """The result if known, else ``None`` with the trial queued (never waits)."""
        with self._cond:
            result = self._results.get(key)
            if result is not None:
                return result
            if key not in self._pending:
                if self._closed:
                    raise RuntimeError("shader trials are closed")
                self._pending[key] = _Pending(_job_params(params or {}))
                self._queue.append(key)
                self._cond.notify_all()
                self._ensure_thread()
            return None

    def warm(self) -> None:
        """Start the worker now, in the background (a show with shaders is opening), so
        the first trial does not wait for the worker's start."""
        with self._cond:
            if self._closed or self.worker.spawns:
                return
            self._warm = True
            self._cond.notify_all()
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="shader-trials", daemon=True)
            self._thread.start()

    def run(self, key: TrialKey, params: Mapping[str, Any] | None = None) -> TrialResult:
        """The result, waiting for the trial if needed (Ctrl-C interrupts the wait)."""
        result = self.request(key, params)
        while result is None:
            with self._cond:
                self._cond.wait(0.1)  # short slices: a KeyboardInterrupt gets through
                result = self._results.get(key)
        return result

    def idle(self) -> bool:
        with self._cond:
            return not self._pending

    def close(self) -> None:
        """Stop the service thread and kill the worker."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._pending.clear()
            self._cond.notify_all()
        self.worker.stop()  # a trial in progress ends now, not at its timeout
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        if thread is None or not thread.is_alive():
            self.worker.kill()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed and not self._warm:
                    self._cond.wait()
                if self._closed:
                    break
                warm, self._warm = self._warm, False
                if warm and not self._queue:
                    key = None
                else:
                    key = self._queue.popleft()
                    pending = self._pending[key]
            if key is None:
                try:
                    self.worker.start()
                except TrialWorkerError as exc:  # the first trial will say so
                    log.debug("%s", exc)
                continue
            try:
                result = self._trial(key, pending.params)
            except Exception as exc:  # never let the service thread die silently
                log.exception("trial of %s failed", key.content.path)
                result = TrialResult(key, FAILED, f"trial failed: {exc}")
            with self._cond:
                self._results[key] = result
                self._pending.pop(key, None)
                self._cond.notify_all()
        self.worker.kill()  # the thread that started it ends: the worker goes too

    def _trial(self, key: TrialKey, params: dict[str, Any]) -> TrialResult:
        path = key.content.path
        size = trial_size(key.size_px)
        budget = self.budget
        if not key.content.exists:
            return TrialResult(key, FAILED, "file not found", trial_size_px=size)
        job = {"kind": key.kind, "path": str(path), "size": list(size), "params": params}
        t0 = time.monotonic()
        try:
            reply = self.worker.run(job, budget.timeout_s)
        except TrialWorkerError as exc:
            reason = str(exc)
            return TrialResult(key, FAILED, reason, trial_size_px=size, slow_s=budget.slow_s)
        wall = time.monotonic() - t0
        if reply is None:
            reason = (
                f"did not finish within {budget.timeout_s:g} s (an endless loop, or far too "
                f"slow): the trial frame at {size[0]}×{size[1]} was stopped"
            )
            log.debug("%s: %s", path, reason)  # the renderer or check reports it
            return TrialResult(key, TIMEOUT, reason, (), size, None, None, None, wall)
        diagnostics = tuple(
            ShaderDiagnostic(Path(d[0]), d[1], d[2], d[3], d[4]) for d in reply["diagnostics"]
        )
        if not reply["ok"]:
            return TrialResult(key, FAILED, reply["error"], diagnostics, size, wall_s=wall)
        frame_s = float(reply["frame_s"])
        pixels = size[0] * size[1]
        estimate = frame_s * (key.size_px[0] * key.size_px[1]) / pixels
        return TrialResult(
            key,
            OK,
            "",
            diagnostics,
            size,
            float(reply["compile_s"]),
            frame_s,
            estimate,
            wall,
            budget.slow_s,
        )


_default: ShaderTrials | None = None
_default_budget = TrialBudget()
_default_lock = threading.Lock()


def set_default_budget(budget: TrialBudget) -> None:
    """The budget of the process-wide service (``run``, ``render``: from the command line)."""
    global _default_budget
    with _default_lock:
        _default_budget = budget
        if _default is not None:
            _default.budget = budget


def default_trials() -> ShaderTrials:
    """The process-wide service: one worker and one cache shared by every player."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ShaderTrials(_default_budget)
            atexit.register(_default.close)
        return _default


# -- the worker process ------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when the thread that started it ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent is already gone
        os._exit(0)


def _draw(ctx: Any, quad_vbo: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Open the content through its kind's GPU source and draw two frames, timed."""
    from mapping.gl.shaders import ShaderError
    from mapping.gl.sources.base import SourceEnv
    from mapping.kinds import LAYER_KINDS, resolve
    from mapping.media.errors import MediaError
    from mapping.show import Layer

    kind = LAYER_KINDS[job["kind"]]
    path = Path(job["path"])
    w, h = job["size"]
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in job["params"].items()}
    reply: dict[str, Any] = {"id": job["id"], "ok": False, "diagnostics": [], "error": ""}
    env = SourceEnv(ctx, quad_vbo, True, int(ctx.info.get("GL_MAX_TEXTURE_SIZE", 16384)), (w, h))
    layer = Layer("trial", kind.name, path, region_canvas_px=(0.0, 0.0, float(w), float(h)))
    t0 = time.perf_counter()
    try:
        source = resolve(kind.gpu_source)(env, layer, path)
    except ShaderError as exc:
        reply["error"] = "does not compile"
        reply["diagnostics"] = [
            [str(d.file), d.line, d.message, d.source_line, d.severity] for d in exc.diagnostics
        ]
        return reply
    except MediaError as exc:
        reply["error"] = exc.reason
        return reply
    except Exception as exc:  # whatever the content does, the worker answers
        reply["error"] = f"{type(exc).__name__}: {exc}"
        return reply
    try:
        ctx.finish()
        compile_s = time.perf_counter() - t0
        times = []
        for media_time_s in (0.0, 0.5):
            t1 = time.perf_counter()
            source.binding(media_time_s, params)
            ctx.finish()
            times.append(time.perf_counter() - t1)
        # the second frame is the steady cost (the first may finish a lazy compile), unless
        # the content is still and drew only once
        frame_s = times[1] if source.animating(0.5) else times[0]
        reply.update(ok=True, compile_s=compile_s, frame_s=frame_s)
    except Exception as exc:
        reply["error"] = f"drawing a frame failed: {type(exc).__name__}: {exc}"
    finally:
        source.release()
    return reply


def _worker_main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the show stops us, not the terminal
    _die_with_parent()
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (a driver's chatter) goes to stderr, not the protocol

    def send(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message).encode() + b"\n")
        protocol.flush()

    try:
        import numpy as np

        from mapping.gl.context import create_headless_context

        ctx = create_headless_context()
        quad_vbo = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
    except Exception as exc:
        send({"error": str(exc)})
        return 1
    send({"ready": True, "renderer": ctx.info.get("GL_RENDERER", "")})
    for line in sys.stdin.buffer:
        job = json.loads(line)
        send(_draw(ctx, quad_vbo, job))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(_worker_main())
