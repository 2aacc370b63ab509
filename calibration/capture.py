"""The capture sequence: project each pattern, let the camera settle, grab, check, retake.

This module owns driving a projector and a camera through a structured-light sequence and
the capture folder on disk:

* :class:`Projector` — the projector side, one method: ``show(image)`` returns once the
  image is on the facade. :class:`calibration.camera.SimulatedProjector` is one;
  :class:`calibration.window_projector.WindowProjector` (full screen on a display) another.
* :func:`capture_sequence` — for each pattern: show, wait ``settle_s``, grab, and check the
  capture is a still picture: a second grab must agree with the first (beyond sensor
  noise), else the first was caught mid-change (projector still switching, rolling
  shutter) and is retaken, at most ``max_retries`` times. The two agreeing grabs are
  averaged (less noise). A still capture that shows no change from the previous pattern
  over the lit area (the projector lagging behind the settle time) is retaken too. White
  and black come first and are checked at once, so a covered lens, an overexposed camera
  or a projector that never changes stop the run after two patterns, not fifty. A tqdm
  progress bar shows the run.
* :func:`save_captures` / :func:`load_capture_folder` — a capture folder: one PNG per frame
  (``NN-name.png``) and ``capture.toml`` saying the layout and projector size. A folder of
  photos taken by hand (no ``capture.toml``) is read in natural file-name order.
"""

from __future__ import annotations

import logging
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import tomli_w
from tqdm import tqdm

from calibration.camera import Camera, image_files, read_image
from calibration.decode import check_white_black, to_grey
from calibration.errors import CalibrationError
from calibration.structured_light import PatternLayout, generate_patterns, make_layout

logger = logging.getLogger(__name__)

META_FILE = "capture.toml"
DEFAULT_SETTLE_S = 0.15
DEFAULT_RETRIES = 3
#: Two grabs "agree" when fewer than this fraction of pixels differ beyond the noise.
CHANGED_FRACTION = 0.01
#: A capture "still shows the previous pattern" when under this share of the lit area changed.
STALE_FRACTION = 0.02


class Projector(Protocol):
    """The projector side of a capture: ``show`` returns once ``image`` is displayed."""

    def show(self, image: np.ndarray) -> None: ...


@dataclass(frozen=True)
class CaptureStats:
    retakes: int
    grabs: int
    seconds: float


