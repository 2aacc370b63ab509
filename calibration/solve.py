"""Solving decoded correspondences into per-surface homographies (numpy + OpenCV, no GL).

This module owns the step from ``proj_xy`` (where each camera pixel looks in a projector,
see :mod:`calibration.decode`) to ``H_canvas_to_projector`` for each planar facade surface:

1. **Camera lens.** Camera points are undistorted with a camera model (``K`` and OpenCV
   distortion coefficients, from a calibration file, or estimated here from the
   correspondences themselves: :func:`estimate_radial_distortion`) before any homography
   is fitted, because a homography is only exact between *undistorted* images of a plane.
2. **Camera → projector.** Inside the surface's region of the camera image (a polygon the
   technician marks in ``camera_px``), decoded pixels are sampled and
   ``H_camera_to_projector`` is fitted robustly (``cv2.findHomography`` with MAGSAC++),
   then refined by least squares on the inliers. "Camera" here always means the ideal,
   undistorted ``camera_px``.
3. **Held-out residuals.** The surface's points are split into checkerboard blocks in
   ``camera_px`` (4×4 by default); the homography fitted on the white blocks is judged on the
   black blocks and vice versa. Neighbouring pixels share blur and noise, so a random half
   would flatter the fit; whole blocks held out measure how the fit *extrapolates*. Residuals
   are in ``projector_px``.
4. **Canvas → projector.** Points known in ``canvas_px`` (the surface corners of the facade
   template, or facade features) are marked at their camera positions; with those,
   ``H_canvas_to_camera`` is fitted and ``H_canvas_to_projector = H_camera_to_projector ·
   H_canvas_to_camera``.
5. **Several projectors** seen by one camera are each registered to the same canvas;
   :func:`projector_overlaps` reports where their footprints overlap, in ``canvas_px``.

Conventions: all points are continuous pixel coordinates with pixel centres at ``+0.5``
(homography fitting does not care about the convention as long as both sides share it).
Camera matrices ``K`` are in OpenCV's convention (centres at integers), as
``cv2.calibrateCamera`` writes them; :class:`CameraModel` does the half-pixel shift.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from calibration.decode import Correspondences
from calibration.errors import CalibrationError
from mapping.geometry import apply_homography, normalize_homography, polygon_problem

logger = logging.getLogger(__name__)

DEFAULT_MAX_POINTS = 20000
DEFAULT_BLOCKS = 4
DEFAULT_RANSAC_PX = 1.0


# --------------------------------------------------------------------------- camera lens


@dataclass(frozen=True)
class CameraModel:
    """Pinhole camera with OpenCV distortion (``k1, k2, p1, p2[, k3]``); ``K`` in OpenCV px."""

    K: np.ndarray
    dist: np.ndarray

    def undistort(self, points_camera_px: np.ndarray) -> np.ndarray:
        """Distorted (as photographed) → ideal ``camera_px`` with the same ``K``."""
        pts = np.asarray(points_camera_px, dtype=np.float64).reshape(-1, 1, 2) - 0.5
        out = cv2.undistortPoints(
            pts,
            self.K,
            self.dist,
            R=None,
            P=self.K,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10),
        )
        return out.reshape(-1, 2) + 0.5

    def distort(self, points_camera_px: np.ndarray) -> np.ndarray:
        """Ideal → distorted ``camera_px`` (where the lens puts an ideal point)."""
        pts = np.asarray(points_camera_px, dtype=np.float64).reshape(-1, 2) - 0.5
        normalised = cv2.undistortPoints(pts.reshape(-1, 1, 2), self.K, None).reshape(-1, 2)
        obj = np.hstack([normalised, np.ones((len(normalised), 1))])
        image, _ = cv2.projectPoints(obj, np.zeros(3), np.zeros(3), self.K, self.dist)
        return image.reshape(-1, 2) + 0.5


def nominal_camera_matrix(camera_size: tuple[int, int]) -> np.ndarray:
    """A plausible ``K`` when none is known: focal length = the longer side, centred."""
    w, h = camera_size
    f = float(max(w, h))
    return np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1.0]])


def load_camera_model(path: str | Path) -> CameraModel:
    """Read ``K`` and distortion from ``.npz`` (``K``/``camera_matrix``, ``dist``/
    ``dist_coeffs``) or ``.toml`` (``K = [[..], [..], [..]]``, ``dist = [k1, k2, p1, p2]``)."""
    file = Path(path)
    try:
        if file.suffix == ".npz":
            with np.load(file) as data:
                K = data["K"] if "K" in data else data["camera_matrix"]
                dist = data["dist"] if "dist" in data else data["dist_coeffs"]
        else:
            doc = tomllib.loads(file.read_text(encoding="utf-8"))
            doc = doc.get("camera", doc)
            K, dist = doc["K"], doc["dist"]
        K = np.asarray(K, dtype=np.float64)
        dist = np.asarray(dist, dtype=np.float64).reshape(-1)
    except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(
            f"cannot read the camera model {file}: {exc!s}. It needs K (3x3) and dist "
            "(k1, k2, p1, p2[, k3]) as written by cv2.calibrateCamera."
        ) from exc
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or dist.size not in (4, 5, 8):
        raise CalibrationError(
            f"camera model {file}: K must be 3x3 and dist 4, 5 or 8 numbers; got K "
            f"{K.shape}, dist {dist.size}"
        )
    return CameraModel(K, dist)


def save_camera_model(path: str | Path, model: CameraModel) -> None:
    np.savez(path, K=model.K, dist=model.dist)


# --------------------------------------------------------------------------- points


def _check_points(points: np.ndarray, what: str, minimum: int = 4) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < minimum:
        raise CalibrationError(
            f"{what}: {len(pts)} point(s); a homography needs at least {minimum}. Mark more "
            "points (the surface corners, or features known on the facade template)."
        )
    if not np.all(np.isfinite(pts)):
        raise CalibrationError(f"{what}: points must be finite numbers")
    centred = pts - pts.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    if sv[1] < 1e-6 * max(sv[0], 1.0) or sv[1] / np.sqrt(len(pts)) < 0.5:
        raise CalibrationError(
            f"{what}: the points lie on one line (collinear); a plane needs points spread in "
            "two directions. Mark points that are not all on one edge."
        )
    return pts


def sample_correspondences(
    corr: Correspondences,
    polygon_camera_px: np.ndarray | None = None,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    min_confidence: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Decoded pixels inside ``polygon_camera_px``: ``(points_camera_px, points_projector_px)``.

    Camera points are pixel centres (``+0.5``), as photographed (not undistorted). At most
    ``max_points`` are returned, drawn uniformly with ``seed``.
    """
    valid = corr.valid & (corr.confidence >= min_confidence)
    if polygon_camera_px is not None:
        polygon = np.asarray(polygon_camera_px, dtype=np.float64).reshape(-1, 2)
        if (reason := polygon_problem(polygon)) is not None:
            raise CalibrationError(f"surface polygon in camera_px: {reason}")
        mask = np.zeros(valid.shape, np.uint8)
        shift = 4
        pts = np.round((polygon - 0.5) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=shift)
        valid &= mask.astype(bool)
    rows, cols = np.nonzero(valid)
    if len(rows) > max_points:
        pick = np.random.default_rng(seed).choice(len(rows), max_points, replace=False)
        rows, cols = rows[pick], cols[pick]
    points_camera_px = np.stack([cols + 0.5, rows + 0.5], axis=1).astype(np.float64)
    points_projector_px = corr.proj_xy[rows, cols].astype(np.float64)
    return points_camera_px, points_projector_px


