"""Whatever ``load_show`` accepts renders: Hypothesis makes shows with edge and hostile
numbers, and every one the loader accepts is rendered (one frame, small outputs) in a child
process (issue 10).

An end-to-end GL test (about 12 s), kept apart from ``test_show_fuzz.py``: the mutation
scope of ``mapping/show.py`` (scripts/mutation_scope.toml) runs the loader's pure tests,
and this one made every mutant of the parser wait for a GL child process.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapping.errors import ValidationError
from mapping.show import load_show
from tests.render_kit import render_in_child
from tests.test_bad_input import DEFAULTS, write_show

# Numbers near and beyond every edge, non-finite ones, and ordinary ones, as TOML text.
_EDGES = [
    "0", "1", "-1", "0.0", "-0.0", "0.01", "0.009", "0.5", "1.0", "1.01", "2", "63", "64",
    "16384", "16385", "-16384", "-16385", "65535", "65536", "65537", "-65536", "-65537",
    "86400", "86401", "1e6", "1000001", "-1e6", "1e9", "-1e9", "1.1e9", "1e12", "1e300",
    "1e-300", "5e-324", "nan", "inf", "-inf", "1" + "0" * 30, "-" + "1" * 25, "true",
    '"12"', "[]",
]  # fmt: skip
_SIZES = ["1", "2", "16", "48", "16384", "16385", "0", "-1", "1e3", "nan"]
_NUMBER_KEYS = [
    "display", "px", "py", "osc_port", "reply_port", "oscquery_port", "rx", "ry", "ix", "iy",
    "opacity", "param", "colour", "fade", "prewait", "postwait", "layer_fade", "level",
    "cue_opacity", "cue_param",
]  # fmt: skip


def _point(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(value, value).map(lambda p: f"[{p[0]}, {p[1]}]")


@st.composite
def edge_shows(draw: st.DrawFn) -> dict[str, str]:
    """Values for test_bad_input's template: a few keys set to edge or hostile values."""
    values = dict(DEFAULTS)
    for key in draw(st.lists(st.sampled_from(_NUMBER_KEYS), max_size=3, unique=True)):
        values[key] = draw(st.sampled_from(_EDGES))
    valid = st.sampled_from(["0", "1", "0.0", "0.01", "0.25", "1.0", "2", "63"])
    for key in draw(st.lists(st.sampled_from(_NUMBER_KEYS), max_size=6, unique=True)):
        values[key] = draw(valid)
    # sizes: at most one side big, so an accepted show stays small in memory
    for wide, high in (("cw", "ch"), ("ow", "oh"), ("rw", "rh"), ("iw", "ih")):
        if draw(st.integers(0, 2)) == 0:
            big = draw(st.sampled_from([*_SIZES, "0.01", "0.5", "1e-9", "inf", "1e9"]))
            small = draw(st.sampled_from(["1", "2", "0.01", "24", "0", "nan"]))
            values[wide], values[high] = (big, small) if draw(st.booleans()) else (small, big)
        elif draw(st.integers(0, 5)) == 0:  # both sides beyond the edge: must be refused
            values[wide] = draw(st.sampled_from(["16385", "1e5", "1e9"]))
            values[high] = draw(st.sampled_from(["16385", "1e5", "1e9"]))
    coordinate = st.sampled_from(["0", "10", "64", "-1e6", "1e6", "1000001", "nan", "1e300"])
    if draw(st.integers(0, 2)) == 0:
        key = draw(st.sampled_from(["polygon", "corners", "pins"]))
        count = 4 if key != "polygon" else draw(st.integers(3, 6))
        points = draw(st.lists(_point(coordinate), min_size=count, max_size=count))
        values[key] = "[" + ", ".join(points) + "]"
    return values


def test_whatever_load_show_accepts_renders(tmp_path: Path):
    """Hypothesis makes shows with edge and hostile numbers; every one ``load_show``
    accepts is rendered (one frame, small outputs) in a child process: no exception, no
    native abort. Refusals are fine; the test also makes sure some shows get through."""
    accepted: list[Path] = []
    refused = 0

    @settings(
        max_examples=150,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(edge_shows())
    def try_loading(values: dict[str, str]) -> None:
        nonlocal refused
        folder = write_show(tmp_path / f"show{len(accepted) + refused}", **values)
        try:
            load_show(folder)
        except ValidationError as exc:
            assert all(p.message and p.file == folder / "show.toml" for p in exc.problems)
            refused += 1
        else:
            accepted.append(folder)

    try_loading()
    assert len(accepted) >= 10 and refused >= 10, (len(accepted), refused)
    outcomes = render_in_child(accepted)
    assert outcomes == {folder: "ok" for folder in accepted}
