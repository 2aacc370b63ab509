"""HAP played the way media servers play it: Snappy undone on the CPU, blocks decompressed
by the GPU.

Clips are encoded with the ffmpeg CLI in set-up (``tests/hapkit.py``). Expected pictures
come from FFmpeg's own HAP decoder (PyAV decoding the same file to RGBA); expected texture
sizes from the block arithmetic written here; expected timing from ``VideoClip`` on the
same file. Hand-built frames (section headers packed here, Snappy from ``cramjam``'s
compressor) drive every malformed case.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import av
import cramjam
import moderngl
import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.gl.compressed import CompressedTexture2D, CompressedTextureError
from mapping.gl.renderer import Renderer
from mapping.gl.sources.base import SourceEnv
from mapping.gl.sources.hap import HapSource, VideoKindSource
from mapping.gl.sources.video import VideoSource
from mapping.media.errors import MediaError
from mapping.media.hap import (
    CompressedTexture,
    HapClip,
    HapFormatError,
    HapFrame,
    parse_hap_frame,
)
from mapping.media.video import VideoClip
from mapping.show import Canvas, Layer, Output, Show, Surface
from tests.hapkit import (
    HapDrawer,
    encode_h264,
    encode_hap,
    premultiplied,
    with_picture_size,
)
from tests.madeonce import made_once

FRAMES = 6


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return made_once(tmp_path_factory, "test_hap.clips", _make_clips)


def _make_clips(d: Path) -> dict[str, Path]:
    made = {
        "hap": encode_hap(d / "hap.mov", "hap"),
        "hap_alpha": encode_hap(d / "hap_alpha.mov", "hap_alpha", chunks=4),
        "hap_q": encode_hap(d / "hap_q.mov", "hap_q", compressor="none"),
        "hap_q_chunks": encode_hap(d / "hap_q_chunks.mov", "hap_q", chunks=4, faststart=True),
        "h264": encode_h264(d / "h264.mp4"),
    }
    padded = encode_hap(d / "padded.mov", "hap_alpha", size=(32, 20), frames=3)
    made["odd"] = with_picture_size(padded, d / "odd.mov", (30, 18))
    return made


def ffmpeg_rgba(path: Path) -> list[np.ndarray]:
    """FFmpeg's HAP decoder's pictures of ``path``, straight RGBA uint8."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgba") for f in container.decode(video=0)]


def sec(kind: int, data: bytes, *, long: bool = False) -> bytes:
    """A HAP section: 4-byte header (3-byte size, type), or 8-byte with ``long``."""
    if long or len(data) >= 1 << 24:
        return bytes(3) + bytes([kind]) + len(data).to_bytes(4, "little")
    return len(data).to_bytes(3, "little") + bytes([kind]) + data


def sec8(kind: int, data: bytes) -> bytes:
    return sec(kind, b"", long=True)[:4] + len(data).to_bytes(4, "little") + data


def snappy(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data))


# --- the frame format -----------------------------------------------------------------------


def test_each_flavour_gives_its_texture_format_and_block_bytes(clips: dict[str, Path]) -> None:
    # 64×32 px = 16 × 8 blocks: DXT1 8 bytes per block, DXT5 16.
    expected = {
        "hap": ("Hap", "Hap1", "dxt1", 1024),
        "hap_alpha": ("Hap Alpha", "Hap5", "dxt5", 2048),
        "hap_q": ("Hap Q", "HapY", "ycocg-dxt5", 2048),
        "hap_q_chunks": ("Hap Q", "HapY", "ycocg-dxt5", 2048),
    }
    for name, (flavour, tag, fmt, nbytes) in expected.items():
        with HapClip(clips[name]) as clip:
            assert (clip.flavour, clip.codec_tag, clip.texture_formats) == (flavour, tag, (fmt,))
            assert clip.size_px == (64, 32)
            (tex,) = clip.frame_at_index(3).textures
            assert (tex.format, tex.size_px, len(tex.data)) == (fmt, (64, 32), nbytes)


def test_snappy_and_chunks_undo_to_the_same_blocks_as_uncompressed(
    clips: dict[str, Path],
) -> None:
    """FFmpeg's encoder makes the same DXT blocks whatever the second stage: Snappy in four
    chunks must come back byte for byte as the uncompressed file's blocks."""
    with HapClip(clips["hap_q"]) as plain, HapClip(clips["hap_q_chunks"]) as chunked:
        for i in range(FRAMES):
            assert plain.frame_at_index(i).textures == chunked.frame_at_index(i).textures