def projector_points_at(
    corr: Correspondences, points_camera_px: np.ndarray, *, window_px: int = 15
) -> np.ndarray:
    """Sub-pixel ``projector_px`` at arbitrary camera points (e.g. chessboard corners).

    Fits a local homography to the decoded pixels in a ``(2·window_px+1)²`` window around
    each point (robustly) and evaluates it at the point. NaN where too few pixels decoded.
    """
    pts = np.asarray(points_camera_px, dtype=np.float64).reshape(-1, 2)
    out = np.full_like(pts, np.nan)
    h, w = corr.proj_xy.shape[:2]
    for i, (x, y) in enumerate(pts):
        c0, r0 = max(0, int(x) - window_px), max(0, int(y) - window_px)
        c1, r1 = min(w, int(x) + window_px + 1), min(h, int(y) + window_px + 1)
        patch = corr.proj_xy[r0:r1, c0:c1]
        ok = np.isfinite(patch[..., 0])
        if np.count_nonzero(ok) < 20:
            continue
        rr, cc = np.nonzero(ok)
        src = np.stack([cc + c0 + 0.5, rr + r0 + 0.5], axis=1)
        dst = patch[rr, cc].astype(np.float64)
        H, _ = cv2.findHomography(src, dst, cv2.RANSAC, 2.0)
        if H is not None:
            out[i] = apply_homography(H, pts[i : i + 1])[0]
    return out


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class Residuals:
    """Distances in ``projector_px`` between predicted and decoded points."""

    rms_px: float
    median_px: float
    p95_px: float
    max_px: float
    points: int

    @staticmethod
    def of(errors_px: np.ndarray) -> Residuals:
        e = np.asarray(errors_px, dtype=np.float64)
        if e.size == 0:
            return Residuals(float("nan"), float("nan"), float("nan"), float("nan"), 0)
        return Residuals(
            float(np.sqrt(np.mean(e**2))),
            float(np.median(e)),
            float(np.percentile(e, 95)),
            float(e.max()),
            int(e.size),
        )

    def __str__(self) -> str:
        return (
            f"RMS {self.rms_px:.3f} px, median {self.median_px:.3f}, p95 {self.p95_px:.3f}, "
            f"max {self.max_px:.3f} ({self.points} points)"
        )


