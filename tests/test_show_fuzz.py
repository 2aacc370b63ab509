"""Whatever is in a show or calibration file, loading gives a result or a ValidationError.

Seeded random edits of the demo show file: lines dropped or duplicated, values replaced by
values of other types, numbers made huge, negative or non-finite, brackets removed.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.show import Show, load_show

REPLACEMENTS = [
    '"text"',
    "true",
    "-1",
    "0",
    "1e309",
    "nan",
    "inf",
    "[]",
    "[[]]",
    "[1, 2]",
    "{}",
    "[[0, 0], [0, 0], [0, 0], [0, 0]]",
    "1" + "0" * 400,
    '"#zzzzzz"',
    "[1, 2, 3, 4]",
    "{ file = 42 }",
    '"../../../../etc/passwd"',
    "1979-05-27",
    "-0.0",
]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        op = rng.choice(("drop", "dup", "value", "value", "value", "bracket"))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "value" and "=" in lines[i] and not lines[i].lstrip().startswith("#"):
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {rng.choice(REPLACEMENTS)}"
        elif op == "bracket":
            lines[i] = lines[i].replace("]", "", 1)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_never_crash_the_loader(show_dir: Path, seed: int):
    original = (show_dir / "show.toml").read_text()
    rng = random.Random(seed)
    outcomes = {"show": 0, "problems": 0}
    for _ in range(40):
        (show_dir / "show.toml").write_text(_mutate(original, rng))
        try:
            result = load_show(show_dir)
        except ValidationError as exc:
            assert all(p.message for p in exc.problems)
            outcomes["problems"] += 1
        else:
            assert isinstance(result, Show)
            outcomes["show"] += 1
    assert outcomes["problems"] > 0


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_never_crash_the_calibration_loader(show_dir: Path, seed: int):
    from calibration.store import CalibrationFile, load_calibration

    path = show_dir.parent / "calibrations" / "demo-venue.toml"
    original = path.read_text()
    rng = random.Random(seed)
    for _ in range(40):
        path.write_text(_mutate(original, rng))
        try:
            assert isinstance(load_calibration(path), CalibrationFile)
        except ValidationError as exc:
            assert all(p.message for p in exc.problems)
