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


SHORT_LIST = 64
"""Up to this many choices, "did you mean" compares a typo with every one (difflib)."""


class Choices(Sequence[str]):
    """Names a typo may have meant, indexed once so each hint costs O(len(typo)²), not O(n).

    For a short list (≤ :data:`SHORT_LIST`) :func:`did_you_mean` compares with every name
    (difflib, as before). For a long one it looks the typo up in an index of every name
    with one character deleted (the symmetric-deletion trick): names one edit away (a
    character added, dropped, changed, or two swapped) are found in time independent of
    the number of names. So reporting n problems against n names stays linear.
    """

    def __init__(self, names: Iterable[str]):
        self._names = list(dict.fromkeys(names))
        self._set = set(self._names)
        self._index: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return self._names[i]

    def __contains__(self, value: object) -> bool:
        return value in self._set

    def __iter__(self):  # type: ignore[no-untyped-def, override]
        return iter(self._names)

    def closest(self, value: str) -> str | None:
        if len(self._names) <= SHORT_LIST:
            close = difflib.get_close_matches(value, self._names, n=1, cutoff=0.6)
            return close[0] if close else None
        if self._index is None:
            self._index = {}
            for rank, name in enumerate(self._names):
                for key in _deletions(name):
                    self._index.setdefault(key, []).append(rank)
        ranks = {r for key in _deletions(value) for r in self._index.get(key, ())}
        best = [self._names[r] for r in sorted(ranks) if _within_one_edit(value, self._names[r])]
        if not best:
            return None
        return max(best, key=lambda n: difflib.SequenceMatcher(None, value, n).ratio())


def _deletions(word: str) -> set[str]:
    """The word and every string made from it by deleting one character."""
    if len(word) > 64:
        return {word}
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1, or one transposition of neighbours (Damerau)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def did_you_mean(value: object, choices: Sequence[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to a typo, else ``""``.

    Pass a :class:`Choices` when hinting many typos against one long list (linear in all).
    """
    if not isinstance(value, str):
        return ""
    if not isinstance(choices, Choices):
        if len(choices) > SHORT_LIST:
            choices = Choices(choices)
        else:
            close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
            return f" (did you mean '{close[0]}'?)" if close else ""
    best = choices.closest(value)
    return f" (did you mean '{best}'?)" if best else ""


def listing(names: Sequence[str], most: int = 10) -> str:
    """``"a, b, c"``; a long list is cut after ``most`` names (``"… and 4990 more"``)."""
    shown = (
        ", ".join(names[:most])
        if not isinstance(names, Choices)
        else ", ".join(names[i] for i in range(min(most, len(names))))
    )
    return shown + (f" … and {len(names) - most} more" if len(names) > most else "")


def is_finite_number(value: int | float) -> bool:
    """Whether a parsed number is finite and fits a float (TOML integers are unbounded)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