def test_section_headers_short_and_long_and_snappy_or_not() -> None:
    blocks = bytes(range(256)) * 4  # 64×32 DXT1
    for frame in (
        sec(0xAB, blocks),
        sec8(0xAB, blocks),
        sec(0xBB, snappy(blocks)),
        sec8(0xBB, snappy(blocks)),
    ):
        (tex,) = parse_hap_frame(frame, (64, 32))
        assert (tex.format, bytes(tex.data)) == ("dxt1", blocks)


def decode_instructions(chunks: list[tuple[int, bytes]], offsets: list[int] | None) -> bytes:
    table = sec(0x02, bytes(c for c, _ in chunks)) + sec(
        0x03, b"".join(len(d).to_bytes(4, "little") for _, d in chunks)
    )
    if offsets is not None:
        table += sec(0x04, b"".join(o.to_bytes(4, "little") for o in offsets))
    return sec(0x01, table)


def test_chunked_frames_with_mixed_compressors_and_an_offset_table() -> None:
    blocks = np.random.default_rng(1).integers(0, 256, 2048, np.uint8).tobytes()  # 64×32 DXT5
    parts = [blocks[:500], blocks[500:1200], blocks[1200:]]
    chunks = [(0x0B, snappy(parts[0])), (0x0A, parts[1]), (0x0B, snappy(parts[2]))]
    data = b"".join(d for _, d in chunks)
    frame = sec(0xCE, decode_instructions(chunks, None) + data)
    assert bytes(parse_hap_frame(frame, (64, 32))[0].data) == blocks
    # Stored out of order, found through the offset table.
    stored = chunks[2][1] + chunks[0][1] + chunks[1][1]
    n2, n0 = len(chunks[2][1]), len(chunks[0][1])
    frame = sec(0xCE, decode_instructions(chunks, [n2, n2 + n0, 0]) + stored)
    assert bytes(parse_hap_frame(frame, (64, 32))[0].data) == blocks


def test_hap_q_alpha_is_colour_then_alpha_texture() -> None:
    colour = bytes(2048)
    alpha = bytes(range(256)) * 4  # 64×32 BC4: 128 blocks × 8 bytes
    for images in (
        sec(0xBF, snappy(colour)) + sec(0xA1, alpha),
        sec(0xA1, alpha) + sec(0xAF, colour),
    ):
        textures = parse_hap_frame(sec(0x0D, images), (64, 32))
        assert [(t.format, bytes(t.data)) for t in textures] == [
            ("ycocg-dxt5", colour),
            ("bc4", alpha),
        ]


