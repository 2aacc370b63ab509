"""Point-pair calibration: fit ``H_canvas_to_projector`` to measured points (pure numpy + OpenCV).

A technician marks N ≥ 4 points whose position on the facade template is known
(``points_canvas_px``) and where each one lands in the projector's image
(``points_projector_px``: where a crosshair had to be moved to sit on it). This module
owns turning those pairs into a homography and saying how well it fits:

1. **Check the input**: same number of points on both sides, at least 4, finite, and not
   degenerate (all on one line, three of four on one line, or too few distinct points).
2. **Normalised DLT** (Hartley): the linear least-squares starting point.
3. **Robust inliers** when there are more than :data:`ROBUST_ABOVE` points: OpenCV's
   MAGSAC++ (``cv2.USAC_MAGSAC``) picks the points consistent with one homography, so a
   wrong click cannot drag the fit. With fewer points every point is used, except one
   clear wrong click: from 6 points on, each point is predicted from the others
   (held out), and a point the others predict badly while agreeing among themselves is
   left out. With 4 or 5 points a wrong click cannot be told apart: measure more.
4. **Levenberg–Marquardt refinement** of the reprojection error in ``projector_px``
   (what a technician sees on the wall), over the inliers.
5. **Residuals** of *every* point under the final H: ``residuals_px[i]`` is how far point
   ``i`` lands from where it was measured. Points left out are ``outliers``; points used
   although beyond ``outlier_threshold_px`` are ``suspects`` (the fit is pulled by them).

All coordinates are continuous pixels with centres at +0.5 (``mapping.geometry``); OpenCV
only ever sees point pairs here, so its integer-centre convention does not matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mapping import geometry, validate

logger = logging.getLogger(__name__)

MIN_POINTS = 4
ROBUST_ABOVE = 8
"""With more points than this, inliers are chosen robustly (MAGSAC++) before refining."""

HOLD_OUT_FROM = 6
"""From this many points, each is also predicted from the others (held-out residuals);
with 8 or fewer, a single wrong click found that way is left out of the fit."""

DEFAULT_OUTLIER_THRESHOLD_PX = 3.0
"""A point landing further than this from where it was measured is flagged as an outlier."""


class FitError(ValueError):
    """The point pairs cannot determine a homography; the message says why."""


@dataclass(frozen=True, eq=False)
class PointPairFit:
    """A fitted ``H_canvas_to_projector`` and how well each measured point agrees with it.

    ``residuals_px[i]`` is the distance in ``projector_px`` between where point ``i``
    was measured and where H puts its canvas position. ``inliers[i]`` says whether the
    point was used for the fit and lies within ``outlier_threshold_px``. ``rms_px`` and
    ``max_px`` are over the inliers. ``held_out_px[i]`` (from :data:`HOLD_OUT_FROM`
    points up to 50) is point ``i``'s error under the fit of all the *other* points: how
    well the rest predict it, which is what exposes a wrong click among few points.
    """

    H_canvas_to_projector: np.ndarray
    points_canvas_px: np.ndarray
    points_projector_px: np.ndarray
    residuals_px: np.ndarray
    inliers: np.ndarray
    outlier_threshold_px: float
    robust: bool
    held_out_px: np.ndarray | None = None

    @property
    def rms_px(self) -> float:
        r = self.residuals_px[self.inliers]
        return float(np.sqrt(np.mean(r**2))) if len(r) else float("nan")

    @property
    def max_px(self) -> float:
        r = self.residuals_px[self.inliers]
        return float(np.max(r)) if len(r) else float("nan")

    @property
    def outliers(self) -> list[int]:
        """Points left out of the fit as wrong clicks (re-measure them)."""
        return [int(i) for i in np.flatnonzero(~self.inliers)]

    @property
    def suspects(self) -> list[int]:
        """Points used in the fit although their residual exceeds the threshold.

        The fit could not single them out (too few points, or several wrong clicks):
        it is pulled by them and should not be trusted until they are re-measured.
        """
        bad = self.inliers & (self.residuals_px > self.outlier_threshold_px)
        return [int(i) for i in np.flatnonzero(bad)]

    @property
    def points(self) -> int:
        return len(self.residuals_px)


def fit_homography(
    points_canvas_px: object,
    points_projector_px: object,
    *,
    outlier_threshold_px: float = DEFAULT_OUTLIER_THRESHOLD_PX,
    robust: bool | None = None,
) -> PointPairFit:
    """Least-squares ``H_canvas_to_projector`` from N ≥ 4 point pairs, with residuals.

    ``robust`` defaults to ``N > ROBUST_ABOVE``. Raises :class:`FitError` (a
    ``ValueError``) for mismatched, too few, non-finite or degenerate points, or a
    result the shared homography validator rejects.
    """
    canvas = _points(points_canvas_px, "points_canvas_px")
    projector = _points(points_projector_px, "points_projector_px")
    if len(canvas) != len(projector):
        raise FitError(
            f"{len(canvas)} canvas points but {len(projector)} projector points; "
            "every point needs both"
        )
    if len(canvas) < MIN_POINTS:
        raise FitError(f"a homography needs at least {MIN_POINTS} point pairs, got {len(canvas)}")
    if not (np.isfinite(outlier_threshold_px) and outlier_threshold_px > 0):
        raise FitError(f"outlier_threshold_px must be > 0, got {outlier_threshold_px!r}")
    for name, pts in (("canvas", canvas), ("projector", projector)):
        if reason := _degeneracy(pts):
            raise FitError(f"{name} points are degenerate: {reason}")

    n = len(canvas)
    threshold = float(outlier_threshold_px)
    robust = n > ROBUST_ABOVE if robust is None else robust
    use = np.ones(n, dtype=bool)
    if robust:
        use = _robust_inliers(canvas, projector, threshold)
        if not _usable(canvas, projector, use):
            logger.warning("robust fit found no usable consensus; fitting all %d points", n)
            use = np.ones(n, dtype=bool)
    held_out = _held_out_errors(canvas, projector) if HOLD_OUT_FROM <= n <= 50 else None
    if not robust and held_out is not None:
        use = _single_wrong_click(canvas, projector, held_out, threshold)

    H = _fit(canvas, projector, use)
    residuals = reprojection_errors_px(H, canvas, projector)
    if robust:
        # Points the consensus left out may still agree with the refined H; take them
        # back, refine once more, and judge every point against that.
        agree = residuals <= threshold
        if not np.array_equal(agree, use) and _usable(canvas, projector, agree):
            use = agree
            H = _fit(canvas, projector, use)
            residuals = reprojection_errors_px(H, canvas, projector)
    if message := validate.homography_problem(H):
        raise FitError(f"the fitted homography is unusable: {message}")
    H.setflags(write=False)
    for a in (canvas, projector, residuals, use, held_out):
        if a is not None:
            a.setflags(write=False)
    fit = PointPairFit(H, canvas, projector, residuals, use, threshold, robust, held_out)
    logger.info(
        "fitted %d point pairs: rms %.3f px, max %.3f px, outliers %s, suspects %s",
        n,
        fit.rms_px,
        fit.max_px,
        fit.outliers or "none",
        fit.suspects or "none",
    )
    return fit


def reprojection_errors_px(
    H_canvas_to_projector: np.ndarray, points_canvas_px: np.ndarray, points_projector_px: np.ndarray
) -> np.ndarray:
    """Distance in ``projector_px`` from each measured point to where H maps its canvas point."""
    canvas = np.asarray(points_canvas_px, dtype=np.float64).reshape(-1, 2)
    homog = np.hstack([canvas, np.ones((len(canvas), 1))]) @ np.asarray(H_canvas_to_projector).T
    with np.errstate(divide="ignore", invalid="ignore"):
        mapped = homog[:, :2] / homog[:, 2:3]
    errors = np.linalg.norm(mapped - np.asarray(points_projector_px).reshape(-1, 2), axis=1)
    return np.where(np.isfinite(errors), errors, np.inf)


# --------------------------------------------------------------------------- steps


def _points(value: object, name: str) -> np.ndarray:
    try:
        pts = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FitError(f"{name}: expected a list of [x, y] numbers ({exc})") from None
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise FitError(f"{name}: expected a list of [x, y] points, got shape {pts.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(pts), axis=1))
    if len(bad):
        raise FitError(
            f"{name}: points must be finite numbers; not finite: "
            + ", ".join(f"point {i}" for i in bad[:5])
        )
    return pts


def _degeneracy(points: np.ndarray) -> str | None:
    """Why these points cannot pin down a homography (as one side of the pairs), or None."""
    distinct = np.unique(points, axis=0)
    if len(distinct) < MIN_POINTS:
        return f"only {len(distinct)} distinct points; at least {MIN_POINTS} are needed"
    centred = distinct - distinct.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if sv[1] <= 1e-9 * max(sv[0], 1e-300):
        return f"all {len(points)} points lie on one line"
    # Degenerate exactly when one line holds all points but (at most) one. Such a line
    # passes through distinct point 0 or distinct point 1, so those lines suffice.
    scale = max(float(np.ptp(distinct[:, 0])), float(np.ptp(distinct[:, 1])))
    tolerance = 1e-9 * scale * scale
    for anchor in (0, 1):
        a = distinct[anchor]
        for b in distinct:
            d = b - a
            if not np.any(d):
                continue
            rel = distinct - a
            on_line = np.abs(d[0] * rel[:, 1] - d[1] * rel[:, 0]) <= tolerance
            if on_line.sum() >= len(distinct) - 1:
                return (
                    f"{int(on_line.sum())} of the {len(distinct)} distinct points lie on one "
                    "line; at least 4 points with no 3 on a line are needed"
                )
    return None


def _fit(canvas: np.ndarray, projector: np.ndarray, use: np.ndarray) -> np.ndarray:
    return _refine(_dlt(canvas[use], projector[use]), canvas[use], projector[use])


def _usable(canvas: np.ndarray, projector: np.ndarray, use: np.ndarray) -> bool:
    return bool(
        use.sum() >= MIN_POINTS
        and _degeneracy(canvas[use]) is None
        and _degeneracy(projector[use]) is None
    )


def _held_out_errors(canvas: np.ndarray, projector: np.ndarray) -> np.ndarray:
    """For each point, its error under the homography fitted to all the *other* points."""
    errors = np.full(len(canvas), np.inf)
    for i in range(len(canvas)):
        others = np.ones(len(canvas), dtype=bool)
        others[i] = False
        if not _usable(canvas, projector, others):
            continue
        try:
            H = _fit(canvas, projector, others)
        except (FitError, ValueError):
            continue
        errors[i] = reprojection_errors_px(H, canvas[i : i + 1], projector[i : i + 1])[0]
    return errors


def _single_wrong_click(
    canvas: np.ndarray, projector: np.ndarray, held_out: np.ndarray, threshold: float
) -> np.ndarray:
    """Which points to fit with few points: all, or all but one unambiguous wrong click.

    Point ``i`` explains the data as a single wrong click when the others, fitted
    without it, all agree within ``threshold`` and it does not. It is left out only when
    exactly one point does: when several could be "the" wrong click, the points cannot
    tell, and all are kept (the worst then show up as suspects).
    """
    everything = np.ones(len(canvas), dtype=bool)
    candidates = []
    for i in np.flatnonzero(held_out > threshold):
        others = everything.copy()
        others[i] = False
        if not _usable(canvas, projector, others):
            continue
        H = _fit(canvas, projector, others)
        if np.all(reprojection_errors_px(H, canvas[others], projector[others]) <= threshold):
            candidates.append(others)
    return candidates[0] if len(candidates) == 1 else everything


def _dlt(canvas: np.ndarray, projector: np.ndarray) -> np.ndarray:
    """Normalised direct linear transform (Hartley): the algebraic least-squares H.

    Point order does not matter (unlike a corner pin, whose quad must not be a bow-tie).
    """
    T_c, T_p = _normaliser(canvas), _normaliser(projector)
    c = geometry.apply_homography(T_c, canvas)
    p = geometry.apply_homography(T_p, projector)
    zeros = np.zeros((len(c), 3))
    X = np.hstack([c, np.ones((len(c), 1))])
    rows_u = np.hstack([-X, zeros, p[:, 0:1] * X])
    rows_v = np.hstack([zeros, -X, p[:, 1:2] * X])
    _, sv, vt = np.linalg.svd(np.vstack([rows_u, rows_v]))
    if sv[-2] < 1e-10 * sv[0]:
        raise FitError(
            "the points do not determine a unique homography (too many of them lie on "
            "one line: at least 4 with no 3 on a line are needed)"
        )
    H = np.linalg.inv(T_p) @ vt[-1].reshape(3, 3) @ T_c
    try:
        return validate.normalised_homography(H)
    except ValueError as exc:
        raise FitError(f"the points do not determine a usable homography: {exc}") from None


def _robust_inliers(canvas: np.ndarray, projector: np.ndarray, threshold_px: float) -> np.ndarray:
    import cv2

    method = getattr(cv2, "USAC_MAGSAC", cv2.RANSAC)
    _, mask = cv2.findHomography(
        canvas.astype(np.float64),
        projector.astype(np.float64),
        method=method,
        ransacReprojThreshold=float(threshold_px),
        maxIters=5000,
        confidence=0.9999,
    )
    if mask is None:
        return np.ones(len(canvas), dtype=bool)
    return mask.ravel().astype(bool)


def _refine(
    H_start: np.ndarray, canvas: np.ndarray, projector: np.ndarray, iterations: int = 50
) -> np.ndarray:
    """Levenberg–Marquardt on the reprojection error in ``projector_px`` (9 parameters,
    scale fixed by normalising; worked in Hartley-normalised coordinates for conditioning)."""
    T_c = _normaliser(canvas)
    T_p = _normaliser(projector)
    c = geometry.apply_homography(T_c, canvas)
    p = geometry.apply_homography(T_p, projector)
    h = (T_p @ H_start @ np.linalg.inv(T_c)).ravel()
    h = h / np.linalg.norm(h)

    def residual(h: np.ndarray) -> np.ndarray:
        Hn = h.reshape(3, 3)
        homog = np.hstack([c, np.ones((len(c), 1))]) @ Hn.T
        return (homog[:, :2] / homog[:, 2:3] - p).ravel()

    r = residual(h)
    cost = float(r @ r)
    lam = 1e-3
    ones = np.ones((len(c), 1))
    X = np.hstack([c, ones])
    for _ in range(iterations):
        Hn = h.reshape(3, 3)
        homog = X @ Hn.T
        w = homog[:, 2:3]
        uv = homog[:, :2] / w
        J = np.zeros((2 * len(c), 9))
        J[0::2, 0:3] = X / w
        J[0::2, 6:9] = -uv[:, 0:1] * X / w
        J[1::2, 3:6] = X / w
        J[1::2, 6:9] = -uv[:, 1:2] * X / w
        A = J.T @ J
        g = J.T @ r
        improved = False
        while lam < 1e10:
            step = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), -g)
            h_new = h + step
            h_new = h_new / np.linalg.norm(h_new)
            r_new = residual(h_new)
            cost_new = float(r_new @ r_new)
            if np.isfinite(cost_new) and cost_new < cost:
                improved = cost - cost_new > 1e-15 * max(cost, 1e-300)
                h, r, cost = h_new, r_new, cost_new
                lam = max(lam / 10, 1e-12)
                break
            lam *= 10
        if not improved:
            break
    H = np.linalg.inv(T_p) @ h.reshape(3, 3) @ T_c
    return validate.normalised_homography(H)


def _normaliser(points: np.ndarray) -> np.ndarray:
    centroid = points.mean(axis=0)
    mean_dist = float(np.mean(np.linalg.norm(points - centroid, axis=1)))
    s = np.sqrt(2.0) / max(mean_dist, 1e-12)
    return np.array([[s, 0, -s * centroid[0]], [0, s, -s * centroid[1]], [0, 0, 1.0]])
