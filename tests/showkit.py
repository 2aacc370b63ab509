"""Builders for small shows in tests (plain dataclasses, or show folders on disk)."""

from __future__ import annotations

import signal
from pathlib import Path

import cv2
import numpy as np

from mapping.show import Canvas, Layer, Output, Show, Surface


def write_png(path: Path, image_rgba: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    code = cv2.COLOR_RGBA2BGRA if image_rgba.shape[2] == 4 else cv2.COLOR_RGB2BGR
    cv2.imwrite(str(path), cv2.cvtColor(image_rgba, code))
    return path


def textured_image(width: int, height: int, seed: int = 1) -> np.ndarray:
    """A smooth, textured RGBA image: gradients, sines and soft blobs (no hard edges)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(xs / 13.0 + seed)
    g = 255.0 * ys / max(height - 1, 1)
    b = 127.5 + 127.5 * np.cos((xs + 2 * ys) / 21.0)
    img = np.stack([r, g, b, np.full_like(r, 255.0)], axis=-1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def single_surface_show(
    root: Path,
    image_rgba: np.ndarray,
    H_canvas_to_projector: np.ndarray,
    output_size: tuple[int, int],
    polygon_canvas_px: np.ndarray | None = None,
) -> Show:
    """One output, one surface covering the whole canvas, one image layer."""
    h, w = image_rgba.shape[:2]
    image_path = write_png(root / "media" / "image.png", image_rgba)
    if polygon_canvas_px is None:
        polygon_canvas_px = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    surface = Surface(
        "s", "out", polygon_canvas_px, np.asarray(H_canvas_to_projector, float), "homography"
    )
    layer = Layer("img", "image", image_path, 1.0, "normal", (0.0, 0.0, float(w), float(h)))
    return Show(
        root, "test", Canvas((w, h)), (Output("out", output_size),), (surface,), (layer,), ()
    )


def ctrl_c_works() -> None:
    """``preexec_fn`` for a show process a test interrupts with SIGINT: SIGINT back to its
    default action, as at a terminal. A shell that runs pytest in the background (``&``)
    starts it with SIGINT ignored, every child inherits that, and Python then installs no
    KeyboardInterrupt handler: the show would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
