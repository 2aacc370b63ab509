"""What a media file is and what is wrong with it: the one place that inspects a file.

:func:`probe` reads a file's container and stream metadata with PyAV (FFmpeg), decodes a
few frames (all of a small clip; otherwise a few at the start, middle and end) and returns
a :class:`MediaInfo`: kind (video, image, audio, shader, other), container, codec (the HAP
flavours named: Hap, Hap Alpha, Hap Q, Hap Q Alpha), resolution, frame rate and whether it
is variable, duration, frame count, audio channels / rate / codec, alpha, colour (matrix,
range, transfer, and whether the matrix was guessed) and ``problems``: what will go wrong
on the evening, each a sentence for a person. ``notes`` carry advice that is not a fault
(an untagged clip's assumed matrix, a long keyframe interval).

:func:`probe` never raises for a bad file: a zero-byte file, a truncated MP4, a text file
named ``.mp4``, a codec FFmpeg has no decoder for, a corrupt frame, an 8K H.264 clip on a
small machine or an audio file without audio all come back as a ``MediaInfo`` whose kind
is what the file was meant to be and whose ``problems`` say why. No GL: the GPU texture
limit is a parameter (:class:`MachineLimits`).

Untagged colour is guessed the way FFmpeg's players do: SD (< 720 lines) as BT.601, HD as
BT.709, limited range unless the pixel format is a full-range ``yuvj`` one.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container

from mapping.kinds import LAYER_KINDS
from mapping.media.errors import MediaError

logger = logging.getLogger(__name__)

KINDS = ("video", "image", "audio", "shader", "other")

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .mxf .mpg .mpeg .ts .m2ts .wmv .flv .ogv".split()
)
IMAGE_EXTENSIONS = frozenset(".png .jpg .jpeg .tif .tiff .webp .bmp .exr .tga .gif".split())
AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .mp3 .aac .m4a .ogg .oga .opus .aif .aiff .wma".split()
)
SHADER_EXTENSIONS = frozenset(".glsl .frag .fs .shader".split())

GPU_TEXTURE_LIMIT = 16384
"""The largest texture side most GPUs take (``GL_MAX_TEXTURE_SIZE``); the renderer's own
limit comes from its context."""

CPU_DECODE_PX_PER_S_PER_CORE = 100e6
"""Pixels per second one CPU core decodes in a software codec (H.264 at 1080p: ~50 fps a
core, leaving time for the renderer). Used only to flag clips unlikely to play in real
time on this machine."""

# Codecs the GPU (or a trivial CPU step) decodes: no software-decode budget applies.
_GPU_FRIENDLY_CODECS = frozenset({"hap", "rawvideo", "png", "qtrle", "dxv"})

# Decode every frame of a clip up to this many pixels in total (320×240 × 150 frames);
# larger clips are sampled at start, middle and end.
FULL_DECODE_PIXELS = 320 * 240 * 150
SAMPLE_FRAMES = 3  # frames decoded at each sample point
VFR_SCAN_PACKETS = 240  # frame times read (not decoded) from the start to judge VFR …
VFR_SCAN_BYTES = 32 << 20  # … or fewer, past this much data (4K HAP: ~10 frames)

# Untagged-colour rule (as FFmpeg's players guess): HD from this many lines.
HD_LINES = 720

_HAP_FLAVOURS = {
    "Hap1": ("Hap", False),
    "Hap5": ("Hap Alpha", True),
    "HapY": ("Hap Q", False),
    "HapM": ("Hap Q Alpha", True),
    "HapA": ("Hap Alpha-only", True),
}
_CODEC_LABELS = {
    "h264": "H.264",
    "hevc": "H.265/HEVC",
    "mpeg4": "MPEG-4 Part 2",
    "mpeg2video": "MPEG-2",
    "mjpeg": "Motion JPEG",
    "prores": "ProRes",
    "dnxhd": "DNxHD/HR",
    "vp8": "VP8",
    "vp9": "VP9",
    "av1": "AV1",
    "png": "PNG",
    "ffv1": "FFV1",
    "pcm_s16le": "PCM 16-bit",
    "pcm_s24le": "PCM 24-bit",
    "pcm_f32le": "PCM float",
    "flac": "FLAC",
    "mp3": "MP3",
    "aac": "AAC",
    "vorbis": "Vorbis",
    "opus": "Opus",
}
# AVColorSpace / AVColorTransferCharacteristic values (libavutil/pixfmt.h).
_MATRIX_NAMES = {0: "RGB", 1: "BT.709", 5: "BT.601", 6: "BT.601", 9: "BT.2020", 10: "BT.2020"}
_MATRICES_PLAYED = ("BT.709", "BT.601")  # what the renderer converts (yuv_to_rgb_matrix)
_TRANSFER_NAMES = {
    1: "BT.709",
    4: "gamma 2.2",
    5: "gamma 2.8",
    6: "BT.601",
    8: "linear",
    13: "sRGB",
    14: "BT.2020",
    15: "BT.2020",
    16: "PQ (HDR)",
    18: "HLG (HDR)",
}
_HDR_TRANSFERS = (16, 18)
_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 1, 2


@dataclass(frozen=True)
class MachineLimits:
    """What this machine can show: the GPU's largest texture side and CPU cores for
    software decoding."""

    max_texture_size: int = GPU_TEXTURE_LIMIT
    cpu_count: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def decode_px_per_s(self) -> float:
        return self.cpu_count * CPU_DECODE_PX_PER_S_PER_CORE


@dataclass(frozen=True)
class Colour:
    """How a YUV stream's numbers become RGB.

    Attributes:
        matrix: "BT.709", "BT.601", "BT.2020", or "RGB" for RGB pixel formats.
        range: "limited" (16–235) or "full" (0–255).
        transfer: the tagged transfer function, or None when untagged.
        guessed: the matrix was not tagged in the file and was assumed from its size.
    """

    matrix: str
    range: str
    transfer: str | None = None
    guessed: bool = False

    def describe(self) -> str:
        text = f"{self.matrix} {self.range}"
        if self.guessed:
            text = f"untagged: assuming {text}"
        return text


@dataclass
class MediaInfo:
    """Everything :func:`probe` learnt about one file (see the module docstring).

    Numbers are ``None`` where they do not apply (no frame rate for an image) or could
    not be read (a broken file).
    """

    path: Path
    kind: str
    size_bytes: int = 0
    container: str | None = None
    codec: str | None = None  # readable: "H.264", "Hap Q", "PNG", "GLSL"
    codec_id: str | None = None  # FFmpeg's codec name: "h264", "hap"
    pixel_format: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    vfr: bool = False
    duration_s: float | None = None
    frame_count: int | None = None
    keyframe_interval_s: float | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    audio_rate: int | None = None
    alpha: bool = False
    colour: Colour | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    advisory: list[str] = field(default_factory=list)
    """The problems among ``problems`` that do not stop the file from playing (variable
    frame rate, an odd 4:2:0 size, too heavy for this machine, …): ``media`` lists them,
    ``check`` does not fail the show for them."""

    def advise(self, problem: str) -> None:
        """Record a problem that does not stop the file from playing."""
        self.problems.append(problem)
        self.advisory.append(problem)

    probe_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def resolution(self) -> str:
        return f"{self.width}×{self.height}" if self.width and self.height else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (path as a string)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def kind_from_extension(path: Path | str) -> str:
    """The kind a file's extension announces ("other" when it announces none): the layer
    kinds' own suffixes (:data:`mapping.kinds.LAYER_KINDS`) first, then this module's wider
    lists (audio, which no layer kind takes yet, and rarer video and image suffixes)."""
    ext = Path(path).suffix.lower()
    for kind in LAYER_KINDS.values():
        if kind.name in KINDS and ext in kind.extensions:
            return kind.name
    for name, exts in (
        ("video", VIDEO_EXTENSIONS),
        ("image", IMAGE_EXTENSIONS),
        ("audio", AUDIO_EXTENSIONS),
        ("shader", SHADER_EXTENSIONS),
    ):
        if ext in exts:
            return name
    return "other"


def guess_matrix(height_px: int) -> str:
    """The matrix of an untagged YUV stream, as FFmpeg's players guess: BT.709 from
    720 lines up (HD), else BT.601."""
    return "BT.709" if height_px >= HD_LINES else "BT.601"


def check_image(path: Path | str) -> MediaInfo:
    """:func:`probe` an image for ``check`` (the layer kinds' probe): raises ``MediaError``
    naming the file with the problems that stop it from playing, joined (advisory ones,
    such as a variable frame rate, are left to ``media``)."""
    return _check(path, "image")


def check_video(path: Path | str) -> MediaInfo:
    """:func:`probe` a video for ``check``: raises ``MediaError`` with its problems."""
    return _check(path, "video")


def _check(path: Path | str, kind: str) -> MediaInfo:
    info = probe(path, kind)
    blocking = [p for p in info.problems if p not in info.advisory]
    if blocking:
        raise MediaError(path, "; ".join(blocking))
    return info


def probe(
    path: Path | str,
    kind: str | None = None,
    *,
    limits: MachineLimits | None = None,
    full_decode_pixels: int = FULL_DECODE_PIXELS,
) -> MediaInfo:
    """Inspect one media file; never raises for a bad file (see the module docstring).

    Args:
        path: the file.
        kind: what the show uses it as ("video", "image", "audio", "shader"); default:
            from the extension, or from the content for an unknown extension.
        limits: the machine's limits (default: a 16384 texture limit and this CPU).
        full_decode_pixels: decode every frame of clips up to this many pixels in total;
            larger clips are sampled at start, middle and end.
    """
    start = time.perf_counter()
    path = Path(path)
    limits = limits or MachineLimits()
    expected = kind or kind_from_extension(path)
    info = MediaInfo(path, expected)
    try:
        _probe_into(info, kind is not None, limits, full_decode_pixels)
    except Exception as exc:  # a file must never take the report down
        logger.exception("%s: probe failed", path)
        info.problems.append(f"could not be inspected: {type(exc).__name__}: {exc}")
    info.probe_s = time.perf_counter() - start
    return info


# --- the steps -------------------------------------------------------------------------


def _probe_into(info: MediaInfo, kind_given: bool, limits: MachineLimits, budget: int) -> None:
    path = info.path
    if not path.exists():
        info.problems.append("file not found")
        return
    if not path.is_file():
        info.problems.append("not a file")
        return
    info.size_bytes = path.stat().st_size
    guessing = info.kind == "other" and not kind_given
    if guessing and (info.size_bytes == 0 or path.name.startswith(".")):
        info.notes.append("not a media file the show can play")
        return
    if info.size_bytes == 0:
        info.problems.append(f"empty file (0 bytes): {_expected(info.kind)}")
        return
    if info.kind == "shader":
        _probe_shader(info)
        return
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        if guessing:  # an unknown extension that is not media either: nothing to play
            info.notes.append("not a media file the show can play")
        else:
            info.problems.append(_unreadable(path, info.kind, exc))
        return
    try:
        _probe_container(info, container, kind_given, limits, budget)
    finally:
        container.close()


def _probe_shader(info: MediaInfo) -> None:
    info.codec = "GLSL"
    try:
        info.path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        info.problems.append("not a text file: expected GLSL source (UTF-8 text)")
    except OSError as exc:
        info.problems.append(f"cannot read: {exc}")


def _probe_container(
    info: MediaInfo,
    container: av.container.InputContainer,
    kind_given: bool,
    limits: MachineLimits,
    budget: int,
) -> None:
    names = container.format.name.split(",")
    ext = info.path.suffix.lower().lstrip(".")
    info.container = ext if ext in names else names[0].removesuffix("_pipe")
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if info.kind == "other" and not kind_given:
        if video is not None:
            info.kind = "image" if container.format.name.endswith("_pipe") else "video"
        elif audio is not None:
            info.kind = "audio"
        else:
            info.notes.append("not a media file the show can play")
            return

    if info.kind in ("video", "image"):
        if video is None:
            found = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
            info.problems.append(f"no video stream (found: {found}): {_expected(info.kind)}")
        else:
            _video_metadata(info, container, video, limits)
    if audio is not None and info.kind != "image":
        _audio_metadata(info, container, audio)
    if info.kind == "audio" and audio is None:
        found = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        info.problems.append(f"no audio stream (found: {found}): {_expected('audio')}")

    if info.kind == "video" and video is not None and video.codec_context is not None:
        _video_timing(info, container, video)
        _check_realtime(info, limits)
        if not any(p.startswith("truncated") for p in info.problems):
            _decode_check(info, container, video, budget)
    elif info.kind == "image" and video is not None and video.codec_context is not None:
        if info.width and info.height and info.width * info.height <= 8192 * 8192:
            _decode_check(info, container, video, budget)
        if info.codec_id == "png":
            info.alpha = info.alpha or _png_has_transparency(info.path)
    elif info.kind == "audio" and audio is not None and audio.codec_context is not None:
        if info.duration_s:
            _check_tail(info, container, audio, info.duration_s, 0.1, "samples")
        if not any(p.startswith("truncated") for p in info.problems):
            _decode_check(info, container, audio, budget)


def _video_metadata(
    info: MediaInfo,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    limits: MachineLimits,
) -> None:
    cc = stream.codec_context
    if cc is None:
        info.problems.append(
            f"unsupported codec: this FFmpeg ({av.__name__} {av.__version__}) has no decoder for "
            f"the {stream.type} stream: {_expected(info.kind)}"
        )
        return
    info.codec_id = cc.codec.name
    info.codec = _codec_label(cc.codec.name, cc.codec_tag)
    if info.kind == "image" and info.codec_id == "mjpeg":
        info.codec = "JPEG"
    if cc.codec.name == "hap":
        flavour = _HAP_FLAVOURS.get(cc.codec_tag)
        info.alpha = flavour[1] if flavour else False
    info.pixel_format = cc.pix_fmt
    info.width, info.height = cc.width or None, cc.height or None
    if info.pixel_format:
        fmt = av.VideoFormat(info.pixel_format)
        info.alpha = info.alpha or any(c.is_alpha for c in fmt.components)
    if not info.width or not info.height:
        what = "image" if info.kind == "image" else "video stream"
        info.problems.append(
            f"corrupt or truncated {what}: no picture size can be read: {_expected(info.kind)}"
        )
        return
    w, h = info.width, info.height
    if max(w, h) > limits.max_texture_size:
        info.problems.append(
            f"{w}×{h} is larger than the GPU texture limit {limits.max_texture_size}: it will be "
            f"scaled down; deliver at most {limits.max_texture_size} px a side"
        )
    if info.pixel_format and info.pixel_format.startswith(("yuv420", "yuvj420", "nv12")):
        if w % 2 or h % 2:
            info.advise(
                f"odd size {w}×{h} for 4:2:0 chroma: many encoders and players refuse or crop "
                "it; deliver even sizes"
            )
    if info.codec_id == "hap" and (w % 4 or h % 4):
        info.notes.append(f"HAP size {w}×{h} is not a multiple of 4: edges are padded blocks")
    if info.kind == "video":
        info.colour = _colour(cc, info.pixel_format or "", h)
        if info.colour.guessed and info.colour.matrix != "RGB":
            info.notes.append(_untagged_note(info.colour.matrix, h))
        if info.colour.matrix not in (*_MATRICES_PLAYED, "RGB"):
            info.advise(
                f"{info.colour.matrix} colour matrix: the renderer converts BT.709 and BT.601 "
                "only, colours will be off; deliver BT.709"
            )
        if cc.color_trc in _HDR_TRANSFERS:
            info.advise(
                f"HDR transfer ({_TRANSFER_NAMES[cc.color_trc]}): shown as SDR without tone "
                "mapping, colours will be wrong; deliver SDR BT.709"
            )


def _colour(cc: Any, pix_fmt: str, height: int) -> Colour:
    fmt = av.VideoFormat(pix_fmt) if pix_fmt else None
    transfer = _TRANSFER_NAMES.get(cc.color_trc)
    if fmt is not None and (fmt.is_rgb or pix_fmt.startswith(("gray", "pal", "ya"))):
        return Colour("RGB", "full", transfer)
    if cc.color_range == _AVCOL_RANGE_JPEG or pix_fmt.startswith("yuvj"):
        colour_range = "full"
    else:
        colour_range = "limited"
    matrix = _MATRIX_NAMES.get(cc.colorspace)
    if matrix is None or matrix == "RGB":
        return Colour(guess_matrix(height), colour_range, transfer, guessed=True)
    return Colour(matrix, colour_range, transfer)


def _untagged_note(matrix: str, height: int) -> str:
    why = "HD, ≥ 720 lines" if height >= HD_LINES else "SD, < 720 lines"
    tag = "bt709" if matrix == "BT.709" else "smpte170m"
    return (
        f"untagged: assuming {matrix} ({why}), as FFmpeg's players do. If the clip was made "
        "with the other matrix its colours come out 8–9 levels off (skin tones, greens); "
        f"tag it when encoding (ffmpeg … -colorspace {tag} -color_primaries {tag} "
        f"-color_trc {tag})"
    )


def _video_timing(
    info: MediaInfo, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> None:
    tb = stream.time_base
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if rate and rate > 0:
        info.fps = float(rate)
    info.duration_s = _duration(container, stream)
    entries = _index(stream)
    if stream.frames and stream.frames > 0:
        info.frame_count = int(stream.frames)
    elif entries and len(entries) > 1 and all(not e.is_discard for e in entries[:10]):
        info.frame_count = len(entries)
    elif info.duration_s and info.fps:
        info.frame_count = round(info.duration_s * info.fps)

    # Timestamps of the first frames (the index where the container has one; else demuxed).
    if tb is None:
        return
    # Presentation times of the first frames, demuxed (an index holds decode times only,
    # uniform even when the frames are not); keyframes from the index where there is one.
    complete_index = bool(entries) and info.frame_count == len(entries)
    stamps, keys = _demux_head(container, stream, VFR_SCAN_PACKETS, VFR_SCAN_BYTES)
    if complete_index:
        keys = [e.timestamp for e in entries if e.is_keyframe]
    _check_vfr(info, stamps, tb)
    if len(keys) >= 2:
        info.keyframe_interval_s = float(max(b - a for a, b in itertools.pairwise(keys)) * tb)
    elif len(keys) == 1 and info.duration_s:
        info.keyframe_interval_s = info.duration_s
    if info.keyframe_interval_s and info.keyframe_interval_s > 2.0:
        info.notes.append(
            f"keyframes up to {info.keyframe_interval_s:.1f} s apart: seeking and GOTO into "
            "the clip decode that far; deliver a keyframe every 1–2 s"
        )
    _check_truncated(info, container, stream, entries if complete_index else [])


def _check_realtime(info: MediaInfo, limits: MachineLimits) -> None:
    """Flag a software-decoded clip whose pixel rate this machine's CPU cannot keep up with."""
    if info.codec_id in _GPU_FRIENDLY_CODECS or not (info.width and info.height and info.fps):
        return
    rate = info.width * info.height * info.fps
    if rate > limits.decode_px_per_s:
        info.advise(
            f"{info.resolution} at {info.fps:g} fps in {info.codec} is {rate / 1e6:.0f} Mpx/s "
            f"to decode on the CPU; this machine ({limits.cpu_count} cores) manages about "
            f"{limits.decode_px_per_s / 1e6:.0f}: unlikely to play in real time here. "
            "Deliver HAP / HAP Q (the GPU decompresses) or one smaller clip per output"
        )


def _check_vfr(info: MediaInfo, stamps: list[int], tb: Fraction) -> None:
    stamps = sorted(set(stamps))
    if len(stamps) < 3:
        return
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    spread_s = float((max(gaps) - min(gaps)) * tb)
    # CFR in a coarse time base alternates by one tick (33/34 ms): allow that.
    if spread_s > max(float(tb) * 1.5, 0.002):
        info.vfr = True
        info.advise(
            f"variable frame rate: frames {float(min(gaps) * tb) * 1000:.0f}–"
            f"{float(max(gaps) * tb) * 1000:.0f} ms apart; each frame is shown at its own "
            "time, but deliver constant frame rate so frames land evenly on the projector's "
            "refresh"
        )


def _check_truncated(
    info: MediaInfo,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    entries: list[Any],
) -> None:
    tb = stream.time_base
    origin = stream.start_time or 0
    if entries:
        missing = [e for e in entries if e.pos >= 0 and e.pos + e.size > info.size_bytes]
        if missing:
            stop_s = float((missing[0].timestamp - origin) * tb)
            info.problems.append(
                f"truncated: the container lists {len(entries)} frames "
                f"({_secs(info.duration_s)}) but the file ends after about {stop_s:.2f} s "
                f"({len(missing)} frames missing); copy it again"
            )
        return
    # No complete index: demux the last seconds and compare with the container's duration.
    if info.duration_s and info.fps:
        _check_tail(info, container, stream, info.duration_s, 2.0 / info.fps + 0.05, "frames")


def _check_tail(
    info: MediaInfo,
    container: av.container.InputContainer,
    stream: Any,
    duration_s: float,
    tolerance_s: float,
    what: str,
) -> None:
    """Demux the last seconds of ``stream``; a stream whose packets end more than
    ``tolerance_s`` before ``duration_s`` (what the container announces) is truncated."""
    tb = stream.time_base
    if tb is None:
        return
    origin = stream.start_time or 0
    target = origin + int((duration_s - 2.0) / tb) if duration_s > 2.0 else origin
    last = None
    try:
        container.seek(max(target, origin), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
                last = end if last is None else max(last, end)
    except av.FFmpegError:
        last = None
    _seek(container, stream, origin)
    if last is None:
        info.problems.append(
            f"truncated: no {what} in the last seconds of the {_secs(duration_s)} the "
            "container announces; copy it again"
        )
        return
    end_s = float((last - origin) * tb)
    if end_s < duration_s - tolerance_s:
        info.problems.append(
            f"truncated: the container says {_secs(duration_s)} but {what} stop at "
            f"{end_s:.2f} s; copy it again"
        )


def _audio_metadata(
    info: MediaInfo, container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> None:
    cc = stream.codec_context
    if cc is None:
        if info.kind == "audio":
            info.problems.append(
                "unsupported codec: this FFmpeg has no decoder for the audio stream: "
                + _expected("audio")
            )
        else:
            info.advise("unsupported audio codec: the clip's sound will not play")
        return
    info.audio_codec = _codec_label(cc.codec.name, "")
    info.audio_rate = cc.sample_rate or None
    info.audio_channels = cc.layout.nb_channels if cc.layout else None
    if info.kind == "audio":
        info.codec, info.codec_id = info.audio_codec, cc.codec.name
        info.duration_s = _duration(container, stream)


def _decode_check(
    info: MediaInfo, container: av.container.InputContainer, stream: Any, budget: int
) -> None:
    """Decode all of a small stream, or a few frames at start, middle and end of a large
    one, with FFmpeg's strictest error detection; corrupt data becomes a problem."""
    stream.codec_context.options = {"err_detect": "explode"}
    pixels = (info.width or 0) * (info.height or 0)
    frames = info.frame_count or 1
    tb = stream.time_base
    duration = info.duration_s or 0.0
    if stream.type == "audio" or pixels * frames <= budget or duration <= 0 or tb is None:
        # everything from the start (audio: a few seconds)
        points = [(None if stream.type == "audio" else stream.start_time or 0, 0.0)]
        limit = None if stream.type != "audio" else 400
    else:
        origin = stream.start_time or 0
        times = (0.0, duration * 0.5, max(duration - 1.0, 0.0))
        points = list(dict.fromkeys((origin + int(t / tb), t) for t in times))
        limit = 1 if pixels > 3840 * 2160 else SAMPLE_FRAMES  # 8K: one frame a point
    decoded = 0
    for seek_ts, at_s in points:
        try:
            if seek_ts is not None:
                _seek(container, stream, seek_ts)
            for _ in _decoded(container, stream, limit):
                decoded += 1
        except _CorruptError as exc:
            if info.kind == "image":
                info.problems.append(f"corrupt or truncated image ({exc}): {_expected('image')}")
            else:
                info.problems.append(f"corrupt {_unit(stream)} at about {exc.at_s:.2f} s: {exc}")
            return
        except av.FFmpegError as exc:
            where = f" near {at_s:.2f} s" if at_s else ""
            info.problems.append(f"cannot decode{where}: {_ffmpeg_reason(exc)}")
            return
    if decoded == 0 and stream.type == "video":
        info.problems.append(f"no decodable frames: {_expected(info.kind)}")


class _CorruptError(Exception):
    def __init__(self, at_s: float, reason: str) -> None:
        super().__init__(reason)
        self.at_s = at_s


def _decoded(
    container: av.container.InputContainer, stream: Any, limit: int | None
) -> Iterator[Any]:
    origin = stream.start_time or 0
    tb = stream.time_base or Fraction(1, 1)
    last_s = 0.0
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                last_s = max(float((packet.pts - origin) * tb), 0.0)
            for frame in packet.decode():
                if getattr(frame, "is_corrupt", False):
                    raise _CorruptError(last_s, "the decoder flagged the frame as corrupt")
                count += 1
                yield frame
                if limit is not None and count >= limit:
                    return
    except av.InvalidDataError as exc:
        raise _CorruptError(last_s, _ffmpeg_reason(exc)) from exc


# --- helpers ---------------------------------------------------------------------------


def _seek(container: av.container.InputContainer, stream: Any, ts: int) -> None:
    """Seek to the keyframe at or before ``ts``; streams that cannot seek stay where they
    are (an image, or a file not yet read)."""
    try:
        container.seek(ts, stream=stream, backward=True)
    except av.FFmpegError as exc:
        logger.debug("seek to %s failed: %s", ts, exc)


def _index(stream: Any) -> list[Any]:
    try:
        return list(stream.index_entries)
    except (AttributeError, av.FFmpegError):
        return []


def _demux_head(
    container: av.container.InputContainer, stream: Any, count: int, max_bytes: int
) -> tuple[list[int], list[int]]:
    """Presentation times of the first ``count`` packets (fewer past ``max_bytes`` of
    data, at least 8), and those of the keyframes among them; then back to the start."""
    stamps: list[int] = []
    keys: list[int] = []
    read = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            stamps.append(packet.pts)
            read += packet.size
            if packet.is_keyframe:
                keys.append(packet.pts)
            if len(stamps) >= count or (read > max_bytes and len(stamps) >= 8):
                break
        container.seek(stream.start_time or 0, stream=stream, backward=True)
    except av.FFmpegError:
        pass
    return stamps, keys


def _duration(container: av.container.InputContainer, stream: Any) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _codec_label(name: str, tag: str) -> str:
    if name == "hap":
        return _HAP_FLAVOURS.get(tag, ("Hap", False))[0]
    if name.startswith("mp3"):
        return "MP3"
    return _CODEC_LABELS.get(name, name)


def _expected(kind: str) -> str:
    return {
        "video": "expected a video file (MP4, MOV, MKV, … with a video stream)",
        "image": "expected an image file (PNG, JPEG, TIFF, WebP, …)",
        "audio": "expected an audio file (WAV, FLAC, MP3, AAC, Ogg, … with an audio stream)",
        "shader": "expected GLSL source",
    }.get(kind, "expected a media file")


def _unreadable(path: Path, kind: str, exc: BaseException) -> str:
    head = b""
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        pass
    what = "not a media file FFmpeg can read"
    if isinstance(exc, av.EOFError):
        what = "truncated: the file ends inside its header (copy it again)"
    elif head and _looks_like_text(head):
        what = "a text file, not media"
    elif head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        what = "an MP4/MOV that cannot be opened (truncated, or its index is missing)"
    return f"{what}: {_expected(kind)} ({_ffmpeg_reason(exc)})"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _ffmpeg_reason(exc: BaseException) -> str:
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc)


def _unit(stream: Any) -> str:
    return "audio" if stream.type == "audio" else "frame"


def _secs(value: float | None) -> str:
    return "?" if value is None or not math.isfinite(value) else f"{value:.2f} s"


def _png_has_transparency(path: Path) -> bool:
    """A PNG with an alpha channel (colour type 4 or 6) or a tRNS chunk."""
    try:
        with path.open("rb") as f:
            data = f.read(1 << 16)
    except OSError:
        return False
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 26:
        return False
    if data[25] in (4, 6):
        return True
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk = data[pos + 4 : pos + 8]
        if chunk == b"tRNS":
            return True
        if chunk == b"IDAT":
            return False
        pos += 12 + length
    return False
