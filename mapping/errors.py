"""Error types and checks shared by every loader: a problem names the file, key path and reason.

A :class:`Problem` is one thing wrong with one input file, located by its key path in
the document (``surfaces[2].corners``) and, where known, its line. Loaders collect every
problem they find and raise a single :class:`ValidationError` holding all of them, so a
technician fixes a show file in one pass instead of one error at a time.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what was expected."""

    file: Path
    key_path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
        if self.key_path:
            return f"{where}: {self.key_path}: {self.message}"
        return f"{where}: {self.message}"


class ValidationError(Exception):
    """Raised by loaders with every problem they found (never empty)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        if not self.problems:
            raise ValueError("ValidationError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(value: object, choices: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to a typo, else ``""``."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def is_finite_number(value: int | float) -> bool:
    """Whether a parsed number is finite and fits a float (TOML integers are unbounded)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
