"""Offline renders: a show rendered frame-exactly to PNG files (and MP4) for review.

Frame ``n`` is drawn at show time ``start + n / fps`` whatever the machine's speed, so two
renders of the same show are identical and match the live show at the same show time. The
frames are made by the live loop itself (:meth:`mapping.player.ShowPlayer.step`, offline:
content sources wait for the exact frame), on headless outputs in the caller's context.
Layout: ``OUT/<output-name>/000000.png`` …, and with ``video=True`` ``OUT/<output-name>.mp4``.
Killed at any moment, a render leaves only complete PNGs under their final names (each is
written to a temporary name and renamed) and MP4s playable up to the frames encoded so far
(fragmented MP4).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import moderngl
import numpy as np
from tqdm import tqdm

from mapping.media.writer import VideoWriter
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import Show

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    frames: int
    png_dirs: dict[str, Path]
    videos: dict[str, Path]
    layer_errors: dict[str, str]


def write_png_atomically(target: Path, bgr: np.ndarray) -> None:
    """Write a PNG under a temporary name in the same folder, then rename it into place.

    A render killed at any moment (``kill -9``) leaves every ``NNNNNN.png`` either absent
    or complete, never truncated under its final name; at most one ``.NNNNNN.png.tmp``
    is left behind.
    """
    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise OSError(f"could not encode {target}")
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "wb") as f:
        f.write(data.tobytes())
    os.replace(temporary, target)


def render_show(
    ctx: moderngl.Context,
    show: Show,
    out_dir: Path,
    *,
    frames: int,
    fps: float,
    cue: str | None = None,
    start_s: float = 0.0,
    video: bool = False,
    pngs: bool = True,
    progress: bool = True,
) -> RenderResult:
    """Render ``frames`` frames of every output; returns where they went."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    if fps <= 0:
        raise ValueError("fps must be positive")
    player = ShowPlayer(show, HeadlessOutputs(ctx=ctx), start_cue=cue, offline=True)
    renderer = player.renderer
    out_dir.mkdir(parents=True, exist_ok=True)
    png_dirs: dict[str, Path] = {}
    writers: dict[str, VideoWriter] = {}
    try:
        for out in show.outputs:
            if pngs:
                png_dirs[out.name] = out_dir / out.name
                png_dirs[out.name].mkdir(parents=True, exist_ok=True)
            if video:
                writers[out.name] = VideoWriter(
                    out_dir / f"{out.name}.mp4", out.resolution, fps, fragmented=True
                )
        for n in tqdm(
            range(frames), desc=f"render {show.name}", unit="frame", disable=not progress
        ):
            player.step(start_s + n / fps)
            for name in renderer.output_names():
                rgba = renderer.read_output(name)
                if pngs:
                    bgr = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2BGR)
                    write_png_atomically(png_dirs[name] / f"{n:06d}.png", bgr)
                if name in writers:
                    writers[name].write(rgba)
        errors = dict(renderer.errors)
    finally:
        for writer in writers.values():
            writer.close()
        player.close()
    videos = {name: w.path for name, w in writers.items()}
    return RenderResult(frames, png_dirs, videos, errors)
