"""Errors raised by the media loaders (video, images, writer): one file, one reason.

A :class:`MediaError` always names the file and says what was expected, so a technician
can see at a glance which clip or image in the show folder is at fault.
"""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """A media file could not be opened or decoded.

    Attributes:
        path: the file that failed.
        reason: what went wrong / what was expected, in words for a person.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path: Path = Path(path)
        self.reason: str = reason
        super().__init__(f"{self.path}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def __reduce__(self) -> tuple[type[MediaError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))
