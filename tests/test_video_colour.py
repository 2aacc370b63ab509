"""YUV → RGB: the matrix and range a stream is tagged with decide its colours, end to end.

Every clip here is made in the test set-up with PyAV: flat patches of chosen Y, U, V values,
tagged BT.709 or BT.601 (or untagged), limited or full range, SD and HD, odd sizes too,
mostly FFV1 (lossless, so the decoded planes are exactly the values written) and some
H.264 as cameras write it. The expected colours never come from ``yuv_to_rgb_matrix``:

* literal BT.601 / BT.709 coefficients (ITU-R BT.601-7 and BT.709-6, the figures every
  reference table prints), applied in float64 to the values the test wrote;
* FFmpeg's own conversion (libswscale, through PyAV's ``to_ndarray``), which must agree
  with those literals — a check on the test's own constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.media.video import VideoClip, yuv_to_rgb_matrix
from mapping.show import Canvas, Layer, Show
from tests.madeonce import made_once

# --- the reference: literal coefficients ----------------------------------------------------

# rgb (0..255) = A @ (Y - y0, U - 128, V - 128)
LITERAL = {
    ("bt601", False): np.array(
        [[1.164384, 0.0, 1.596027], [1.164384, -0.391762, -0.812968], [1.164384, 2.017232, 0.0]]
    ),
    ("bt709", False): np.array(
        [[1.164384, 0.0, 1.792741], [1.164384, -0.213249, -0.532909], [1.164384, 2.112402, 0.0]]
    ),
    ("bt601", True): np.array(
        [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]
    ),
    ("bt709", True): np.array(
        [[1.0, 0.0, 1.5748], [1.0, -0.187324, -0.468124], [1.0, 1.8556, 0.0]]
    ),
}  # fmt: skip


def literal_rgb(yuv: np.ndarray, matrix: str, full_range: bool) -> np.ndarray:
    """float64 RGB in 0..255 (clipped) for (..., 3) Y, U, V code values."""
    y0 = 0.0 if full_range else 16.0
    centred = yuv.astype(np.float64) - [y0, 128.0, 128.0]
    return np.clip(centred @ LITERAL[(matrix, full_range)].T, 0.0, 255.0)


# Six patches (Y, U, V): strong and mild colours and a grey, all legal in limited range too.
PATCHES = np.array(
    [
        [81, 90, 240], [145, 54, 34], [41, 240, 110],
        [120, 100, 170], [150, 160, 90], [126, 128, 128],
    ],
    dtype=np.uint8,
)  # fmt: skip
GRID = (3, 2)  # patches across, down


def patch_of(xs: np.ndarray, ys: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Which patch covers luma pixel (x, y): a 3×2 grid split on even pixel boundaries, so
    every 2×2 chroma block lies inside one patch."""
    w, h = size
    pw, ph = 2 * (w // (2 * GRID[0])), 2 * (h // (2 * GRID[1]))
    return np.minimum(ys // ph, GRID[1] - 1) * GRID[0] + np.minimum(xs // pw, GRID[0] - 1)


def patch_interiors(size: tuple[int, int], margin_px: int = 4) -> list[tuple[slice, slice]]:
    """(rows, columns) well inside each patch, in patch order."""
    w, h = size
    pw, ph = 2 * (w // (2 * GRID[0])), 2 * (h // (2 * GRID[1]))
    out = []
    for k in range(len(PATCHES)):
        gx, gy = k % GRID[0], k // GRID[0]
        x1 = w if gx == GRID[0] - 1 else (gx + 1) * pw
        y1 = h if gy == GRID[1] - 1 else (gy + 1) * ph
        out.append(
            (slice(gy * ph + margin_px, y1 - margin_px), slice(gx * pw + margin_px, x1 - margin_px))
        )
    return out


def planes_for(size: tuple[int, int], chroma_div: int) -> tuple[np.ndarray, ...]:
    w, h = size
    cw, ch = math.ceil(w / chroma_div), math.ceil(h / chroma_div)
    ys, xs = np.mgrid[0:h, 0:w]
    cys, cxs = np.mgrid[0:ch, 0:cw] * chroma_div
    y = PATCHES[patch_of(xs, ys, size), 0]
    u = PATCHES[patch_of(cxs, cys, size), 1]
    v = PATCHES[patch_of(cxs, cys, size), 2]
    return y, u, v


@dataclass(frozen=True)
class ClipSpec:
    size: tuple[int, int]
    codec: str  # "ffv1" (lossless, tags on the codec context) or "libx264" (tags as options)
    pix_fmt: str
    colorspace: int  # AVColorSpace: 1 BT.709, 5 BT.470BG, 6 SMPTE 170M, 2 unspecified
    color_range: int  # AVColorRange: 1 limited (MPEG), 2 full (JPEG), 0 unspecified
    matrix: str  # what the clip must report
    full_range: bool


CLIPS = {
    "bt709-sd-limited": ClipSpec((64, 48), "ffv1", "yuv420p", 1, 1, "bt709", False),
    "bt709-sd-limited-h264": ClipSpec((64, 48), "libx264", "yuv420p", 1, 1, "bt709", False),
    "bt601-hd-limited": ClipSpec((1280, 720), "ffv1", "yuv420p", 6, 1, "bt601", False),
    "bt470bg-sd-full": ClipSpec((64, 48), "ffv1", "yuv420p", 5, 2, "bt601", True),
    "bt709-odd-full": ClipSpec((65, 49), "ffv1", "yuv420p", 1, 2, "bt709", True),
    "bt709-full-h264-yuvj": ClipSpec((64, 48), "libx264", "yuv420p", 1, 2, "bt709", True),
    "bt709-odd-444-limited": ClipSpec((65, 49), "ffv1", "yuv444p", 1, 1, "bt709", False),
    # untagged: guessed by height (SD BT.601, HD from 720 lines BT.709), limited range
    "untagged-hd": ClipSpec((1280, 720), "ffv1", "yuv420p", 2, 0, "bt709", False),
    "untagged-sd": ClipSpec((64, 48), "ffv1", "yuv420p", 2, 0, "bt601", False),
    "untagged-719-lines": ClipSpec((97, 719), "ffv1", "yuv420p", 2, 0, "bt601", False),
}
TAGGED = [name for name, spec in CLIPS.items() if spec.colorspace != 2]


def write_clip(path: Path, spec: ClipSpec, frames: int = 2) -> Path:
    chroma_div = 1 if spec.pix_fmt == "yuv444p" else 2
    y, u, v = planes_for(spec.size, chroma_div)
    w, h = spec.size
    with av.open(str(path), "w") as container:
        if spec.codec == "libx264":
            options = {
                "qp": "0",  # lossless
                "preset": "ultrafast",
                "colorspace": {1: "bt709", 5: "bt470bg", 6: "smpte170m"}[spec.colorspace],
                "color_range": {1: "tv", 2: "pc"}[spec.color_range],
            }
            stream = container.add_stream("libx264", rate=10, options=options)
        else:
            stream = container.add_stream("ffv1", rate=10)
            stream.codec_context.colorspace = spec.colorspace
            stream.codec_context.color_range = spec.color_range
        stream.width, stream.height, stream.pix_fmt = w, h, spec.pix_fmt
        for i in range(frames):
            frame = av.VideoFrame(w, h, spec.pix_fmt)
            for plane, values in zip(frame.planes, (y, u, v), strict=True):
                rows = np.zeros((plane.height, plane.line_size), np.uint8)
                rows[:, : plane.width] = values
                plane.update(rows.tobytes())
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return made_once(tmp_path_factory, "test_video_colour.clip_paths", _make_clip_paths)


def _make_clip_paths(folder: Path) -> dict[str, Path]:
    ext = {"ffv1": "mkv", "libx264": "mp4"}
    return {
        name: write_clip(folder / f"{name}.{ext[spec.codec]}", spec) for name, spec in CLIPS.items()
    }


def expected_rgb(spec: ClipSpec) -> np.ndarray:
    """(6, 3) float64: each patch's colour by the literal coefficients of the clip's tags."""
    return literal_rgb(PATCHES, spec.matrix, spec.full_range)


def patch_means(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each patch interior's mean RGB (6, 3) and worst deviation from it."""
    means, spreads = [], []
    for rows, cols in patch_interiors(size):
        block = image[rows, cols, :3].reshape(-1, 3).astype(np.float64)
        means.append(block.mean(axis=0))
        spreads.append(np.abs(block - block.mean(axis=0)).max())
    return np.array(means), np.array(spreads)


# --- the reference checks itself --------------------------------------------------------------


def test_literal_coefficients_take_video_black_white_and_grey_where_they_belong():
    for (matrix, full), A in LITERAL.items():
        lo, hi = (0, 255) if full else (16, 235)
        black = literal_rgb(np.array([lo, 128, 128]), matrix, full)
        white = literal_rgb(np.array([hi, 128, 128]), matrix, full)
        np.testing.assert_allclose(black, 0.0, atol=1e-9)
        np.testing.assert_allclose(white, 255.0, atol=2e-4)
        # Kr, Kb by definition: Y = Kr R + (1 - Kr - Kb) G + Kb B, so rows of A⁻¹ give them
        kr, kb = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}[matrix]
        y_row = np.linalg.inv(A)[0] * (1.0 if full else 1.164384)
        np.testing.assert_allclose(y_row, [kr, 1 - kr - kb, kb], atol=2e-5)


@pytest.mark.parametrize("name", TAGGED)
def test_ffmpeg_converts_tagged_clips_to_the_literal_colours(clip_paths, name):
    """libswscale (FFmpeg's own conversion, honouring the tags) agrees with the literals."""
    spec = CLIPS[name]
    with av.open(str(clip_paths[name])) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    means, _ = patch_means(rgb, spec.size)
    # swscale's fast integer path: measured ≤ 1.92 levels off the float64 literals
    np.testing.assert_allclose(means, expected_rgb(spec), atol=2.5)


# --- the code under test ----------------------------------------------------------------------


def test_yuv_to_rgb_matrix_is_the_literal_matrix():
    for (matrix, full), A in LITERAL.items():
        M, offset = yuv_to_rgb_matrix(matrix, full)
        # M works in 0..1 units on both sides, as A does in 0..255 units
        np.testing.assert_allclose(M, A, atol=2e-6)
        y0 = 0.0 if full else 16.0
        np.testing.assert_allclose(offset * 255.0, [y0, 128.0, 128.0], atol=1e-9)


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_a_clip_reports_the_matrix_and_range_it_is_tagged_with(clip_paths, name):
    spec = CLIPS[name]
    w, h = spec.size
    with VideoClip(clip_paths[name], yuv_planes=True) as clip:
        planes = clip.frame_at(0.0).planes
        assert clip.size_px == spec.size
    assert planes is not None
    assert (planes.matrix, planes.full_range) == (spec.matrix, spec.full_range)
    div = 1 if spec.pix_fmt == "yuv444p" else 2
    assert planes.y.shape == (h, w)
    assert planes.u.shape == planes.v.shape == (math.ceil(h / div), math.ceil(w / div))
    # the planes are the values written, byte for byte (lossless codecs)
    want_y, want_u, want_v = planes_for(spec.size, div)
    np.testing.assert_array_equal(planes.y, want_y)
    np.testing.assert_array_equal(planes.u, want_u)
    np.testing.assert_array_equal(planes.v, want_v)


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_the_reported_matrix_turns_the_planes_into_the_literal_colours(clip_paths, name):
    spec = CLIPS[name]
    with VideoClip(clip_paths[name], yuv_planes=True) as clip:
        planes = clip.frame_at(0.0).planes
    M, offset = yuv_to_rgb_matrix(planes.matrix, planes.full_range)
    div = 1 if planes.u.shape == planes.y.shape else 2
    h, w = planes.y.shape
    up = [np.repeat(np.repeat(c, div, 0), div, 1)[:h, :w] for c in (planes.u, planes.v)]
    yuv = np.stack([planes.y, *up], axis=-1) / 255.0
    rgb = np.clip((yuv - offset) @ M.T, 0.0, 1.0) * 255.0
    means, spreads = patch_means(rgb, spec.size)
    np.testing.assert_allclose(means, expected_rgb(spec), atol=1e-3)
    assert spreads.max() < 1e-9


@pytest.mark.parametrize("name", TAGGED)
def test_rgb_frames_are_ffmpegs_conversion_of_the_tagged_clip(clip_paths, name):
    spec = CLIPS[name]
    with VideoClip(clip_paths[name]) as clip:
        rgb = clip.frame_at(0.0).image
    means, _ = patch_means(rgb, spec.size)
    np.testing.assert_allclose(means, expected_rgb(spec), atol=2.5)  # as swscale above


# --- the renderer: planes converted in layer.glsl -----------------------------------------------


def render_video_canvas(ctx, root: Path, clip: Path, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    layer = Layer("v", "video", clip, 1.0, "normal", (0.0, 0.0, float(w), float(h)))
    show = Show(root, "colour", Canvas(size), (), (), (layer,), ())
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        assert not renderer.errors, renderer.errors
        return renderer.read_canvas().copy()
    finally:
        renderer.release()


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_the_renderer_shows_each_clip_in_its_tagged_colours(ctx, tmp_path, clip_paths, name):
    spec = CLIPS[name]
    canvas = render_video_canvas(ctx, tmp_path, clip_paths[name], spec.size)
    means, spreads = patch_means(canvas, spec.size)
    # 8-bit textures and canvas: measured ≤ 0.49 levels off the literals, patches flat (0);
    # the wrong matrix is ≥ 34 levels off, the wrong range ≥ 14
    np.testing.assert_allclose(means, expected_rgb(spec), atol=0.75)
    assert spreads.max() <= 0.5