def test_odd_sizes_are_padded_to_whole_blocks() -> None:
    # 30×18 px → 32×20 → 8 × 5 blocks of 8 bytes.
    (tex,) = parse_hap_frame(sec(0xAB, bytes(320)), (30, 18))
    assert (tex.size_px, tex.padded_size_px) == ((30, 18), (32, 20))
    with pytest.raises(HapFormatError, match="expected 320"):
        parse_hap_frame(sec(0xAB, bytes(30 * 18 // 2)), (30, 18))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"", "truncated: a section header needs 4 bytes"),
        (b"\x00\x00\x00\xab\x00\x04", "8-byte header"),
        (sec(0xAB, bytes(1024))[:-1], "says 1024 bytes, only 1023 follow"),
        (sec8(0xAB, bytes(1024))[:600], "says 1024 bytes, only 592 follow"),
        (sec(0xAB, bytes(1000)), "is 1000 bytes, expected 1024 for 64x32 px"),
        (sec(0xBB, snappy(bytes(1000))), "decompresses to 1000 bytes"),
        (sec(0xBB, b"\x80\x08" + bytes(20)), "bad Snappy data"),
        (sec(0xBB, snappy(bytes(range(256)) * 4)[:-3]), "bad Snappy data"),
        (sec(0xAD, bytes(1024)), "unknown HAP section type 0xAD"),
        (sec(0xCB, sec(0x05, b"") + bytes(1024)), "expected a decode instructions container"),
        (sec(0xCB, sec(0x01, sec(0x02, b"\x0a")) + bytes(1024)), "chunk size table"),
        (
            sec(0xCB, decode_instructions([(0x0A, bytes(512)), (0x0A, bytes(512))], None)
                + bytes(1000)),
            "chunk 1 spans bytes 512..1024 of the frame data, which has 1000",
        ),
        (
            sec(0xCB, sec(0x01, sec(0x02, b"\x0a\x0a") + sec(0x03, bytes(4))) + bytes(1024)),
            "chunk tables disagree: 2 compressors, 1 sizes",
        ),
        (
            sec(0xCB, decode_instructions([(0x0C, bytes(1024))], None) + bytes(1024)),
            "chunk 0 has unknown compressor 0x0C",
        ),
        (sec(0x0D, sec(0xAB, bytes(1024)) + sec(0xAE, bytes(2048))), "cannot be combined"),
        (sec8(0x0D, b""), "holds 0 images"),
    ],
)  # fmt: skip
def test_malformed_frames_say_what_is_wrong(frame: bytes, message: str) -> None:
    with pytest.raises(HapFormatError, match=re.escape(message)):
        parse_hap_frame(frame, (64, 32))


# --- the picture through the GPU ------------------------------------------------------------

# Worst differences from FFmpeg's decoder, in 8-bit levels, measured on llvmpipe (the GPU
# interpolates DXT colours and alphas with its own rounding, and Hap Q's shader divides
# Co and Cg by the scale in float where FFmpeg truncates an integer division):
#   name: (max |Δ| colour (premultiplied), max |Δ| alpha, mean |Δ| over all channels)
TOLERANCE = {
    "hap": (1.0, 0.0, 0.02),
    "hap_alpha": (2.2, 2.0, 0.15),
    "hap_q": (2.0, 0.0, 0.18),
    "hap_q_chunks": (2.0, 0.0, 0.18),
    "odd": (2.2, 2.0, 0.16),
}


@pytest.mark.parametrize("name", sorted(TOLERANCE))
def test_gpu_picture_equals_ffmpegs_hap_decoder(
    ctx: moderngl.Context, clips: dict[str, Path], name: str
) -> None:
    references = ffmpeg_rgba(clips[name])
    max_colour, max_alpha, max_mean = TOLERANCE[name]
    with HapClip(clips[name]) as clip:
        assert len(references) == clip.frame_count
        drawer = HapDrawer(ctx, clip.size_px)
        try:
            for i, reference in enumerate(references):
                got = drawer.draw(clip.frame_at_index(i)).astype(np.float64)
                diff = np.abs(got - premultiplied(reference))
                assert diff[..., :3].max() <= max_colour, (i, diff[..., :3].max())
                assert diff[..., 3].max() <= max_alpha, (i, diff[..., 3].max())
                assert diff.mean() <= max_mean, (i, diff.mean())
            assert drawer.textures[0].upload_count == len(references)
        finally:
            drawer.release()


def test_hap_alpha_carries_the_alpha_ramp(ctx: moderngl.Context, clips: dict[str, Path]) -> None:
    """Not just close to FFmpeg: the alpha is the source's ramp (within DXT5's error)."""
    with HapClip(clips["hap_alpha"]) as clip:
        drawer = HapDrawer(ctx, clip.size_px)
        try:
            got = drawer.draw(clip.frame_at_index(1))[..., 3].astype(np.float64)
        finally:
            drawer.release()
    y, x = np.mgrid[0:32, 0:64]
    ramp = (x * 8 + y * 5 + 40) % 256  # the geq alpha of frame 1
    # Away from the ramp's wrap (a 255 → 0 jump inside a block), DXT5 alpha is within 9.
    smooth = np.abs(ramp - 128) < 100
    assert np.abs(got - ramp)[smooth].max() <= 9
    assert got.min() < 20 and got.max() > 235


def random_blocks(fmt: str, seed: int) -> bytes:
    """Random 64×32 texture blocks: every endpoint order and interpolation index. Hap Q's
    blocks get a valid chroma scale (both endpoints' blue 0..3, i.e. scale 1, 2, 3 or 4:
    FFmpeg's encoder only writes scale 1)."""
    rng = np.random.default_rng(seed)
    block_bytes = {"dxt1": 8, "bc4": 8, "dxt5": 16, "ycocg-dxt5": 16}[fmt]
    blocks = rng.integers(0, 256, (128, block_bytes), np.uint8)
    if fmt == "ycocg-dxt5":
        scale = rng.integers(0, 4, 128)
        for at in (8, 10):  # the two RGB565 endpoints, blue in the low 5 bits
            colour = (blocks[:, at].astype(int) | blocks[:, at + 1].astype(int) << 8) & ~31
            colour |= scale
            blocks[:, at], blocks[:, at + 1] = colour & 0xFF, colour >> 8
    return blocks.tobytes()


# FFmpeg codec tag → (the frame, tolerances as in TOLERANCE, measured on llvmpipe)
RANDOM_FRAMES = {
    "Hap1": (lambda: sec(0xAB, random_blocks("dxt1", 1)), (2.0, 0.0, 0.17)),
    "Hap5": (lambda: sec(0xBE, snappy(random_blocks("dxt5", 2))), (2.0, 1.0, 0.29)),
    "HapY": (lambda: sec(0xAF, random_blocks("ycocg-dxt5", 3)), (3.0, 0.0, 0.39)),
    "HapM": (
        lambda: sec(
            0x0D, sec(0xAF, random_blocks("ycocg-dxt5", 3)) + sec(0xA1, random_blocks("bc4", 4))
        ),
        (3.0, 1.0, 0.34),
    ),
}


@pytest.mark.parametrize("tag", sorted(RANDOM_FRAMES))
def test_random_blocks_equal_ffmpegs_decoder(ctx: moderngl.Context, tag: str) -> None:
    """Every block mode, Hap Q's scales 1-4 and Hap Q Alpha (which FFmpeg cannot encode):
    hand-built frames decoded by FFmpeg's HAP decoder under the stream's codec tag.
    (FFmpeg's Hap Q Alpha decoder reads only 4-byte section headers, so those are used.)"""
    make, (max_colour, max_alpha, max_mean) = RANDOM_FRAMES[tag]
    frame = make()
    decoder = av.CodecContext.create("hap", "r")
    decoder.width, decoder.height, decoder.codec_tag = 64, 32, tag
    (reference,) = decoder.decode(av.Packet(frame))
    reference = reference.to_ndarray(format="rgba")
    drawer = HapDrawer(ctx, (64, 32))
    try:
        got = drawer.draw(HapFrame(0, 0.0, parse_hap_frame(frame, (64, 32)))).astype(np.float64)
    finally:
        drawer.release()
    diff = np.abs(got - premultiplied(reference))
    assert diff[..., :3].max() <= max_colour, diff[..., :3].max()
    assert diff[..., 3].max() <= max_alpha, diff[..., 3].max()
    assert diff.mean() <= max_mean, diff.mean()
    if tag in ("Hap5", "HapM"):
        assert reference[..., 3].min() < 10 and reference[..., 3].max() > 245


def test_upload_refuses_another_format_or_size(ctx: moderngl.Context) -> None:
    texture = CompressedTexture2D(ctx, "dxt1", (64, 32))
    try:
        with pytest.raises(CompressedTextureError, match="dxt5 64x32 picture into a dxt1"):
            texture.upload(CompressedTexture("dxt5", (64, 32), bytes(2048)))
        with pytest.raises(CompressedTextureError, match="into a dxt1 64x32"):
            texture.upload(CompressedTexture("dxt1", (32, 32), bytes(512)))
    finally:
        texture.release()


# --- timing -----------------------------------------------------------------------------------


def test_timing_equals_videoclips_on_the_same_file(clips: dict[str, Path]) -> None:
    with HapClip(clips["hap_q"]) as hap, VideoClip(clips["hap_q"]) as video:
        assert (hap.fps, hap.frame_count, hap.duration_s, hap.size_px) == (
            video.fps, video.frame_count, video.duration_s, video.size_px,
        )  # fmt: skip
        for t in np.linspace(-0.5, 0.8, 131):
            for loop in (True, False):
                assert hap.index_at(t, loop) == video.index_at(t, loop)
                h, v = hap.frame_at(t, loop), video.frame_at(t, loop)
                assert (h.index, h.pts_s) == (v.index, v.pts_s)


def test_timing_equals_h264_of_the_same_content(clips: dict[str, Path]) -> None:
    with HapClip(clips["hap"]) as hap, VideoClip(clips["h264"]) as video:
        assert (hap.fps, hap.frame_count, hap.duration_s) == (
            video.fps, video.frame_count, video.duration_s,
        )  # fmt: skip
        for i in range(FRAMES):
            h, v = hap.frame_at(i / 25.0), video.frame_at(i / 25.0)
            assert (h.index, h.pts_s) == (v.index, v.pts_s) == (i, pytest.approx(i / 25.0))


def test_playing_forward_reads_each_packet_once_and_never_seeks(clips: dict[str, Path]) -> None:
    with HapClip(clips["hap"]) as clip:
        for i in range(FRAMES):
            assert clip.frame_at(i / 25.0).index == i
        assert (clip.demuxed_packet_count, clip.parsed_frame_count, clip.seek_count) == (
            FRAMES, FRAMES, 0,
        )  # fmt: skip
        assert clip.frame_at_index(FRAMES - 1) is clip.frame_at_index(FRAMES - 1)  # cached


def test_random_access_seeks_straight_to_the_packet(clips: dict[str, Path]) -> None:
    with HapClip(clips["hap_alpha"]) as sequential:
        expected = [sequential.frame_at_index(i).textures for i in range(FRAMES)]
    with HapClip(clips["hap_alpha"]) as clip:
        order = [5, 2, 0, 4, 1, 3, 0, 5]
        for i in order:
            frame = clip.frame_at_index(i)
            assert (frame.index, frame.textures) == (i, expected[i])
        # Every backward jump is one seek landing on the packet wanted: no packet read twice
        # beyond the jump itself.
        assert clip.seek_count == sum(1 for a, b in itertools.pairwise(order) if b < a)


# --- bad files --------------------------------------------------------------------------------


def test_missing_empty_text_and_non_hap_files(tmp_path: Path, clips: dict[str, Path]) -> None:
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mov"
    text.write_text("not a video\n")
    cases = [
        (tmp_path / "missing.mov", "file not found"),
        (empty, "not a readable media file"),
        (text, "not a readable media file"),
        (clips["h264"], "video codec is 'h264', not HAP"),
        (tmp_path, "not a file"),
    ]
    for path, reason in cases:
        with pytest.raises(MediaError, match=reason) as info:
            HapClip(path)
        assert info.value.path == path


def corrupt_packet(src: Path, dst: Path, index: int, edit) -> Path:
    """``src`` with packet ``index``'s bytes changed in place by ``edit(bytearray)``."""
    with av.open(str(src)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        pos, size = packets[index].pos, packets[index].size
    data = bytearray(src.read_bytes())
    chunk = bytearray(data[pos : pos + size])
    edit(chunk)
    assert len(chunk) == size
    data[pos : pos + size] = chunk
    dst.write_bytes(bytes(data))
    return dst


def test_a_bad_frame_mid_clip_is_skipped_named_with_its_file_and_the_clip_goes_on(
    tmp_path: Path, clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    def wrong_size(chunk: bytearray) -> None:  # 8-byte header: the size is bytes 4..8
        chunk[4:8] = (int.from_bytes(chunk[4:8], "little") + 100).to_bytes(4, "little")

    def bad_snappy(chunk: bytearray) -> None:
        chunk[8:] = b"\xff" * (len(chunk) - 8)

    for edit, reason in ((wrong_size, "only .* follow"), (bad_snappy, "bad Snappy data")):
        path = corrupt_packet(clips["hap"], tmp_path / f"{edit.__name__}.mov", 3, edit)
        caplog.clear()
        with HapClip(path) as clip:
            assert clip.frame_at_index(2).index == 2  # the frames before are fine
            assert clip.frame_at_index(3).index == 2  # frame 3 is skipped: 2 stays up
            assert clip.corrupt_frame_count == 1
            assert re.search(f"{re.escape(str(path))}: HAP frame 3: .*{reason}", caplog.text)
            assert clip.frame_at_index(4).index == 4  # and the clip goes on after it
        with HapClip(path) as clip:  # straight to the bad frame: the first one stays up
            assert clip.frame_at_index(3).index == 0


def test_a_truncated_file_ends_early_or_says_so(tmp_path: Path, clips: dict[str, Path]) -> None:
    data = clips["hap_q_chunks"].read_bytes()  # index (moov) first: a cut keeps it
    with av.open(str(clips["hap_q_chunks"])) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    cut = tmp_path / "cut.mov"
    cut.write_bytes(data[: packets[3].pos + 100])  # into the middle of frame 3
    with HapClip(cut) as clip:
        assert clip.frame_at_index(2).index == 2
        try:
            frame = clip.frame_at_index(5)
        except MediaError as exc:
            assert exc.path == cut and "HAP frame" in exc.reason
        else:
            assert frame.index <= 3


# --- the video layer kind -------------------------------------------------------------------


def test_a_video_layer_plays_hap_through_the_gpu_and_other_codecs_as_before(
    ctx: moderngl.Context, tmp_path: Path, clips: dict[str, Path]
) -> None:
    """The renderer's video kind opens a HapSource for HAP (compressed upload, one per new
    frame) and a VideoSource for H.264; the canvas shows FFmpeg's picture of the frame due,
    looping."""
    w, h = 64, 32
    full = (0.0, 0.0, float(w), float(h))
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surfaces = (Surface("all", "out", rect, np.eye(3), "homography"),)
    for name, source_class, max_colour in (
        ("hap", HapSource, 1.0),
        ("hap_q", HapSource, 2.0),
        ("hap_alpha", HapSource, 2.2),
        ("h264", VideoSource, None),
    ):
        layer = Layer("v", "video", clips[name], 1.0, "normal", full)
        show = Show(tmp_path, "t", Canvas((w, h)), (Output("out", (w, h)),), surfaces, (layer,), ())
        references = ffmpeg_rgba(clips[name])
        renderer = Renderer(ctx, show, offline=True)  # frame-exact: waits for the worker
        engine = CueEngine(show)
        try:
            for t, index in ((0.0, 0), (0.05, 1), (0.13, 3), (0.30, 1), (0.21, 5)):
                renderer.render(engine.tick(t))
                assert not renderer.errors
                (source,) = renderer._sources.values()
                assert type(source) is source_class
                if max_colour is None:
                    continue
                canvas = renderer.read_canvas().astype(np.float64)
                expected = premultiplied(references[index])  # over the black canvas
                diff = np.abs(canvas[..., :3] - expected[..., :3]).max()
                assert diff <= max_colour, (name, t, diff)
            if source_class is HapSource:
                assert source.upload_count == 5
                # a playing HAP clip asks to be redrawn when its frame changes, not before
                assert not source.animating(0.21) and source.animating(0.05)
        finally:
            renderer.release()


def test_a_broken_hap_frame_holds_the_last_good_one(
    ctx: moderngl.Context, tmp_path: Path, clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    def bad_snappy(chunk: bytearray) -> None:
        chunk[8:] = b"\xff" * (len(chunk) - 8)

    path = corrupt_packet(clips["hap"], tmp_path / "bad.mov", 2, bad_snappy)
    w, h = 64, 32
    layer = Layer("v", "video", path, 1.0, "normal", (0.0, 0.0, float(w), float(h)))
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    show = Show(
        tmp_path, "t", Canvas((w, h)), (Output("out", (w, h)),),
        (Surface("all", "out", rect, np.eye(3), "homography"),), (layer,), (),
    )  # fmt: skip
    references = ffmpeg_rgba(clips["hap"])
    renderer = Renderer(ctx, show, offline=True)  # frame-exact: no race with the worker
    engine = CueEngine(show)
    try:
        renderer.render(engine.tick(0.05))  # frame 1
        renderer.render(engine.tick(0.09))  # frame 2 is broken: frame 1 stays
        canvas = renderer.read_canvas().astype(np.float64)
        assert np.abs(canvas[..., :3] - references[1][..., :3]).max() <= 1.0
        assert "HAP frame 2" in caplog.text and str(path) in caplog.text
        renderer.render(engine.tick(0.13))  # frame 3 plays again
        canvas = renderer.read_canvas().astype(np.float64)
        assert np.abs(canvas[..., :3] - references[3][..., :3]).max() <= 1.0
    finally:
        renderer.release()


def test_a_hap_clip_over_the_texture_limit_is_refused_with_its_size(
    ctx: moderngl.Context, clips: dict[str, Path]
) -> None:
    vbo = ctx.buffer(np.zeros(8, "f4").tobytes())
    try:
        env = SourceEnv(ctx, vbo, max_texture_size=32)
        layer = Layer("v", "video", clips["hap"], 1.0, "normal", (0.0, 0.0, 64.0, 32.0))
        with pytest.raises(MediaError, match="64x32 px is larger than this GPU's texture limit"):
            VideoKindSource(env, layer, clips["hap"])
        source = VideoKindSource(SourceEnv(ctx, vbo), layer, clips["hap"])
        assert isinstance(source, HapSource)
        source.prepare()  # pre-roll: the first frame is on the GPU before GO
        assert (source.frame_index, source.upload_count) == (0, 1)
        source.release()
    finally:
        vbo.release()
