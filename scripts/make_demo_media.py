"""Generate the demo show's media deterministically: facade.png, clip.mp4 and logo.png.

This script owns the reference geometry of the demo facade (in ``canvas_px``, origin at
the top-left of the 1600×900 canvas, y down):

* left wing  x 100..800, right wing x 800..1500, both from y 150 down to y 900;
* cornice band y 150..210 across both wings;
* 6 windows per wing (3 columns × 2 rows), each 140 wide × 180 high, top-left corners at
  x ∈ {170, 380, 590} (left) and {870, 1080, 1290} (right), y ∈ {260, 560}.

Surfaces in ``shows/demo/show.toml`` are drawn on these numbers. Everything is drawn with a
fixed seed, so running the script twice gives the same pictures.

Usage: ``python scripts/make_demo_media.py [--out shows/demo/media]``
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO_ROOT))

from mapping.media.writer import VideoWriter  # noqa: E402

logger = logging.getLogger("make_demo_media")

SEED = 20240611

# ----------------------------------------------------------------- facade geometry (canvas_px)
CANVAS_SIZE_PX = (1600, 900)  # (width, height)
LEFT_WING_X_PX = (100, 800)
RIGHT_WING_X_PX = (800, 1500)
WING_Y_PX = (150, 900)
CORNICE_Y_PX = (150, 210)
WINDOW_SIZE_PX = (140, 180)  # (width, height)
LEFT_WINDOW_X_PX = (170, 380, 590)
RIGHT_WINDOW_X_PX = (870, 1080, 1290)
WINDOW_Y_PX = (260, 560)

# ----------------------------------------------------------------- clip and logo
CLIP_SIZE_PX = (480, 270)
CLIP_FPS = 25
CLIP_FRAME_COUNT = 100
CLIP_GOP = 25
LOGO_SIZE_PX = 512


def window_rects_canvas_px() -> list[tuple[int, int, int, int]]:
    """Every window as ``(x, y, width, height)`` in canvas_px, left wing first, row by row."""
    width_px, height_px = WINDOW_SIZE_PX
    return [
        (x_px, y_px, width_px, height_px)
        for xs_px in (LEFT_WINDOW_X_PX, RIGHT_WINDOW_X_PX)
        for y_px in WINDOW_Y_PX
        for x_px in xs_px
    ]


def _stone_wall(
    rng: np.random.Generator, size_px: tuple[int, int], base_rgb: tuple[int, int, int]
) -> np.ndarray:
    """Ashlar blocks (running bond) with per-block shade, mortar joints and weathering."""
    width_px, height_px = size_px
    wall = np.empty((height_px, width_px, 3), dtype=np.float32)
    wall[:] = np.array(base_rgb, dtype=np.float32) * 0.8  # mortar colour
    block_h_px, block_w_px, joint_px = 30, 70, 2
    for row, y_px in enumerate(range(0, height_px, block_h_px)):
        offset_px = (block_w_px // 2) * (row % 2)
        for x_px in range(-offset_px, width_px, block_w_px):
            shade = rng.uniform(0.88, 1.08)
            x0, x1 = max(x_px + joint_px, 0), min(x_px + block_w_px, width_px)
            y1 = min(y_px + block_h_px, height_px)
            if x1 > x0:
                wall[y_px + joint_px : y1, x0:x1] = np.array(base_rgb, np.float32) * shade
    # Weathering: a smooth vertical darkening towards the ground (compresses well in PNG,
    # unlike per-pixel noise).
    weathering = np.linspace(1.0, 0.9, height_px, dtype=np.float32)[:, np.newaxis, np.newaxis]
    return np.clip(wall * weathering, 0, 255).astype(np.uint8)


def make_facade() -> np.ndarray:
    """The 1600×900 RGB elevation drawing of the demo facade (see module docstring)."""
    rng = np.random.default_rng(SEED)
    width_px, height_px = CANVAS_SIZE_PX
    # Night sky: deep blue at the top, lighter towards the horizon, a few fixed stars.
    t = np.linspace(0.0, 1.0, height_px, dtype=np.float32)[:, np.newaxis]
    top, horizon = np.array([6, 10, 28], np.float32), np.array([38, 52, 96], np.float32)
    sky = top + (horizon - top) * t
    image = np.broadcast_to(sky[:, np.newaxis, :], (height_px, width_px, 3)).astype(np.uint8)
    image = np.ascontiguousarray(image)
    for _ in range(140):
        x_px, y_px = int(rng.integers(0, width_px)), int(rng.integers(0, WING_Y_PX[0] + 400))
        level = int(rng.integers(120, 255))
        cv2.circle(image, (x_px, y_px), 1, (level, level, level), -1, cv2.LINE_AA)

    y0_px, y1_px = WING_Y_PX
    wings = [(LEFT_WING_X_PX, (168, 150, 128)), (RIGHT_WING_X_PX, (150, 138, 122))]
    for (x0_px, x1_px), stone_rgb in wings:
        image[y0_px:y1_px, x0_px:x1_px] = _stone_wall(
            rng, (x1_px - x0_px, y1_px - y0_px), stone_rgb
        )
    # Joint between the wings and a darker plinth.
    image[y0_px:y1_px, 798:802] = (90, 82, 74)
    image[860:y1_px, LEFT_WING_X_PX[0] : RIGHT_WING_X_PX[1]] = (
        image[860:y1_px, LEFT_WING_X_PX[0] : RIGHT_WING_X_PX[1]] * 0.75
    ).astype(np.uint8)

    # Cornice: lighter stone band with a shadow line underneath and a moulding on top.
    c0_px, c1_px = CORNICE_Y_PX
    x0_px, x1_px = LEFT_WING_X_PX[0], RIGHT_WING_X_PX[1]
    image[c0_px:c1_px, x0_px:x1_px] = _stone_wall(
        rng, (x1_px - x0_px, c1_px - c0_px), (205, 195, 178)
    )
    image[c0_px : c0_px + 8, x0_px:x1_px] = (225, 217, 200)
    image[c1_px - 6 : c1_px, x0_px:x1_px] = (120, 110, 98)

    # Windows: light stone frame (inside the 140×180 rectangle), dark glass, mullions.
    frame_px = 10
    for x_px, y_px, w_px, h_px in window_rects_canvas_px():
        image[y_px : y_px + h_px, x_px : x_px + w_px] = (226, 220, 206)
        gx0, gy0 = x_px + frame_px, y_px + frame_px
        gx1, gy1 = x_px + w_px - frame_px, y_px + h_px - frame_px
        glass_t = np.linspace(0.0, 1.0, gy1 - gy0, dtype=np.float32)[:, np.newaxis, np.newaxis]
        glass = np.array([18, 26, 44], np.float32) + np.array([14, 18, 26], np.float32) * glass_t
        image[gy0:gy1, gx0:gx1] = np.broadcast_to(glass, (gy1 - gy0, gx1 - gx0, 3)).astype(np.uint8)
        mid_x, mid_y = x_px + w_px // 2, y_px + h_px // 2 - 10
        image[gy0:gy1, mid_x - 3 : mid_x + 3] = (200, 194, 180)
        image[mid_y - 3 : mid_y + 3, gx0:gx1] = (200, 194, 180)
        # Sill: slightly darker strip inside the frame's bottom edge.
        image[y_px + h_px - 4 : y_px + h_px, x_px : x_px + w_px] = (170, 162, 148)
    return image


def _draw_outlined_text(
    image: np.ndarray,
    text: str,
    org_px: tuple[int, int],
    font: int,
    scale: float,
    thickness: int,
    outline_px: int,
) -> None:
    """White text with a black outline, in place. The outline is the dilated text mask
    (``putText`` thickness alone is not a reliable way to get a wider stroke)."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(mask, text, org_px, font, scale, 255, thickness, cv2.LINE_AA)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline_px + 1,) * 2)
    outline = cv2.dilate(mask, kernel)
    for coverage, value in ((outline, 0.0), (mask, 255.0)):
        a = (coverage.astype(np.float32) / 255.0)[..., np.newaxis]
        image[:] = (image.astype(np.float32) * (1.0 - a) + value * a + 0.5).astype(np.uint8)


