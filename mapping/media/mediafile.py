"""What every media file the player reads shares: opening it with PyAV, closing it once.

:class:`MediaFile` is the base of ``VideoClip``, ``HapClip`` and ``AudioClip``. It owns the
checks before PyAV sees the file (missing, not a file, empty), turning PyAV's failure to open
into a ``MediaError`` that names the file and what was expected, closing the container if
the subclass's own start-up fails, and closing exactly once (also as a context manager).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.container

from mapping.media.errors import MediaError


class MediaFile:
    """An open media file (see the module docstring)."""

    _path: Path
    _container: av.container.InputContainer
    _closed = True

    def _open(
        self,
        path: Path | str,
        expected: str,
        *,
        refuse_empty: bool = False,
        failure: Callable[[Path, av.FFmpegError], str] | None = None,
    ) -> None:
        """Open ``path`` with PyAV. ``expected`` ends each message (what the file should
        be); ``failure`` words PyAV's refusal (default: not a decodable media file)."""
        self._path = Path(path)
        if not self._path.exists():
            raise MediaError(self._path, f"file not found ({expected})")
        if not self._path.is_file():
            raise MediaError(self._path, f"not a file ({expected})")
        if refuse_empty and self._path.stat().st_size == 0:
            raise MediaError(self._path, f"the file is empty, 0 bytes ({expected})")
        try:
            container = av.open(str(self._path), mode="r")
        except av.FFmpegError as exc:
            reason = (
                failure(self._path, exc)
                if failure is not None
                else f"not a decodable media file ({expected}): {exc}"
            )
            raise MediaError(self._path, reason) from exc
        self._container = container
        self._closed = False

    def _start(self, init: Callable[[], None]) -> None:
        """Run the subclass's start-up; on any failure the file is closed again."""
        try:
            init()
        except BaseException:
            self._container.close()
            self._closed = True
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self._path}: clip is closed")

    def _release(self) -> None:
        """Drop what the subclass holds besides the container (decoded frames, buffers)."""

    def close(self) -> None:
        """Release the file and decoder. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._release()
        self._container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
