"""A ready-made simulated venue: one planar facade, one projector, one camera, known truth.

This module owns the default scene that ``calibrate capture --simulate``, the tests and the
benchmark start from, and its ground truth: ``H_canvas_to_projector`` of one surface, the
surface's canvas corners and where they appear in the (distorted) camera image. The
physics lives in :class:`calibration.camera.FacadeScene`.

Layout (fractions of the camera image): the projector frame lands on a perspective quad
inset ~10 % from the camera borders; the canvas (1000 × 700 canvas_px) is a facade area
inside it; the surface is the canvas inset by 50 canvas_px. The camera lens has barrel
distortion (k1 = −0.12, k2 = 0.03 with the nominal ``K``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from calibration.camera import FacadeScene, projector_to_camera_homography
from calibration.solve import CameraModel, nominal_camera_matrix
from mapping.geometry import apply_homography, homography_from_points

CANVAS_SIZE = (1000, 700)
SURFACE_CANVAS_PX = np.array([[50, 50], [950, 50], [950, 650], [50, 650]], dtype=np.float64)
DEFAULT_DISTORTION = (-0.12, 0.03, 0.0, 0.0)


@dataclass(frozen=True)
class SimulationTruth:
    """Ground truth of a simulated scene (all float64)."""

    H_canvas_to_projector: np.ndarray
    H_canvas_to_camera: np.ndarray
    surface_canvas_px: np.ndarray
    surface_camera_px: np.ndarray
    camera_model: CameraModel | None


def _quad(size: tuple[int, int], fractions: list[list[float]]) -> np.ndarray:
    w, h = size
    return np.array([[fx * w, fy * h] for fx, fy in fractions], dtype=np.float64)


def default_scene(
    projector_size: tuple[int, int],
    camera_size: tuple[int, int],
    *,
    distortion: tuple[float, ...] | None = DEFAULT_DISTORTION,
    projector_quad: list[list[float]] | None = None,
    **scene_options: Any,
) -> tuple[FacadeScene, SimulationTruth]:
    """The default venue at these resolutions; ``scene_options`` override FacadeScene fields.

    ``projector_quad`` moves the projector: where its frame corners (TL, TR, BR, BL) land in
    the ideal camera image, as fractions of the camera size (several projectors, one camera).
    """
    projector_corners_camera_px = _quad(
        camera_size, projector_quad or [[0.10, 0.09], [0.91, 0.13], [0.88, 0.90], [0.08, 0.86]]
    )
    H_projector_to_camera = projector_to_camera_homography(
        projector_size, projector_corners_camera_px
    )
    canvas_corners_camera_px = _quad(
        camera_size, [[0.15, 0.15], [0.85, 0.18], [0.83, 0.83], [0.14, 0.80]]
    )
    cw, ch = CANVAS_SIZE
    canvas_corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float64)
    H_canvas_to_camera = homography_from_points(canvas_corners, canvas_corners_camera_px)
    H_canvas_to_projector = np.linalg.inv(H_projector_to_camera) @ H_canvas_to_camera
    H_canvas_to_projector /= H_canvas_to_projector[2, 2]
    model = None
    if distortion is not None:
        model = CameraModel(nominal_camera_matrix(camera_size), np.asarray(distortion, float))
    scene = FacadeScene(camera_size, projector_size, H_projector_to_camera, camera_model=model)
    if scene_options:
        scene = replace(scene, **scene_options)
    ideal = apply_homography(H_canvas_to_camera, SURFACE_CANVAS_PX)
    surface_camera_px = ideal if model is None else model.distort(ideal)
    truth = SimulationTruth(
        H_canvas_to_projector, H_canvas_to_camera, SURFACE_CANVAS_PX, surface_camera_px, model
    )
    return scene, truth


def write_simulation_truth(folder: str | Path, truth: SimulationTruth, output: str = "sim") -> None:
    """Write ``marks.toml`` (ready for ``calibrate solve``), ``truth.toml`` and the camera model.

    The marks are exact (no click noise); the camera model is the true one.
    """
    root = Path(folder)
    marks: dict[str, Any] = {
        "outputs": {output: {"correspondences": "correspondences.npz"}},
        "surfaces": {
            "facade": {
                "output": output,
                "points_canvas_px": truth.surface_canvas_px.tolist(),
                "points_camera_px": truth.surface_camera_px.tolist(),
            }
        },
    }
    if truth.camera_model is not None:
        np.savez(root / "camera.npz", K=truth.camera_model.K, dist=truth.camera_model.dist)
        marks["camera_model"] = "camera.npz"
    (root / "marks.toml").write_text(tomli_w.dumps(marks), encoding="utf-8")
    doc = {"H_canvas_to_projector": truth.H_canvas_to_projector.tolist()}
    (root / "truth.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")


def mapping_error_px(
    H_canvas_to_projector: np.ndarray,
    truth: SimulationTruth,
    *,
    grid: int = 21,
) -> np.ndarray:
    """Distances (projector_px) between a fitted and the true mapping on a grid of the surface."""
    x0, y0 = truth.surface_canvas_px.min(axis=0)
    x1, y1 = truth.surface_canvas_px.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fitted = apply_homography(H_canvas_to_projector, pts)
    true = apply_homography(truth.H_canvas_to_projector, pts)
    return np.linalg.norm(fitted - true, axis=1)