def fit_homography(
    points_src: np.ndarray,
    points_dst: np.ndarray,
    *,
    threshold_px: float = DEFAULT_RANSAC_PX,
    what: str = "points",
) -> tuple[np.ndarray, np.ndarray]:
    """Robust ``H_src_to_dst`` (MAGSAC++, then least squares on inliers) and the inlier mask."""
    src = _check_points(points_src, what)
    dst = np.asarray(points_dst, dtype=np.float64).reshape(-1, 2)
    if len(dst) != len(src):
        raise CalibrationError(f"{what}: {len(src)} source points but {len(dst)} destinations")
    _check_points(dst, what)
    if len(src) == 4:
        H, _ = cv2.findHomography(src, dst, 0)
        inliers = np.ones(4, bool)
    else:
        H, mask = cv2.findHomography(
            src, dst, cv2.USAC_MAGSAC, threshold_px, maxIters=5000, confidence=0.999
        )
        if H is None:
            raise CalibrationError(f"{what}: no homography fits these points")
        inliers = mask.reshape(-1).astype(bool)
        if np.count_nonzero(inliers) >= 4:
            H_ls, _ = cv2.findHomography(src[inliers], dst[inliers], 0)
            if H_ls is not None:
                H = H_ls
    if H is None:
        raise CalibrationError(f"{what}: no homography fits these points")
    try:
        return normalize_homography(H), inliers
    except ValueError as exc:
        raise CalibrationError(f"{what}: {exc}") from exc


