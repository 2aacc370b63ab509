"""The O(n log n) polygon check and triangulation agree with the O(n²) ones they replaced.

Issue 10: a 2000-vertex outline took 7 s to check and 12 s to render. The crossing test
is now a sweep line (``geometry.first_crossing``) and triangulation is mapbox earcut. The
references below are the previous implementations, copied verbatim (all-pairs crossing
test; Python ear clipping), run on random small polygons: simple and self-crossing ones,
on small integer grids (many collinear points, touching edges, repeated vertices) and in
general position.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping import geometry
from tests.test_geometry_properties import (
    edge_distance,
    inside_polygon,
    inside_triangle,
    sample_points,
    shoelace,
    star_polygons,
)

# --- the previous implementations (references) ------------------------------------------------


def reference_first_crossing(p: np.ndarray) -> tuple[int, int] | None:
    """The all-pairs loop of the old ``polygon_problem``."""
    n = len(p)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if geometry._segments_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n]):
                return (i, j)
    return None


def reference_triangulation(polygon: np.ndarray) -> np.ndarray:
    """The old ear-clipping ``triangulate_polygon``."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    n = len(p)
    idx = list(range(n))
    ccw = geometry.polygon_area(p) > 0
    tris: list[tuple[int, int, int]] = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    def inside(pt: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
        c1, c2, c3 = cross(a, b, pt), cross(b, c, pt), cross(c, a, pt)
        return (c1 >= 0 and c2 >= 0 and c3 >= 0) or (c1 <= 0 and c2 <= 0 and c3 <= 0)

    guard = 0
    while len(idx) > 3 and guard < 10 * n * n:
        guard += 1
        m = len(idx)
        for k in range(m):
            i0, i1, i2 = idx[(k - 1) % m], idx[k], idx[(k + 1) % m]
            turn = cross(p[i0], p[i1], p[i2])
            if (turn > 0) != ccw or abs(turn) < 1e-12:
                continue
            if any(inside(p[j], p[i0], p[i1], p[i2]) for j in idx if j not in (i0, i1, i2)):
                continue
            tris.append((i0, i1, i2))
            del idx[k]
            break
        else:
            break
    if len(idx) >= 3:
        tris.extend((idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1))
    return np.asarray(tris, dtype=np.int32).reshape(-1, 3)


# --- random polygons ------------------------------------------------------------------------

grid_polygons = st.integers(2, 6).flatmap(
    lambda g: st.lists(
        st.tuples(st.integers(0, g), st.integers(0, g)), min_size=3, max_size=12
    ).map(lambda pts: np.array(pts, dtype=np.float64))
)
# coordinates with up to 3 decimals, as show files hold them (between points closer than
# ~1e-300 both tests decide by underflow, and may differ)
coordinates = st.integers(-(10**6), 10**6).map(lambda v: v / 1000)
float_polygons = st.lists(st.tuples(coordinates, coordinates), min_size=3, max_size=14).map(
    lambda pts: np.array(pts, dtype=np.float64)
)


def crosses(p: np.ndarray, pair: tuple[int, int]) -> bool:
    n = len(p)
    i, j = pair
    return i < j and geometry._segments_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n])


@given(st.one_of(grid_polygons, float_polygons))
def test_the_sweep_finds_a_crossing_exactly_when_the_all_pairs_test_does(polygon):
    found = geometry.first_crossing(polygon)
    expected = reference_first_crossing(polygon)
    assert (found is None) == (expected is None), (polygon.tolist(), found, expected)
    if found is not None:
        assert crosses(polygon, found)
        i, j = found
        assert j != i + 1 and not (i == 0 and j == len(polygon) - 1)


@given(st.one_of(grid_polygons, float_polygons))
def test_polygon_problem_accepts_and_refuses_what_it_did(polygon):
    """Same verdict as the old check (all pairs), and the same message when nothing
    crosses; for a crossing, the pair named crosses."""
    new = geometry.polygon_problem(polygon)
    old_crossing = reference_first_crossing(polygon)
    if new is not None and "cross" in new:
        assert old_crossing is not None
    if new is None:
        assert old_crossing is None


def coverage(polygon: np.ndarray, tris: np.ndarray) -> np.ndarray:
    pts = sample_points(polygon, 30)
    pts = pts[edge_distance(pts, polygon) > 1e-6]
    return sum(inside_triangle(pts, polygon[t]).astype(int) for t in tris), inside_polygon(
        pts, polygon
    ).astype(int)


@given(star_polygons())
def test_earcut_covers_every_simple_polygon_like_the_ear_clipping_it_replaced(polygon):
    """Star-shaped polygons of 3..20 vertices, convex or not, 0.01 to 10 000 px across.
    (On degenerate outlines the check lets through, such as a vertex visited twice, the
    old ear clipping overlapped triangles; earcut's coverage is checked there below.)"""
    for p in (polygon, polygon[::-1].copy()):
        tris = geometry.triangulate_polygon(p)
        old = reference_triangulation(p)
        assert tris.dtype == np.int32 and tris.shape[1] == 3
        area = sum(abs(shoelace(p[t])) for t in tris)
        assert area == pytest.approx(abs(shoelace(p)), rel=1e-9, abs=1e-9)
        assert area == pytest.approx(sum(abs(shoelace(p[t])) for t in old), rel=1e-9, abs=1e-9)
        count, inside = coverage(p, tris)
        np.testing.assert_array_equal(count, inside)
        sign = np.sign(shoelace(p))
        for t in tris:  # every triangle turns the polygon's way, or is flat
            assert np.sign(shoelace(p[t])) in (sign, 0)