def changed_fraction(
    first: np.ndarray, second: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Share of pixels (inside ``mask``) where two captures differ beyond sensor noise.

    A real change covers whole areas; sensor noise differs pixel by pixel. So the noise σ is
    measured on the fine detail of the difference (difference minus its 5×5 mean: a smooth
    change leaves nothing there), and a pixel has changed where the 5×5 mean of the
    difference exceeds ``max(3, 2σ)`` — ten times the noise left after averaging 25 pixels.
    """
    a, b = to_grey(first), to_grey(second)
    diff = a.astype(np.float32) - b.astype(np.float32)
    local = cv2.blur(diff, (5, 5))
    sigma = 1.4826 * float(np.median(np.abs(diff - local)[::2, ::2]))
    changed = np.abs(local) > max(3.0, 2.0 * sigma)
    if mask is not None:
        return float(np.mean(changed[mask])) if np.any(mask) else 0.0
    return float(np.mean(changed))


def grabs_agree(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two grabs of one pattern show the same still picture (under 1 % changed)."""
    return changed_fraction(first, second) < CHANGED_FRACTION


def capture_sequence(
    patterns: Sequence[np.ndarray],
    projector: Projector,
    camera: Camera,
    *,
    layout: PatternLayout | None = None,
    settle_s: float = DEFAULT_SETTLE_S,
    max_retries: int = DEFAULT_RETRIES,
    check: bool = True,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[np.ndarray], CaptureStats]:
    """Capture every pattern in order (see the module docstring); camera opened and closed.

    With ``layout``, its white and black frames are checked as soon as both are captured,
    and from then on a capture that still shows the previous pattern (the projector's
    latency longer than ``settle_s``) is retaken; if it still does after ``max_retries``,
    a warning is logged and the run goes on (a pattern finer than the camera resolves
    looks like its predecessor). Raises :class:`CalibrationError` for a camera that cannot
    be opened, a picture that keeps changing, or bad white/black captures.
    """
    t0 = time.perf_counter()
    captures: list[np.ndarray] = []
    counts = {"retakes": 0, "grabs": 0}
    lit: np.ndarray | None = None
    camera.open()
    try:
        bar = tqdm(patterns, desc="capturing", unit="pattern", disable=not progress, leave=False)
        for index, pattern in enumerate(bar):
            projector.show(pattern)
            sleep(settle_s)
            frame = _grab_still(camera, index, check, max_retries, settle_s, sleep, counts)
            if check and lit is not None and captures:
                for _ in range(max_retries):
                    if changed_fraction(frame, captures[-1], lit) >= STALE_FRACTION:
                        break
                    counts["retakes"] += 1
                    logger.info("pattern %d: the camera still sees the previous one", index)
                    sleep(settle_s)
                    frame = _grab_still(camera, index, check, max_retries, settle_s, sleep, counts)
                else:
                    logger.warning(
                        "pattern %d looks like pattern %d in the camera after %d retakes: the "
                        "projector may lag more than --settle, or the stripes are finer than "
                        "the camera resolves",
                        index,
                        index - 1,
                        max_retries,
                    )
            captures.append(frame)
            if layout is not None and _have_white_black(layout, captures):
                white = to_grey(captures[layout.white_index])
                black = to_grey(captures[layout.black_index])
                check_white_black(white, black)
                lit = (white.astype(np.int16) - black.astype(np.int16)) > 20
    finally:
        camera.close()
    stats = CaptureStats(counts["retakes"], counts["grabs"], time.perf_counter() - t0)
    logger.info(
        "captured %d patterns in %.1f s (%d grabs, %d retakes)",
        len(captures),
        stats.seconds,
        stats.grabs,
        stats.retakes,
    )
    return captures, stats


def _grab_still(
    camera: Camera,
    index: int,
    check: bool,
    max_retries: int,
    settle_s: float,
    sleep: Callable[[float], None],
    counts: dict[str, int],
) -> np.ndarray:
    """One capture of the pattern on show: two agreeing grabs, averaged (or one, unchecked)."""
    first = camera.grab()
    counts["grabs"] += 1
    if not check:
        return first
    for attempt in range(max_retries + 1):
        second = camera.grab()
        counts["grabs"] += 1
        if grabs_agree(first, second):
            return ((first.astype(np.uint16) + second + 1) // 2).astype(np.uint8)
        if attempt == max_retries:
            break
        counts["retakes"] += 1
        logger.info("pattern %d: frame caught mid-change, retaking", index)
        sleep(settle_s)
        first = second
    raise CalibrationError(
        f"pattern {index}: the camera picture kept changing in {max_retries + 1} tries. Is "
        "something moving in front of the facade, the exposure on automatic, or the "
        "projector flickering? Increase --settle or lock the camera exposure."
    )


def _have_white_black(layout: PatternLayout, captures: list[np.ndarray]) -> bool:
    newest = len(captures) - 1
    both = max(layout.white_index, layout.black_index)
    return newest == both


# --------------------------------------------------------------------------- folders


def save_captures(
    folder: str | Path, captures: Sequence[np.ndarray], layout: PatternLayout
) -> Path:
    """Write ``NN-name.png`` per frame and ``capture.toml``; returns the folder."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    names = layout.frame_names()
    for index, (image, name) in enumerate(zip(captures, names, strict=True)):
        path = root / f"{index:02d}-{name}.png"
        if not cv2.imwrite(str(path), image):
            raise CalibrationError(f"cannot write {path}")
    meta = {
        "layout": layout.kind,
        "projector_size": list(layout.projector_size),
        "frames": len(captures),
    }
    (root / META_FILE).write_text(tomli_w.dumps(meta), encoding="utf-8")
    return root


def write_patterns(folder: str | Path, layout: PatternLayout) -> list[Path]:
    """Write the pattern images of ``layout`` as ``NN-name.png`` (for a media server / by hand)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (image, name) in enumerate(
        zip(generate_patterns(layout), layout.frame_names(), strict=True)
    ):
        path = root / f"{index:02d}-{name}.png"
        if not cv2.imwrite(str(path), image):
            raise CalibrationError(f"cannot write {path}")
        paths.append(path)
    return paths


def read_meta(folder: str | Path) -> dict[str, object]:
    path = Path(folder) / META_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(f"cannot read {path}: {exc}") from exc


def load_capture_folder(
    folder: str | Path,
    *,
    projector_size: tuple[int, int] | None = None,
    layout_kind: str | None = None,
) -> tuple[list[np.ndarray], PatternLayout, list[str]]:
    """Captures, layout and file names of a capture folder (ours, or photos taken by hand).

    ``projector_size`` and ``layout_kind`` override ``capture.toml``; a folder without
    ``capture.toml`` needs ``projector_size`` (layout defaults to ``native``).
    """
    root = Path(folder)
    files = image_files(root)
    meta = read_meta(root)
    if projector_size is None:
        size = meta.get("projector_size")
        if not (isinstance(size, list) and len(size) == 2):
            raise CalibrationError(
                f"{root} has no {META_FILE}; say the projector resolution with "
                "--projector WIDTHxHEIGHT (and --layout opencv for OpenCV-ordered captures)"
            )
        projector_size = (int(size[0]), int(size[1]))
    kind = layout_kind or str(meta.get("layout", "native"))
    try:
        layout = make_layout(kind, projector_size)
    except ValueError as exc:
        raise CalibrationError(str(exc)) from exc
    if len(files) != layout.count:
        w, h = projector_size
        raise CalibrationError(
            f"{root} holds {len(files)} images but a {w}x{h} projector in the {kind} layout "
            f"needs {layout.count}. Check --projector and --layout, and that no photo is "
            "missing or extra."
        )
    captures = [read_image(p) for p in files]
    return captures, layout, [p.name for p in files]