def _clip_frame(index: int) -> np.ndarray:
    """Frame ``index`` of the demo clip: moving hue gradient, sweeping bars, big counter."""
    width_px, height_px = CLIP_SIZE_PX
    x = np.arange(width_px, dtype=np.float32)[np.newaxis, :]
    y = np.arange(height_px, dtype=np.float32)[:, np.newaxis]
    hue = ((x * 0.6 + y * 0.3 + index * 3.6) % 180).astype(np.uint8)  # OpenCV hue: 0..179
    hsv = np.empty((height_px, width_px, 3), dtype=np.uint8)
    hsv[..., 0] = hue
    hsv[..., 1] = 200
    hsv[..., 2] = (150 + 60 * (y / height_px)).astype(np.uint8)
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)

    # Seven bars (white, yellow, cyan, green, magenta, red, blue) sweeping right.
    bar_colours = [
        (235, 235, 235),
        (235, 235, 16),
        (16, 235, 235),
        (16, 235, 16),
        (235, 16, 235),
        (235, 16, 16),
        (16, 16, 235),
    ]
    bar_w_px = 24
    for k, colour in enumerate(bar_colours):
        x0_px = (index * 6 + k * 70) % (width_px + bar_w_px) - bar_w_px
        cv2.rectangle(image, (x0_px, 20), (x0_px + bar_w_px - 1, 60), colour, -1)

    # Progress bar along the bottom edge.
    progress_px = round((index + 1) / CLIP_FRAME_COUNT * width_px)
    image[height_px - 10 :, :progress_px] = (255, 255, 255)
    image[height_px - 10 :, progress_px:] = (30, 30, 30)

    # Big frame counter with a dark outline, and the media time.
    text = f"{index:03d}"
    font, scale, thick = cv2.FONT_HERSHEY_DUPLEX, 4.0, 10
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    org = ((width_px - tw) // 2, (height_px + th) // 2 + 10)
    _draw_outlined_text(image, text, org, font, scale, thick, outline_px=4)
    _draw_outlined_text(
        image,
        f"t = {index / CLIP_FPS:4.2f} s",
        (12, height_px - 22),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7,
        2,
        outline_px=2,
    )
    return image


def make_clip(path: Path, crf: int) -> None:
    """Write the 480×270, 25 fps, 100-frame H.264 demo clip with a keyframe every second."""
    with VideoWriter(path, CLIP_SIZE_PX, CLIP_FPS, gop=CLIP_GOP, crf=crf) as writer:
        for index in range(CLIP_FRAME_COUNT):
            writer.write(_clip_frame(index))


def make_logo() -> np.ndarray:
    """512×512 RGBA emblem on a transparent background: gold disc, ring, "FACADE"."""
    size = LOGO_SIZE_PX
    centre = (size // 2, size // 2)
    # Draw coverage masks (anti-aliased), then compose colour and alpha from them, so edge
    # pixels get partial alpha with the right colour (not darkened towards black).
    disc = np.zeros((size, size), np.uint8)
    cv2.circle(disc, centre, 240, 255, -1, cv2.LINE_AA)
    ink = np.zeros((size, size), np.uint8)
    cv2.circle(ink, centre, 214, 255, 8, cv2.LINE_AA)
    cv2.circle(ink, centre, 196, 255, 3, cv2.LINE_AA)
    text, font, thick = "FACADE", cv2.FONT_HERSHEY_DUPLEX, 7
    scale = 2.4
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    cv2.putText(
        ink, text, ((size - tw) // 2, (size + th) // 2), font, scale, 255, thick, cv2.LINE_AA
    )
    # Three small windows above the word, echoing the facade.
    for dx in (-70, 0, 70):
        x0, y0 = centre[0] + dx - 22, centre[1] - 120
        cv2.rectangle(ink, (x0, y0), (x0 + 44, y0 + 56), 255, 5, cv2.LINE_AA)

    gold = np.array([232, 182, 64], np.float32)
    navy = np.array([20, 28, 60], np.float32)
    t = (ink.astype(np.float32) / 255.0)[..., np.newaxis]
    rgb = gold * (1.0 - t) + navy * t
    logo = np.zeros((size, size, 4), np.uint8)
    logo[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    logo[..., 3] = disc
    logo[disc == 0, :3] = 0
    return logo


def _write_png(path: Path, image: np.ndarray) -> None:
    conversion = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, encoded = cv2.imencode(
        ".png", cv2.cvtColor(image, conversion), [cv2.IMWRITE_PNG_COMPRESSION, 9]
    )
    if not ok:
        raise RuntimeError(f"{path}: PNG encoding failed")
    path.write_bytes(encoded.tobytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("shows/demo/media"),
        help="folder to write facade.png, clip.mp4 and logo.png into",
    )
    parser.add_argument(
        "--crf", type=int, default=20, help="x264 quality for clip.mp4 (lower = better, bigger)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    facade_path, clip_path, logo_path = out / "facade.png", out / "clip.mp4", out / "logo.png"
    _write_png(facade_path, make_facade())
    make_clip(clip_path, args.crf)
    _write_png(logo_path, make_logo())
    for path in (facade_path, clip_path, logo_path):
        logger.info("wrote %s (%.1f KB)", path, path.stat().st_size / 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