def checkerboard_folds(points: np.ndarray, blocks: int = DEFAULT_BLOCKS) -> np.ndarray:
    """bool per point: in a "white" block of a ``blocks × blocks`` checkerboard over the bbox."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    cell = np.maximum((hi - lo) / blocks, 1e-9)
    ij = np.clip(np.floor((pts - lo) / cell).astype(int), 0, blocks - 1)
    return (ij[:, 0] + ij[:, 1]) % 2 == 0


@dataclass(frozen=True)
class SurfaceFit:
    """``H_camera_to_projector`` for one planar surface, with its fit and held-out residuals."""

    H_camera_to_projector: np.ndarray
    fit: Residuals
    held_out: Residuals
    inlier_fraction: float


def fit_camera_to_projector(
    points_camera_px: np.ndarray,
    points_projector_px: np.ndarray,
    *,
    camera_model: CameraModel | None = None,
    blocks: int = DEFAULT_BLOCKS,
    threshold_px: float = DEFAULT_RANSAC_PX,
) -> SurfaceFit:
    """Fit ``H_camera_to_projector`` (ideal camera_px) with held-out checkerboard residuals."""
    cam = _check_points(points_camera_px, "decoded points on the surface", minimum=8)
    proj = np.asarray(points_projector_px, dtype=np.float64).reshape(-1, 2)
    if camera_model is not None:
        cam = camera_model.undistort(cam)
    H, inliers = fit_homography(cam, proj, threshold_px=threshold_px, what="surface points")
    fit = Residuals.of(np.linalg.norm(apply_homography(H, cam[inliers]) - proj[inliers], axis=1))

    white = checkerboard_folds(cam, blocks)
    errors = []
    for train in (white, ~white):
        test = ~train
        if np.count_nonzero(train) < 8 or np.count_nonzero(test) == 0:
            continue
        H_train, _ = fit_homography(
            cam[train], proj[train], threshold_px=threshold_px, what="held-out split"
        )
        # Judge held-out points that the full fit counts as inliers: outliers (bad decodes)
        # are reported by inlier_fraction, not folded into the geometric residual.
        keep = test & inliers
        errors.append(np.linalg.norm(apply_homography(H_train, cam[keep]) - proj[keep], axis=1))
    held_out = Residuals.of(np.concatenate(errors) if errors else np.array([]))
    return SurfaceFit(H, fit, held_out, float(np.mean(inliers)))


def fit_canvas_to_camera(
    points_canvas_px: np.ndarray,
    points_camera_px: np.ndarray,
    *,
    camera_model: CameraModel | None = None,
) -> np.ndarray:
    """``H_canvas_to_camera`` (ideal camera) from ≥ 4 points marked on the facade."""
    canvas = _check_points(points_canvas_px, "points in canvas_px")
    camera = _check_points(points_camera_px, "points in camera_px")
    if len(canvas) != len(camera):
        raise CalibrationError(
            f"{len(canvas)} points in canvas_px but {len(camera)} in camera_px; mark every "
            "canvas point once in the camera image, in the same order."
        )
    if camera_model is not None:
        camera = camera_model.undistort(camera)
    H, _ = fit_homography(canvas, camera, threshold_px=3.0, what="canvas↔camera marks")
    return H


def compose_canvas_to_projector(
    H_camera_to_projector: np.ndarray, H_canvas_to_camera: np.ndarray
) -> np.ndarray:
    return normalize_homography(H_camera_to_projector @ H_canvas_to_camera)


@dataclass(frozen=True)
class SurfaceSolution:
    """Everything ``calibrate solve`` learns about one surface on one projector output."""

    name: str
    output: str
    H_canvas_to_projector: np.ndarray
    H_camera_to_projector: np.ndarray
    fit: SurfaceFit
    points: int


def solve_surface(
    corr: Correspondences,
    *,
    name: str,
    output: str,
    points_canvas_px: np.ndarray,
    points_camera_px: np.ndarray,
    polygon_camera_px: np.ndarray | None = None,
    camera_model: CameraModel | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
) -> SurfaceSolution:
    """One surface: decoded points in its camera polygon → ``H_canvas_to_projector``."""
    marks_camera_px = _check_points(points_camera_px, f"surface {name!r}: points in camera_px")
    if polygon_camera_px is None:
        hull = cv2.convexHull(marks_camera_px.astype(np.float32)).reshape(-1, 2)
        polygon_camera_px = hull.astype(np.float64)
    cam, proj = sample_correspondences(corr, polygon_camera_px, max_points=max_points)
    if len(cam) < 50:
        raise CalibrationError(
            f"surface {name!r}: only {len(cam)} decoded camera pixels inside its polygon. Is "
            "the polygon on the part of the image this projector lights? Check the decode "
            "(valid fraction) and the polygon's camera_px coordinates."
        )
    fit = fit_camera_to_projector(cam, proj, camera_model=camera_model)
    H_canvas_to_camera = fit_canvas_to_camera(
        points_canvas_px, marks_camera_px, camera_model=camera_model
    )
    H = compose_canvas_to_projector(fit.H_camera_to_projector, H_canvas_to_camera)
    return SurfaceSolution(name, output, H, fit.H_camera_to_projector, fit, len(cam))


# --------------------------------------------------------------------------- distortion


def estimate_radial_distortion(
    points_camera_px: np.ndarray,
    points_projector_px: np.ndarray,
    camera_size: tuple[int, int],
    *,
    k_range: float = 0.5,
) -> CameraModel:
    """Radial ``k1, k2`` that make one planar surface's correspondences most homographic.

    With no camera calibration file, the nominal ``K`` (:func:`nominal_camera_matrix`) and a
    coarse-to-fine search over ``k1`` then ``k2`` minimise the least-squares homography
    residual. It needs a surface that fills a good part of the image; a camera calibration
    file (chessboard, ``cv2.calibrateCamera``) is better.
    """
    K = nominal_camera_matrix(camera_size)
    cam = np.asarray(points_camera_px, dtype=np.float64).reshape(-1, 2)
    proj = np.asarray(points_projector_px, dtype=np.float64).reshape(-1, 2)
    if len(cam) > 4000:
        pick = np.random.default_rng(0).choice(len(cam), 4000, replace=False)
        cam, proj = cam[pick], proj[pick]

    def cost(k1: float, k2: float) -> float:
        model = CameraModel(K, np.array([k1, k2, 0.0, 0.0]))
        und = model.undistort(cam)
        H, _ = cv2.findHomography(und, proj, 0)
        if H is None:
            return float("inf")
        return float(np.median(np.linalg.norm(apply_homography(H, und) - proj, axis=1)))

    k1 = k2 = 0.0
    for which in ("k1", "k2", "k1"):
        span = k_range
        for _ in range(6):
            candidates = np.linspace(-span, span, 9)
            if which == "k1":
                costs = [cost(k1 + c, k2) for c in candidates]
                k1 += float(candidates[int(np.argmin(costs))])
            else:
                costs = [cost(k1, k2 + c) for c in candidates]
                k2 += float(candidates[int(np.argmin(costs))])
            span /= 4
    logger.info("estimated radial distortion k1=%.4f k2=%.4f", k1, k2)
    return CameraModel(K, np.array([k1, k2, 0.0, 0.0]))


# --------------------------------------------------------------------------- overlaps


@dataclass(frozen=True)
class Overlap:
    """Where two surfaces' projector footprints overlap, in ``canvas_px``."""

    first: str
    second: str
    polygon_canvas_px: np.ndarray
    area_canvas_px2: float


def projector_footprint(
    H_canvas_to_projector: np.ndarray, projector_size: tuple[int, int]
) -> np.ndarray:
    """The projector's frame (its four outer corners) in ``canvas_px``."""
    w, h = projector_size
    frame_projector_px = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    return apply_homography(np.linalg.inv(H_canvas_to_projector), frame_projector_px)


def projector_overlaps(
    solutions: Sequence[SurfaceSolution], projector_sizes: Mapping[str, tuple[int, int]]
) -> list[Overlap]:
    """Overlaps of footprints of surfaces on *different* outputs (blend zones), in canvas_px."""
    out = []
    for i, a in enumerate(solutions):
        for b in solutions[i + 1 :]:
            if a.output == b.output:
                continue
            pa = projector_footprint(a.H_canvas_to_projector, projector_sizes[a.output])
            pb = projector_footprint(b.H_canvas_to_projector, projector_sizes[b.output])
            area, poly = cv2.intersectConvexConvex(
                pa.astype(np.float32), pb.astype(np.float32), handleNested=True
            )
            if poly is None or area <= 0:
                continue
            out.append(Overlap(a.name, b.name, poly.reshape(-1, 2).astype(np.float64), area))
    return out
