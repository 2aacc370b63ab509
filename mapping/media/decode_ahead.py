"""Decode-ahead: one worker thread per active clip keeps a small ring of frames ready.

:class:`DecodeAhead` wraps any clip that follows :class:`FrameClip` (``VideoClip``, and the
HAP clip) and moves all its decoding off the caller's thread. The caller (the render
thread) says where show time is with :meth:`DecodeAhead.request` or
:meth:`DecodeAhead.frame_for`; the worker decodes the frame due and the next few in show
order (wrapping at the loop point, stopping at the end of a play-once clip) into a bounded
ring (``ring_size`` frames, so memory is ``ring_size`` pictures however long the show
runs).

* Live (``wait=False``): :meth:`~DecodeAhead.frame_for` never waits. It returns the frame
  due if the ring has it, else the newest earlier one the worker has, else the frame it
  showed last (a seek: backwards or far ahead), counting a late frame each time the due
  one was not there. A seek never blocks the caller.
* Offline (``wait=True``, ``render``): it waits for exactly the frame due.
* :meth:`~DecodeAhead.prepare` (pre-roll) blocks until the frame due at a time is ready.
* A worker that dies (any exception while opening or decoding) is logged with the file
  and restarted with a fresh clip from ``clip_factory`` after a back-off (doubling from
  ``restart_backoff_s`` up to ``max_backoff_s``), never left frozen; until it is back the
  caller keeps its last good frame. Corrupt frames are skipped by the clip itself
  (``corrupt_frame_count``) and the frame before stays up.

Thread-safety: everything that decodes (``frame_at_index``, ``close``) runs on the worker
thread only. ``index_at`` must be pure timing (no decoding, nothing mutated; ``VideoClip``'s
is) because the caller uses it to know which frame is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from mapping.media.errors import MediaError

logger = logging.getLogger(__name__)

DEFAULT_RING_SIZE = 6
_FOREVER_S = 1e12  # a media time past the end of any clip
FAR_AHEAD_FRAMES = 12
"""A due frame further ahead of the worker than this is a seek, not a catch-up."""


class ClipFrame(Protocol):
    index: int
    pts_s: float


class FrameClip(Protocol):
    """What the worker needs of a clip."""

    def index_at(self, media_time_s: float, loop: bool = True) -> int: ...

    def frame_at_index(self, index: int) -> Any: ...

    def close(self) -> None: ...


class DecodeAhead:
    """A clip decoded ahead on its own thread (see module docstring).

    Args:
        clip_factory: opens the clip (called on the worker thread; again after a crash).
        name: how the clip is named in logs (the file).
        clip: an already opened clip to start with (handed over: from now on only the
            worker touches it); ``None`` opens one with ``clip_factory`` on the worker.
        ring_size: frames decoded ahead at most.
        restart_backoff_s, max_backoff_s: wait before restarting a dead worker, doubling.
        shown: ``(index, frame)`` the caller already has (e.g. the first frame, decoded
            when the clip was opened): what live lookups hold until the worker delivers.
    """

    def __init__(
        self,
        clip_factory: Callable[[], FrameClip],
        *,
        name: str = "clip",
        clip: FrameClip | None = None,
        ring_size: int = DEFAULT_RING_SIZE,
        restart_backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
        shown: tuple[int, Any] | None = None,
    ) -> None:
        if ring_size < 1:
            raise ValueError(f"ring_size must be at least 1, got {ring_size}")
        self._factory = clip_factory
        self.name = name
        self.ring_size = ring_size
        self._backoff0 = restart_backoff_s
        self._max_backoff = max_backoff_s
        self._cond = threading.Condition()
        self._clip: FrameClip | None = clip
        self._index_at: Callable[[float, bool], int] | None = (
            clip.index_at if clip is not None else None
        )
        self._ring: deque[tuple[int, Any]] = deque()  # (index asked for, frame), show order
        self._next: int | None = None  # the next index the worker decodes
        self._want: tuple[int, bool] | None = None  # (due index, loop) the caller is at
        self._shown: tuple[int, Any] | None = shown  # what the caller got last
        self._closed = False
        self._gave_up = False  # a wait timed out while failing: hold until a frame comes
        self._bounds: tuple[int, int] = (0, 0)  # first and last index in the clip's window
        # counters, read by the source, the status and tests
        self.late_frames = 0
        self.restarts = 0
        self.decoded = 0
        self.corrupt_frames = 0
        self.error: str | None = None  # what is failing now, in words (with the file)
        self.last_error: str | None = None  # the last failure, kept after a recovery
        if clip is not None:
            self._bounds = self._window(clip)
        self._thread = threading.Thread(target=self._run, name=f"decode {name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ caller side

    def request(self, media_time_s: float, loop: bool) -> int | None:
        """Show time is at ``media_time_s``: the worker decodes from the frame due there.
        Returns that index (``None`` while the clip is not open yet)."""
        with self._cond:
            if self._index_at is None:
                return None
            due = self._index_at(media_time_s, loop)
            if self._want != (due, loop):
                self._want = (due, loop)
                self._cond.notify_all()
            return due

    def due_index(self, media_time_s: float, loop: bool) -> int | None:
        """The index due at ``media_time_s`` (``None`` while the clip is not open); asks the
        worker for nothing."""
        with self._cond:
            return None if self._index_at is None else self._index_at(media_time_s, loop)

    @property
    def shown_index(self) -> int | None:
        """The index the frame handed out last was due for (``None``: none yet)."""
        with self._cond:
            return None if self._shown is None else self._shown[0]

    def frame_for(
        self, media_time_s: float, loop: bool, wait: bool, timeout_s: float = 30.0
    ) -> Any | None:
        """The frame due at ``media_time_s`` (see module docstring); ``None`` when nothing
        was ever decoded (the caller shows a placeholder).

        Raises:
            MediaError: ``wait`` and the frame did not come within ``timeout_s`` while the
                decoder is failing. Until the worker delivers a frame again, later waits
                do not wait: they hold the last frame (an offline render of a file that
                broke mid-show goes on, it does not stall ``timeout_s`` per frame).
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                due = self.request(media_time_s, loop)
                if due is not None:
                    frame = self._take(due)
                    if frame is not None:
                        return frame
                if not wait:
                    if self._shown is None or self._shown[0] != due:
                        self.late_frames += 1
                    return self._newest_before(due)
                if self._closed or (self._gave_up and self.error is not None):
                    return self._shown[1] if self._shown is not None else None
                left = deadline - time.monotonic()
                if left <= 0:
                    self._gave_up = True
                    raise MediaError(
                        self.name,
                        f"the decoder did not deliver frame {due} within {timeout_s:g} s"
                        + (f" ({self.error})" if self.error else ""),
                    )
                self._cond.wait(min(left, 0.5))

    def prepare(self, media_time_s: float = 0.0, loop: bool = True, timeout_s: float = 30.0) -> Any:
        """Pre-roll: block until the frame due at ``media_time_s`` is decoded; return it."""
        return self.frame_for(media_time_s, loop, wait=True, timeout_s=timeout_s)

    @property
    def ring_frames(self) -> int:
        """Frames decoded and waiting in the ring."""
        with self._cond:
            return len(self._ring)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker, which closes the clip as it ends; wait for that up to
        ``timeout_s`` (a decode under way finishes first). Safe to call twice."""
        with self._cond:
            self._closed = True
            self._ring.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.debug("%s: decoder thread still finishing after %g s", self.name, timeout_s)

    # ------------------------------------------------------------------ ring (lock held)

    def _take(self, due: int) -> Any | None:
        """The due frame, if shown already or in the ring (entries before it are dropped)."""
        if self._shown is not None and self._shown[0] == due:
            return self._shown[1]
        for position, (index, frame) in enumerate(self._ring):
            if index == due:
                for _ in range(position + 1):
                    self._ring.popleft()
                self._shown = (index, frame)
                self._cond.notify_all()
                return frame
        return None

    def _newest_before(self, due: int) -> Any | None:
        """Live, the due frame is missing: the newest ring frame before it in show order
        (the worker is catching up), else the frame shown last (a seek is under way)."""
        if self._ring and self._ahead(self._ring[-1][0], due) is not None:
            entry = self._ring.pop()
            self._ring.clear()
            self._shown = entry
            self._cond.notify_all()
        return self._shown[1] if self._shown is not None else None

    def _ahead(self, index: int, due: int) -> int | None:
        """How many frames ``due`` is after ``index`` in show order (wrapping when the
        caller loops), or ``None`` when it is not shortly after (a seek)."""
        assert self._want is not None
        loop = self._want[1]
        first, last = self._bounds
        if loop:
            distance = (due - index) % (last - first + 1)
        else:
            distance = due - index
        return distance if 0 <= distance <= FAR_AHEAD_FRAMES else None

    def _successor(self, index: int, loop: bool) -> int | None:
        first, last = self._bounds
        if index < last:
            return index + 1
        return first if loop and last > first else None

    # ------------------------------------------------------------------ worker

    @staticmethod
    def _window(clip: FrameClip) -> tuple[int, int]:
        return clip.index_at(0.0, False), clip.index_at(_FOREVER_S, False)

    def _open(self) -> FrameClip:
        clip = self._factory()
        bounds = self._window(clip)
        with self._cond:
            self._clip = clip
            self._bounds = bounds
            self._index_at = clip.index_at
            self._next = None
            self._ring.clear()
            self._cond.notify_all()
        return clip

    def _next_job(self) -> int | None:
        """Wait for something to decode; the index, or None when closing (lock held)."""
        while not self._closed:
            if self._want is not None:
                due = self._want[0]
                ring_has_due = any(index == due for index, _ in self._ring)
                shown_due = self._shown is not None and self._shown[0] == due
                if not ring_has_due and not shown_due:
                    # the ring must lead to the due frame: catching up or seeking, decode it next
                    if self._next is None or self._ahead(self._next, due) != 0:
                        self._ring.clear()
                        self._next = due
                else:  # drop what is behind the due frame
                    while self._ring and self._ring[0][0] != due and not shown_due:
                        self._ring.popleft()
                if self._next is not None and len(self._ring) < self.ring_size:
                    return self._next
            self._cond.wait()
        return None

    def _run(self) -> None:
        backoff = self._backoff0
        while True:
            with self._cond:
                if self._closed:
                    break
            clip = self._clip
            seen_corrupt = 0
            try:
                if clip is None:
                    clip = self._open()
                while True:
                    with self._cond:
                        index = self._next_job()
                        if index is None:
                            break
                    frame = clip.frame_at_index(index)
                    corrupt = getattr(clip, "corrupt_frame_count", 0)
                    with self._cond:
                        self.decoded += 1
                        self.error = None
                        self._gave_up = False
                        self.corrupt_frames += max(corrupt - seen_corrupt, 0)
                        seen_corrupt = corrupt
                        if self._next == index:  # not re-aimed while decoding
                            self._ring.append((index, frame))
                            loop = self._want[1] if self._want is not None else True
                            self._next = self._successor(index, loop)
                            self._cond.notify_all()
                    backoff = self._backoff0
                break
            except Exception as exc:
                reason = str(exc) if isinstance(exc, MediaError) else f"{self.name}: {exc!r}"
                logger.error(
                    "decoder for %s failed: %s — restarting in %.2f s", self.name, reason, backoff
                )
                with self._cond:
                    self.error = self.last_error = reason
                    self.restarts += 1
                    self._clip = None
                    self._next = None
                _close_quietly(clip, self.name)
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, timeout=backoff)
                backoff = min(backoff * 2.0, self._max_backoff)
        _close_quietly(self._clip, self.name)
        with self._cond:
            self._clip = None
            self._cond.notify_all()


def _close_quietly(clip: FrameClip | None, name: str) -> None:
    if clip is None:
        return
    try:
        clip.close()
    except Exception:
        logger.exception("closing %s", name)
