"""Test clips made here with PyAV: frames that carry their own number, at chosen timestamps.

Each frame's number is burnt into the picture as eight black/white vertical bars (bit 7 on
the left; big flat blocks that survive H.264), so a test reads back from the decoded
picture which frame it was given, not just the index the code says.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH_PX, HEIGHT_PX = 64, 48
BAR_WIDTH_PX = WIDTH_PX // 8
MS = Fraction(1, 1000)


def number_image(number: int) -> np.ndarray:
    """A (48, 64, 3) RGB frame whose eight bars spell ``number`` (0..255, MSB left)."""
    image = np.zeros((HEIGHT_PX, WIDTH_PX, 3), dtype=np.uint8)
    for bit in range(8):
        if (number >> (7 - bit)) & 1:
            image[:, bit * BAR_WIDTH_PX : (bit + 1) * BAR_WIDTH_PX] = 255
    return image


def read_number(image: np.ndarray) -> int:
    """The number spelled by :func:`number_image` (samples the middle of each bar)."""
    assert image.shape[:2] == (HEIGHT_PX, WIDTH_PX), image.shape
    value = 0
    for bit in range(8):
        x_px = bit * BAR_WIDTH_PX + BAR_WIDTH_PX // 2
        block = image[HEIGHT_PX // 2 - 4 : HEIGHT_PX // 2 + 4, x_px - 2 : x_px + 2]
        value = (value << 1) | int(block[..., 0].mean() > 128)
    return value


def write_timed_clip(
    path: Path,
    pts_ms: list[int],
    last_ms: int,
    codec: str = "ffv1",
    numbers: list[int] | None = None,
) -> Path:
    """Frames numbered 0, 1, 2, … (or ``numbers``) at ``pts_ms`` (milliseconds,
    increasing), the last one lasting ``last_ms``; each packet carries its frame's duration.
    ``codec`` is ``"ffv1"`` (lossless) or ``"libx264"`` (no B-frames, as many cameras write
    VFR)."""
    durations = {p: q - p for p, q in itertools.pairwise(pts_ms)}
    durations[pts_ms[-1]] = last_ms
    with av.open(str(path), "w") as container:
        if codec == "libx264":
            stream = container.add_stream(
                "libx264", rate=25, options={"bframes": "0", "preset": "ultrafast", "qp": "0"}
            )
            stream.pix_fmt = "yuv420p"
        else:
            stream = container.add_stream("ffv1", rate=25)
            stream.pix_fmt = "yuv420p"
        stream.width, stream.height = WIDTH_PX, HEIGHT_PX
        stream.time_base = stream.codec_context.time_base = MS
        for number, pts in zip(numbers or range(len(pts_ms)), pts_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(number_image(number), format="rgb24")
            frame.pts = pts
            frame.time_base = MS
            for packet in stream.encode(frame):
                _mux(container, packet, durations)
        for packet in stream.encode():
            _mux(container, packet, durations)
    return path


def _mux(container: av.container.OutputContainer, packet: av.Packet, durations: dict) -> None:
    # the encoder's packets are in its time base (ms); give each its frame's duration
    packet.duration = durations[int(packet.pts)]
    container.mux(packet)


def write_offset_clip(path: Path, pts_ms: list[int], dts_ms: list[int], gop: int = 4) -> Path:
    """An MP4 of H.264 frames numbered 0, 1, 2, … (no B-frames, a keyframe every ``gop``)
    whose packets carry decode timestamps ``dts_ms`` and presentation timestamps ``pts_ms``
    (milliseconds) as given: the MP4 index then keeps evenly spaced decode times while the
    composition offsets move frames off those slots, as some camera muxers write them."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264",
            rate=25,
            options={"bframes": "0", "preset": "ultrafast", "qp": "0"},
        )
        stream.pix_fmt = "yuv420p"
        stream.width, stream.height = WIDTH_PX, HEIGHT_PX
        stream.time_base = stream.codec_context.time_base = MS
        stream.codec_context.gop_size = gop
        packets = []
        for number in range(len(pts_ms)):
            frame = av.VideoFrame.from_ndarray(number_image(number), format="rgb24")
            frame.pts = 40 * number
            frame.time_base = MS
            packets += stream.encode(frame)
        packets += stream.encode()
        assert len(packets) == len(pts_ms), "one packet per frame"
        for packet, pts, dts in zip(packets, pts_ms, dts_ms, strict=True):
            packet.pts, packet.dts, packet.duration = pts, dts, 40
            container.mux(packet)
    return path
