"""Calibration cameras behind one interface: a real camera, a folder of photos, a simulation.

This module owns where captures come from. Every camera follows the :class:`Camera`
protocol — ``open()``, ``grab() -> uint8 image`` (grey ``(h, w)`` or BGR ``(h, w, 3)``),
``close()`` and ``size`` ``(width, height)`` — so the capture sequence
(:mod:`calibration.capture`) does not know which one it drives:

* :class:`OpenCVCamera` — ``cv2.VideoCapture`` (USB/UVC webcams, capture cards, streams),
  with auto exposure, auto focus and auto white balance switched off where the backend
  allows (a changing exposure would make white and black captures incomparable).
* :class:`FolderCamera` — photos taken by hand, one per pattern, read in order.
* :class:`SimulatedCamera` — what a camera sees of a projector (:class:`SimulatedProjector`)
  lighting a planar facade (:class:`FacadeScene`): a known ``H_projector_to_camera``,
  defocus blur, projector gamma, ambient light, facade albedo, vignetting, camera lens
  distortion, sensor noise and 8-bit quantisation; optionally a recessed window (a patch of
  the image seeing a different plane) and frames caught mid-change. Deterministic for a seed.

Camera pixels are ``camera_px`` (pixel centres at ``+0.5``); "ideal" camera_px means after
removing lens distortion (:class:`calibration.solve.CameraModel`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from calibration.errors import CalibrationError
from calibration.solve import CameraModel

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@runtime_checkable
class Camera(Protocol):
    """A source of captures (see the module docstring)."""

    @property
    def size(self) -> tuple[int, int]: ...

    def open(self) -> None: ...

    def grab(self) -> np.ndarray: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- real camera


class OpenCVCamera:
    """A camera opened with ``cv2.VideoCapture`` (device index or URL/path).

    ``exposure`` is passed to ``CAP_PROP_EXPOSURE`` (backend units: on V4L2, 100 µs steps)
    after switching auto exposure off. ``flush`` frames are read and dropped before each
    grab so a buffered, older frame is never returned.
    """

    def __init__(
        self,
        device: int | str = 0,
        *,
        size: tuple[int, int] | None = None,
        exposure: float | None = None,
        flush: int = 2,
    ) -> None:
        self.device = device
        self.requested_size = size
        self.exposure = exposure
        self.flush = flush
        self._capture: cv2.VideoCapture | None = None
        self._size: tuple[int, int] = size or (0, 0)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def open(self) -> None:
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            raise CalibrationError(
                f"cannot open camera {self.device!r}: check that it is plugged in and switched "
                "on, that no other program is using it, and the device number (on Linux: "
                "'v4l2-ctl --list-devices'). To calibrate from photos taken by hand, use a "
                "folder of captures instead."
            )
        if self.requested_size:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.requested_size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.requested_size[1])
        locked = {
            # 0.25 is "manual" for the V4L2 backend, 0 for most others.
            "auto exposure off": capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, 0.25)
            or capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, 0),
            "auto focus off": capture.set(cv2.CAP_PROP_AUTOFOCUS, 0),
            "auto white balance off": capture.set(cv2.CAP_PROP_AUTO_WB, 0),
        }
        if self.exposure is not None:
            locked["exposure"] = capture.set(cv2.CAP_PROP_EXPOSURE, float(self.exposure))
        for what, ok in locked.items():
            if not ok:
                logger.warning(
                    "camera %r: the backend refused '%s'; keep the exposure steady by hand",
                    self.device,
                    what,
                )
        ok, frame = capture.read()
        if not ok or frame is None:
            capture.release()
            raise CalibrationError(
                f"camera {self.device!r} opened but gives no pictures; unplug and replug it, or "
                "try another device number."
            )
        self._size = (int(frame.shape[1]), int(frame.shape[0]))
        self._capture = capture
        logger.info("camera %r open at %dx%d", self.device, *self._size)

    def grab(self) -> np.ndarray:
        if self._capture is None:
            raise CalibrationError("the camera is not open")
        for _ in range(self.flush):
            self._capture.grab()
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CalibrationError(f"camera {self.device!r} stopped giving pictures")
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


# --------------------------------------------------------------------------- folder


def natural_key(path: Path) -> list[object]:
    """Sort key: ``img2`` before ``img10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def image_files(folder: str | Path) -> list[Path]:
    """Image files of a folder in natural order."""
    root = Path(folder)
    if not root.is_dir():
        raise CalibrationError(f"capture folder {root} does not exist or is not a folder")
    return sorted(
        (p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
        key=natural_key,
    )


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise CalibrationError(f"cannot read the image {path} (missing, empty or not an image)")
    return image


class FolderCamera:
    """Photos taken by hand, one per pattern, in natural file-name order."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.files: list[Path] = []
        self._next = 0
        self._size = (0, 0)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def open(self) -> None:
        self.files = image_files(self.folder)
        if not self.files:
            raise CalibrationError(
                f"no photos in {self.folder} (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        first = read_image(self.files[0])
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._next = 0

    def grab(self) -> np.ndarray:
        if self._next >= len(self.files):
            raise CalibrationError(
                f"{self.folder} has only {len(self.files)} photos; the sequence needs more"
            )
        image = read_image(self.files[self._next])
        self._next += 1
        return image

    def close(self) -> None:
        self._next = 0


# --------------------------------------------------------------------------- simulation


class SimulatedProjector:
    """Holds the image "on the facade"; ``show`` returns at once (nothing to wait for)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.current = np.zeros((size[1], size[0]), np.uint8)
        self.previous = self.current
        self.shown = 0

    def show(self, image: np.ndarray) -> None:
        image = np.asarray(image)
        if image.ndim == 3:
            image = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
        if image.shape != (self.size[1], self.size[0]):
            raise ValueError(f"image {image.shape} does not match projector {self.size}")
        self.previous, self.current = self.current, image
        self.shown += 1


@dataclass
class FacadeScene:
    """A planar facade lit by one projector and seen by one camera (all the simulation knobs).

    ``H_projector_to_camera`` maps ``projector_px`` to *ideal* (undistorted) ``camera_px``;
    ``camera_model`` (optional) adds lens distortion. Light levels are in camera grey levels:
    a white projector pixel on albedo 1 at the image centre reaches ``exposure`` levels above
    ``ambient`` (also in levels). ``blur_px`` is the defocus σ in projector pixels.
    ``vignetting`` is the fall-off at the image corners (gain ``1 − vignetting · r²``, r = 1 at
    the corners). Projector pixels are squares (``projector_upsample`` sub-pixels each);
    camera pixels integrate ``supersample²`` samples.
    ``noise_read`` is the read-noise σ in levels, ``noise_shot`` the variance per level of
    signal (σ² = read² + shot · level). ``albedo`` is an optional ``(h, w)`` float map in
    camera_px. ``window_polygon_camera_px`` (ideal camera px) marks a recessed window whose
    pixels see the projector through ``H_projector_to_camera_window`` instead.
    """

    camera_size: tuple[int, int]
    projector_size: tuple[int, int]
    H_projector_to_camera: np.ndarray
    camera_model: CameraModel | None = None
    blur_px: float = 0.8
    gamma: float = 2.2
    exposure: float = 200.0
    ambient: float = 10.0
    vignetting: float = 0.2
    noise_read: float = 1.0
    noise_shot: float = 0.05
    albedo: np.ndarray | None = None
    window_polygon_camera_px: np.ndarray | None = None
    H_projector_to_camera_window: np.ndarray | None = None
    supersample: int = 2
    projector_upsample: int = 2
    _maps: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)
    _gain: np.ndarray | None = field(default=None, init=False, repr=False)

    def ideal_camera_points(self, points_camera_px: np.ndarray) -> np.ndarray:
        """Photographed (distorted) → ideal camera_px."""
        if self.camera_model is None:
            return np.asarray(points_camera_px, dtype=np.float64).reshape(-1, 2)
        return self.camera_model.undistort(points_camera_px)

    def in_window(self, points_ideal_camera_px: np.ndarray) -> np.ndarray:
        if self.window_polygon_camera_px is None:
            return np.zeros(len(points_ideal_camera_px), bool)
        return self._window_mask(np.asarray(points_ideal_camera_px, np.float64))

    def _window_mask(self, points: np.ndarray) -> np.ndarray:
        path = np.asarray(self.window_polygon_camera_px, np.float64).reshape(-1, 2)
        x, y = points[:, 0], points[:, 1]
        inside = np.zeros(len(points), bool)
        j = len(path) - 1
        for i in range(len(path)):  # even-odd ray casting, vectorised over points
            xi, yi = path[i]
            xj, yj = path[j]
            crosses = ((yi > y) != (yj > y)) & (x < (xj - xi) * (y - yi) / (yj - yi + 1e-300) + xi)
            inside ^= crosses
            j = i
        return inside

    def true_projector_xy(self, points_camera_px: np.ndarray) -> np.ndarray:
        """Ground truth: the ``projector_px`` each photographed camera point sees (float64)."""
        ideal = self.ideal_camera_points(points_camera_px)
        out = _transform(np.linalg.inv(self.H_projector_to_camera), ideal)
        window = self.in_window(ideal)
        if np.any(window):
            H_win = np.linalg.inv(self.H_projector_to_camera_window)
            out[window] = _transform(H_win, ideal[window])
        return out

    def _sample_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Projector sample positions (OpenCV convention) of every camera sub-sample."""
        if self._maps is None:
            w, h = self.camera_size
            s = self.supersample
            offsets = (np.arange(s) + 0.5) / s
            xs = (np.arange(w)[:, None] + offsets[None, :]).reshape(-1)
            ys = (np.arange(h)[:, None] + offsets[None, :]).reshape(-1)
            gx, gy = np.meshgrid(xs, ys)
            pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
            # Continuous projector_px → OpenCV pixel of the upsampled, padded image.
            u, pad = self.projector_upsample, self._padding()
            proj = self.true_projector_xy(pts) * u - 0.5 + pad
            self._maps = (
                proj[:, 0].reshape(h * s, w * s).astype(np.float32),
                proj[:, 1].reshape(h * s, w * s).astype(np.float32),
            )
        return self._maps

    def gain_map(self) -> np.ndarray:
        """Albedo × vignetting per camera pixel (float32 ``(h, w)``)."""
        if self._gain is None:
            self._gain = self._compute_gain()
        return self._gain

    def _compute_gain(self) -> np.ndarray:
        w, h = self.camera_size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx + 0.5 - w / 2) ** 2 + (yy + 0.5 - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        gain = 1.0 - self.vignetting * r2
        if self.albedo is not None:
            gain = gain * np.asarray(self.albedo, np.float32)
        return gain.astype(np.float32)

    def _padding(self) -> int:
        """Black margin (upsampled px) around the projector image so its edge blurs too."""
        return int(np.ceil(3 * self.blur_px * self.projector_upsample)) + 2

    def radiance(self, projector_image: np.ndarray) -> np.ndarray:
        """Linear projector light (0..1) after gamma and defocus, on the camera grid.

        Projector pixels are drawn as squares (nearest-neighbour upsampling by
        ``projector_upsample``) inside a black surround, then defocused, then sampled.
        """
        light = (np.asarray(projector_image, np.float32) / 255.0) ** self.gamma
        u = self.projector_upsample
        if u > 1:
            light = np.repeat(np.repeat(light, u, axis=0), u, axis=1)
        pad = self._padding()
        light = cv2.copyMakeBorder(light, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        if self.blur_px > 0:
            light = cv2.GaussianBlur(light, (0, 0), self.blur_px * u)
        map_x, map_y = self._sample_maps()
        fine = cv2.remap(light, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        w, h = self.camera_size
        if self.supersample > 1:
            return cv2.resize(fine, (w, h), interpolation=cv2.INTER_AREA)
        return fine

    def expose(self, radiance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Camera grey levels from linear light: gain, ambient, noise, 8-bit quantisation."""
        signal = self.gain_map() * (self.exposure * radiance + self.ambient)
        sigma = np.sqrt(self.noise_read**2 + self.noise_shot * np.maximum(signal, 0))
        noisy = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
        return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _transform(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``apply_homography`` for many points at once (OpenCV; same maths, float64)."""
    pts = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(pts, np.asarray(H, np.float64)).reshape(-1, 2)


def projector_to_camera_homography(
    projector_size: tuple[int, int], corners_camera_px: np.ndarray
) -> np.ndarray:
    """``H_projector_to_camera`` putting the projector frame's corners (TL, TR, BR, BL) there."""
    w, h = projector_size
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    H, _ = cv2.findHomography(frame, np.asarray(corners_camera_px, np.float64), 0)
    return H / H[2, 2]


class SimulatedCamera:
    """A camera looking at :class:`FacadeScene` lit by a :class:`SimulatedProjector`.

    ``mid_change_grabs`` are grab numbers (0-based, counting every grab) that catch the
    projector mid-change: they see ``mid_change_mix`` of the previous picture blended with the
    current one; ``stale_grabs`` still see the previous picture entirely (projector latency
    longer than the settle time). Noise comes from ``np.random.default_rng(seed)``, so a run
    is reproducible.
    """

    def __init__(
        self,
        scene: FacadeScene,
        projector: SimulatedProjector,
        *,
        seed: int = 0,
        mid_change_grabs: Collection[int] = (),
        mid_change_mix: float = 0.5,
        stale_grabs: Collection[int] = (),
        lens_cap: bool = False,
    ) -> None:
        self.scene = scene
        self.projector = projector
        self.seed = seed
        self.mid_change_grabs = set(mid_change_grabs)
        self.mid_change_mix = mid_change_mix
        self.stale_grabs = set(stale_grabs)
        self.lens_cap = lens_cap
        self.grabs = 0
        self._rng = np.random.default_rng(seed)
        self._cache: dict[int, np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.scene.camera_size

    def open(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self.grabs = 0

    def grab(self) -> np.ndarray:
        number = self.grabs
        self.grabs += 1
        if self.lens_cap:
            w, h = self.size
            return np.clip(np.round(self._rng.normal(1.0, 0.5, (h, w))), 0, 255).astype(np.uint8)
        if number in self.stale_grabs:
            return self.scene.expose(self.scene.radiance(self.projector.previous), self._rng)
        light = self.scene.radiance(self.projector.current)
        if number in self.mid_change_grabs:
            before = self.scene.radiance(self.projector.previous)
            light = self.mid_change_mix * before + (1 - self.mid_change_mix) * light
        return self.scene.expose(light, self._rng)

    def close(self) -> None:
        pass


def render_sequence(
    scene: FacadeScene, patterns: list[np.ndarray], *, seed: int = 0
) -> list[np.ndarray]:
    """What :class:`SimulatedCamera` captures of each pattern (no capture loop, no retries)."""
    rng = np.random.default_rng(seed)
    return [scene.expose(scene.radiance(p), rng) for p in patterns]
