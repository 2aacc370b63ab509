"""Offline renders: a show rendered frame-exactly to PNG files (and MP4) for review.

Frame ``n`` is drawn at show time ``start + n / fps`` whatever the machine's speed, so two
renders of the same show are identical and match the live show at the same show time. The
frames are made by the live loop itself (:meth:`mapping.player.ShowPlayer.step`, offline:
content sources wait for the exact frame), on headless outputs in the caller's context.
Layout: ``OUT/<output-name>/000000.png`` …, and with ``video=True`` ``OUT/<output-name>.mp4``.

The MP4s carry the show's soundtrack (when a layer can sound: :mod:`mapping.sound`), mixed
from the same frame states as the pictures: after frame ``n``'s state, the samples of show
time ``[start + (n-1)/fps, start + n/fps)`` are rendered (a cue firing between two frames
starts its sound at its exact sample), and the last frame's span closes the file.
Killed at any moment, a render leaves only complete PNGs under their final names (each is
written to a temporary name and renamed) and MP4s playable up to the frames encoded so far
(fragmented MP4).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import moderngl
import numpy as np
from tqdm import tqdm

from mapping.media.audio import DEFAULT_RATE
from mapping.media.writer import VideoWriter
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import Show
from mapping.sound import Mixer, frame_sample, show_can_sound, sound_frame

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
    audio: bool = True,
    audio_rate: int = DEFAULT_RATE,
    before: Callable[[ShowPlayer], None] | None = None,
) -> RenderResult:
    """Render ``frames`` frames of every output; returns where they went.

    ``audio``: with ``video``, write the soundtrack into the MP4s (when some layer can
    sound). ``before``: called with the player before the first frame (e.g. to queue
    time-tagged commands: ``player.submit("go", at_show_time_s=2.0)``).
    """
    if frames < 1:
        raise ValueError("frames must be at least 1")
    if fps <= 0:
        raise ValueError("fps must be positive")
    player = ShowPlayer(show, HeadlessOutputs(ctx=ctx), start_cue=cue, offline=True)
    renderer = player.renderer
    if before is not None:
        before(player)
    mixer = Mixer(audio_rate, 2) if video and audio and show_can_sound(show) else None
    rate = audio_rate if mixer is not None else None

    def sound_until(n: int) -> None:
        """Mix show samples [frame n-1, frame n) into every MP4 (after frame n's state)."""
        assert mixer is not None
        a = frame_sample(n - 1, fps, audio_rate, start_s)
        b = frame_sample(n, fps, audio_rate, start_s)
        block = mixer.render(a, b - a)
        for writer in writers.values():
            writer.write_audio(block)

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
                    out_dir / f"{out.name}.mp4",
                    out.resolution,
                    fps,
                    audio_rate=rate,
                    fragmented=True,
                )
        for n in tqdm(
            range(frames), desc=f"render {show.name}", unit="frame", disable=not progress
        ):
            player.step(start_s + n / fps)
            if mixer is not None and player.frame_state is not None:
                mixer.update(sound_frame(player.frame_state, paused=player.engine.paused))
                if n:
                    sound_until(n)
            for name in renderer.output_names():
                rgba = renderer.read_output(name)
                if pngs:
                    bgr = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2BGR)
                    write_png_atomically(png_dirs[name] / f"{n:06d}.png", bgr)
                if name in writers:
                    writers[name].write(rgba)
        if mixer is not None:
            sound_until(frames)  # the last frame's span, with its state
        errors = dict(renderer.errors)
        if mixer is not None:
            errors.update({f"sound: {path}": reason for path, reason in mixer.errors.items()})
    finally:
        for writer in writers.values():
            writer.close()
        if mixer is not None:
            mixer.close()
        player.close()
    videos = {name: w.path for name, w in writers.items()}
    return RenderResult(frames, png_dirs, videos, errors)
