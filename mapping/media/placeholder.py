"""The safe picture shown in place of content that failed to load (pure numpy + cv2).

Dark diagonal stripes with the layer name and the reason, so a technician sees where the
problem is while the rest of the show keeps playing.
"""

from __future__ import annotations

import cv2
import numpy as np


def placeholder_image(label: str, reason: str, size_px: tuple[int, int] = (256, 128)) -> np.ndarray:
    """An RGBA uint8 placeholder of ``size_px`` (width, height)."""
    w, h = size_px
    ys, xs = np.mgrid[0:h, 0:w]
    stripes = ((xs + ys) // 16) % 2 == 0
    img = np.zeros((h, w, 4), np.uint8)
    img[..., :3] = np.where(stripes[..., None], 40, 20).astype(np.uint8)
    img[..., 1] = np.where(stripes, 20, 10)
    img[..., 3] = 255
    cv2.putText(
        img,
        label[:32],
        (8, h // 2 - 8),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (230, 120, 40, 255),
        1,
        cv2.LINE_AA,
    )
    cv2.putText(
        img,
        reason[:40],
        (8, h // 2 + 14),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.35,
        (200, 200, 200, 255),
        1,
        cv2.LINE_AA,
    )
    return img