def test_earcut_covers_a_degenerate_outline_the_check_accepts_without_overlap():
    # found by Hypothesis: vertices visited twice; the old ear clipping counted area 1.5
    polygon = np.array([(1, 0), (0, 1), (0, 0), (0, 1), (0, 0)], dtype=np.float64)
    assert geometry.polygon_problem(polygon) is None
    tris = geometry.triangulate_polygon(polygon)
    assert sum(abs(shoelace(polygon[t])) for t in tris) == pytest.approx(0.5)
    assert sum(abs(shoelace(polygon[t])) for t in reference_triangulation(polygon)) == 1.5


def wavy_star(n: int) -> np.ndarray:
    k = np.arange(n)
    angle = 2 * np.pi * k / n
    radius = 300 + 100 * (k % 2) + 20 * np.sin(7 * angle)
    return np.stack([800 + radius * np.cos(angle), 450 + radius * np.sin(angle)], axis=1)


def test_a_2000_vertex_outline_is_checked_and_triangulated_correctly():
    """The issue's size (7 s to check, 12 s to render before; figures: bench/bench_check.py):
    same verdict as the reference on a crossing made near the end, full coverage."""
    star = wavy_star(2000)
    assert geometry.polygon_problem(star) is None
    tris = geometry.triangulate_polygon(star)
    assert len(tris) == 1998
    count, inside = coverage(star, tris)
    np.testing.assert_array_equal(count, inside)
    crossed = star.copy()
    crossed[[1990, 1994]] = crossed[[1994, 1990]]  # two spikes swapped: their edges cross
    pair = geometry.first_crossing(crossed)
    assert pair is not None and crosses(crossed, pair)


# --- "did you mean" over long lists (issue 10: hints made check quadratic) -------------------


@given(
    st.lists(st.text("abcdefgh-", min_size=1, max_size=8), min_size=70, max_size=120, unique=True),
    st.data(),
)
def test_a_hint_over_a_long_list_names_a_name_one_edit_away(names, data):
    from mapping.errors import Choices, did_you_mean

    choices = Choices(names)
    target = data.draw(st.sampled_from(sorted(set(names))))
    i = data.draw(st.integers(0, len(target)))
    typo = data.draw(
        st.sampled_from(
            [target[:i] + "z" + target[i:], target[:i] + target[i + 1 :] or "z", target + "q"]
        )
    )
    hint = did_you_mean(typo, choices)
    distances = {name: levenshtein(typo, name) for name in set(names)}
    if min(distances.values()) <= 1:
        assert hint.startswith(" (did you mean '")
        suggested = hint.removeprefix(" (did you mean '").removesuffix("'?)")
        assert distances[suggested] <= 1 or is_swap(typo, suggested)
    assert did_you_mean(typo, names) == hint  # a plain list gets the same answer


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def is_swap(a: str, b: str) -> bool:
    diff = [k for k in range(len(a)) if len(a) == len(b) and a[k] != b[k]]
    return len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


# --- the sweep on outlines of more than 8 vertices (below that it tests all pairs) ---------


def all_pairs_crossing(p: np.ndarray) -> bool:
    """Whether two non-adjacent edges properly cross: the orientation test written out."""

    def orient(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    n = len(p)
    edges = [(p[i].tolist(), p[(i + 1) % n].tolist()) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n - (i == 0)):
            (a, b), (c, d) = edges[i], edges[j]
            if orient(c, d, a) * orient(c, d, b) < 0 and orient(a, b, c) * orient(a, b, d) < 0:
                return True
    return False


def test_the_sweep_finds_a_crossing_that_needs_the_edges_slopes():
    """Found by a search: ordering the edges along the sweep line with a wrong slope misses
    the crossing of edges 5-6 and 7-8 of this 10-vertex outline."""
    polygon = np.array(
        [[2, 0], [5, 1], [6, 3], [8, 5], [6, 3], [4, 8], [5, 2], [1, 5], [8, 7], [0, 9]], float
    )
    assert all_pairs_crossing(polygon)
    pair = geometry.first_crossing(polygon)
    assert pair is not None and crosses(polygon, pair)


def test_the_check_agrees_with_all_pairs_on_400_random_outlines():
    """Seeded, so it runs the same every time: 4..16 vertices (the sweep above 8) on small
    grids (collinear points, touching edges, repeats) and in general position."""
    rng = np.random.default_rng(13)
    found = 0
    for k in range(400):
        n = int(rng.integers(4, 17))
        if k % 2:
            polygon = rng.integers(0, 12, (n, 2)).astype(float)
        else:
            polygon = np.round(rng.uniform(-50, 50, (n, 2)), 3)
        pair = geometry.first_crossing(polygon)
        assert (pair is not None) == all_pairs_crossing(polygon), polygon.tolist()
        if pair is not None:
            found += 1
            assert crosses(polygon, pair), (polygon.tolist(), pair)
    assert 100 < found < 400  # both verdicts are exercised


def test_checking_an_outline_raises_no_numeric_warnings():
    """Vertical edges, an edge of no length and a slope beyond a float's range are part of
    the sweep's set-up: no division or overflow warning may reach the log."""
    import warnings

    polygon = np.array(
        [[0, 0], [0, 5], [0, 5], [1e-300, 1e10], [3, 6], [6, 6], [6, 0], [4, -2], [2, -2]],
        float,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert geometry.first_crossing(polygon) is None
        assert geometry.first_crossing(polygon[::-1].copy()) is None
