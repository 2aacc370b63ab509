"""HAP video without decoding pictures on the CPU: packets in, compressed GPU textures out.

HAP (Vidvox; Hap, Hap Alpha, Hap Q, Hap Q Alpha, Hap R) stores every frame as DXT/BC
texture blocks that graphics hardware decompresses itself, wrapped in an optional Snappy
("second-stage") compression. This module owns the CPU half of playing it the way media
servers do:

* :class:`HapClip` demuxes the HAP packets of a file with PyAV (``container.demux``; no
  FFmpeg decoder is involved) and looks frames up by media time with exactly the same
  timing model as :class:`mapping.media.video.VideoClip` (it uses the same pure maths:
  frame ``i`` is shown from ``i / fps``, counted from the first packet). Every HAP frame is
  a keyframe, so a seek lands on the very packet wanted and nothing is decoded to reach it.
* :func:`parse_hap_frame` reads one packet (the HAP frame format, ``HapVideoDRAFT.md`` in
  github.com/Vidvox/hap) and undoes the second-stage compression (Snappy through
  ``cramjam``; chunked "decode instructions" frames chunk by chunk), leaving the texture
  blocks exactly as the GPU wants them: :class:`CompressedTexture`.

Frame format, as read here. A frame is one *section*: a 4-byte header (3-byte little-endian
size, 1-byte type) or, when the 3 size bytes are zero, an 8-byte header whose last 4 bytes
hold the size. The type's high nibble is the second-stage compressor (``0xA`` none, ``0xB``
Snappy, ``0xC`` decode instructions) and its low nibble the texture format (``0xB`` RGB
DXT1, ``0xE`` RGBA DXT5, ``0xF`` scaled YCoCg DXT5, ``0xC`` RGBA BC7, ``0x1`` alpha
RGTC1/BC4); type ``0x0D`` holds one or two such sections (Hap Q Alpha: YCoCg DXT5 + BC4
alpha). Decode instructions are a ``0x01`` container (``0x02`` per-chunk compressor table:
``0x0A`` none / ``0x0B`` Snappy, ``0x03`` chunk size table, ``0x04`` optional chunk offset
table, little-endian uint32s) followed by the chunked frame data.

Turning blocks into pixels is the GPU's job (:mod:`mapping.gl.compressed`, and the
``SOURCE_YCOCG`` mode of ``shaders/layer.glsl`` for Hap Q). Anything malformed raises
:class:`~mapping.media.errors.MediaError` naming the file and the frame.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.packet
import av.video
import cramjam

from mapping.media.errors import MediaError
from mapping.media.mediafile import MediaFile
from mapping.media.video import (
    _SLOT_EPSILON,
    FORWARD_DECODE_LIMIT_S,
    frame_index_at,
    frames_to_ticks,
    index_to_pts,
    pts_to_index,
)

logger = logging.getLogger(__name__)

EXPECTED_HAP = "expected a HAP video (MOV/AVI with Hap, Hap Alpha, Hap Q or Hap Q Alpha)"

# Texture formats, by the low nibble of a HAP section type.
_FORMAT_BY_NIBBLE = {0xB: "dxt1", 0xE: "dxt5", 0xF: "ycocg-dxt5", 0xC: "bc7", 0x1: "bc4"}
# Bytes per 4×4 block of each format.
BLOCK_BYTES = {"dxt1": 8, "dxt5": 16, "ycocg-dxt5": 16, "bc7": 16, "bc4": 8}
# Second-stage compressors, by the high nibble of a section type (and chunk table bytes).
_NONE, _SNAPPY, _COMPLEX = 0xA, 0xB, 0xC
_MULTIPLE_IMAGES = 0x0D
_DECODE_INSTRUCTIONS = 0x01
_CHUNK_COMPRESSORS, _CHUNK_SIZES, _CHUNK_OFFSETS = 0x02, 0x03, 0x04

# Human-readable flavour of each set of texture formats (the spec's names).
_FLAVOURS = {
    ("dxt1",): "Hap",
    ("dxt5",): "Hap Alpha",
    ("ycocg-dxt5",): "Hap Q",
    ("ycocg-dxt5", "bc4"): "Hap Q Alpha",
    ("bc4",): "Hap Alpha-Only",
    ("bc7",): "Hap R",
}


class NotHapError(MediaError):
    """The file is a readable video, but its video stream is not HAP."""


class HapFormatError(ValueError):
    """One HAP frame is malformed; the message says where and what was expected."""


@dataclass(frozen=True)
class CompressedTexture:
    """One picture's texture blocks, ready for ``glCompressedTexImage2D``.

    Attributes:
        format: ``"dxt1"`` (RGB DXT1/BC1), ``"dxt5"`` (RGBA DXT5/BC3), ``"ycocg-dxt5"``
            (scaled YCoCg in DXT5, Hap Q: colour needs the shader's conversion), ``"bc4"``
            (one channel RGTC1, Hap Q Alpha's alpha) or ``"bc7"`` (RGBA BPTC).
        size_px: ``(width, height)`` of the picture. The blocks cover it rounded up to
            whole 4×4 blocks (:attr:`padded_size_px`), rows of blocks top first.
        data: ``block_count × block bytes`` of texture data; treat as read-only.
    """

    format: str
    size_px: tuple[int, int]
    data: bytes | bytearray

    @property
    def padded_size_px(self) -> tuple[int, int]:
        """The picture size rounded up to whole 4×4 blocks."""
        return (_ceil4(self.size_px[0]), _ceil4(self.size_px[1]))

    @property
    def has_alpha(self) -> bool:
        return self.format in ("dxt5", "bc7", "bc4")


@dataclass(frozen=True)
class HapFrame:
    """One frame of a HAP clip: where it sits in time and its textures.

    ``textures`` holds one texture, or two for Hap Q Alpha: the colour (``ycocg-dxt5``)
    first, then the alpha (``bc4``).
    """

    index: int
    pts_s: float
    textures: tuple[CompressedTexture, ...]


def _ceil4(n: int) -> int:
    return (n + 3) // 4 * 4


def texture_bytes(fmt: str, size_px: tuple[int, int]) -> int:
    """Bytes of texture data for a picture of ``size_px`` in ``fmt`` (whole 4×4 blocks)."""
    return (_ceil4(size_px[0]) // 4) * (_ceil4(size_px[1]) // 4) * BLOCK_BYTES[fmt]


def flavour_name(formats: tuple[str, ...]) -> str:
    """The HAP flavour a frame's texture formats make (``"Hap Q"``, …)."""
    return _FLAVOURS.get(formats, "+".join(formats))


# ---------------------------------------------------------------------------- frame format


def _section(buf: memoryview, offset: int, end: int) -> tuple[int, int, int]:
    """``(type, data_start, data_end)`` of the section whose header starts at ``offset``."""
    if end - offset < 4:
        raise HapFormatError(
            f"truncated: a section header needs 4 bytes at byte {offset}, {end - offset} left"
        )
    size = buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16)
    kind = buf[offset + 3]
    start = offset + 4
    if size == 0:
        if end - start < 4:
            raise HapFormatError(
                f"truncated: section 0x{kind:02X} at byte {offset} has an 8-byte header, "
                f"{end - offset} bytes left"
            )
        size = int.from_bytes(buf[start : start + 4], "little")
        start += 4
    if size > end - start:
        raise HapFormatError(
            f"section 0x{kind:02X} at byte {offset} says {size} bytes, only "
            f"{end - start} follow (truncated frame or wrong section size)"
        )
    return kind, start, start + size


def _sections(buf: memoryview, start: int, end: int) -> list[tuple[int, int, int]]:
    """Every section between ``start`` and ``end`` (they must tile the range exactly)."""
    found = []
    offset = start
    while offset < end:
        kind, data_start, data_end = _section(buf, offset, end)
        found.append((kind, data_start, data_end))
        offset = data_end
    return found


def _uint32_table(buf: memoryview, start: int, end: int, what: str) -> list[int]:
    if (end - start) % 4:
        raise HapFormatError(f"{what} is {end - start} bytes, not a whole number of uint32s")
    raw = bytes(buf[start:end])
    return [int.from_bytes(raw[i : i + 4], "little") for i in range(0, len(raw), 4)]


def _snappy_length(chunk: memoryview, what: str) -> int:
    try:
        return int(cramjam.snappy.decompress_raw_len(chunk))
    except cramjam.DecompressionError as exc:
        raise HapFormatError(f"bad Snappy data in {what}: {exc}") from exc


def _decompress_into(chunk: memoryview, out: memoryview, what: str) -> None:
    try:
        written = cramjam.snappy.decompress_raw_into(chunk, out)
    except cramjam.DecompressionError as exc:
        raise HapFormatError(f"bad Snappy data in {what}: {exc}") from exc
    if written != len(out):
        raise HapFormatError(f"{what} decompressed to {written} bytes, expected {len(out)}")


def _texture(
    buf: memoryview, kind: int, start: int, end: int, size_px: tuple[int, int]
) -> CompressedTexture:
    """The texture of one image section (type ``kind``, data ``buf[start:end]``)."""
    compressor, nibble = kind >> 4, kind & 0x0F
    fmt = _FORMAT_BY_NIBBLE.get(nibble)
    if fmt is None or compressor not in (_NONE, _SNAPPY, _COMPLEX):
        raise HapFormatError(f"unknown HAP section type 0x{kind:02X} (not a texture format)")
    expected = texture_bytes(fmt, size_px)
    where = f"the {fmt} texture"
    if compressor == _NONE:
        if end - start != expected:
            raise HapFormatError(
                f"{where} is {end - start} bytes, expected {expected} for "
                f"{size_px[0]}x{size_px[1]} px"
            )
        return CompressedTexture(fmt, size_px, bytes(buf[start:end]))
    if compressor == _SNAPPY:
        chunks = [(_SNAPPY, start, end)]
    else:
        chunks = _chunks(buf, start, end)
    # Output sizes first, so a wrong size is reported before anything is written.
    out_sizes = [
        _snappy_length(buf[a:b], f"{where}, chunk {i}") if c == _SNAPPY else b - a
        for i, (c, a, b) in enumerate(chunks)
    ]
    if sum(out_sizes) != expected:
        raise HapFormatError(
            f"{where} decompresses to {sum(out_sizes)} bytes in {len(chunks)} chunk(s), "
            f"expected {expected} for {size_px[0]}x{size_px[1]} px"
        )
    out = bytearray(expected)
    view = memoryview(out)
    position = 0
    for i, ((c, a, b), n) in enumerate(zip(chunks, out_sizes, strict=True)):
        if c == _SNAPPY:
            _decompress_into(buf[a:b], view[position : position + n], f"{where}, chunk {i}")
        else:
            view[position : position + n] = buf[a:b]
        position += n
    return CompressedTexture(fmt, size_px, out)


def _chunks(buf: memoryview, start: int, end: int) -> list[tuple[int, int, int]]:
    """``(compressor, start, end)`` of each chunk of a decode-instructions section."""
    kind, inst_start, inst_end = _section(buf, start, end)
    if kind != _DECODE_INSTRUCTIONS:
        raise HapFormatError(
            f"expected a decode instructions container (0x01), found section 0x{kind:02X}"
        )
    compressors: list[int] | None = None
    sizes: list[int] | None = None
    offsets: list[int] | None = None
    for sub, a, b in _sections(buf, inst_start, inst_end):
        if sub == _CHUNK_COMPRESSORS:
            compressors = list(bytes(buf[a:b]))
        elif sub == _CHUNK_SIZES:
            sizes = _uint32_table(buf, a, b, "the chunk size table")
        elif sub == _CHUNK_OFFSETS:
            offsets = _uint32_table(buf, a, b, "the chunk offset table")
        else:
            logger.debug("HAP: ignoring decode instruction section 0x%02X", sub)
    if compressors is None or sizes is None:
        raise HapFormatError(
            "decode instructions lack a chunk compressor table (0x02) or chunk size table (0x03)"
        )
    if len(compressors) != len(sizes) or (offsets is not None and len(offsets) != len(sizes)):
        raise HapFormatError(
            f"chunk tables disagree: {len(compressors)} compressors, {len(sizes)} sizes"
            + ("" if offsets is None else f", {len(offsets)} offsets")
        )
    if not sizes:
        raise HapFormatError("decode instructions list no chunks")
    if offsets is None:
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    data_start, data_length = inst_end, end - inst_end
    chunks = []
    for i, (c, size, offset) in enumerate(zip(compressors, sizes, offsets, strict=True)):
        if c not in (_NONE, _SNAPPY):
            raise HapFormatError(f"chunk {i} has unknown compressor 0x{c:02X}")
        if offset + size > data_length:
            raise HapFormatError(
                f"chunk {i} spans bytes {offset}..{offset + size} of the frame data, "
                f"which has {data_length} (truncated frame or wrong chunk size)"
            )
        chunks.append((c, data_start + offset, data_start + offset + size))
    return chunks


def parse_hap_frame(
    packet: bytes | bytearray | memoryview, size_px: tuple[int, int]
) -> tuple[CompressedTexture, ...]:
    """The textures of one HAP frame (a demuxed packet) of a ``size_px`` picture.

    Undoes Snappy (whole or per chunk); never decodes texture blocks. Returns one texture,
    or two for Hap Q Alpha (colour first, then alpha).

    Raises:
        HapFormatError: the frame is truncated, a section size is wrong, the Snappy data is
            corrupt, or a section type is unknown; the message says which.
    """
    buf = memoryview(packet).cast("B")
    kind, start, end = _section(buf, 0, len(buf))
    if end != len(buf):
        logger.debug("HAP: %d bytes after the frame's section ignored", len(buf) - end)
    if kind != _MULTIPLE_IMAGES:
        return (_texture(buf, kind, start, end, size_px),)
    images = _sections(buf, start, end)
    if not 1 <= len(images) <= 2:
        raise HapFormatError(f"a multiple-image section holds {len(images)} images, expected 1-2")
    textures = tuple(_texture(buf, k, a, b, size_px) for k, a, b in images)
    formats = sorted((t.format for t in textures), key=lambda f: f == "bc4")
    if len(textures) == 2 and formats != ["ycocg-dxt5", "bc4"]:
        raise HapFormatError(
            f"images {' + '.join(t.format for t in textures)} cannot be combined "
            "(HAP allows scaled YCoCg DXT5 + BC4 alpha)"
        )
    return tuple(sorted(textures, key=lambda t: t.format == "bc4"))


# ---------------------------------------------------------------------------- the clip


def is_hap_file(path: Path | str) -> bool:
    """Whether ``path`` opens as media whose first video stream is HAP (no error raised:
    a file that does not open is simply not HAP; its own loader will say why)."""
    try:
        with av.open(str(path), mode="r") as container:
            streams = container.streams.video
            context = streams[0].codec_context if streams else None  # None: unknown codec
            return context is not None and context.name == "hap"
    except (av.FFmpegError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class _Packet:
    index: int
    pts: int
    data: bytes


class HapClip(MediaFile):
    """A HAP file whose frames (compressed textures) are looked up by media time.

    Same timing API as :class:`~mapping.media.video.VideoClip`: :meth:`index_at`,
    :meth:`frame_at`, :meth:`frame_at_index`, :attr:`size_px`, :attr:`fps`,
    :attr:`frame_count`, :attr:`duration_s`, :meth:`close`.

    Raises:
        MediaError: missing file, not a media file, no video stream, a stream that is not
            HAP, or a first frame that does not parse. Later frames that do not parse raise
            ``MediaError`` naming the file and the frame when asked for.
    """

    def __init__(
        self, path: Path | str, *, in_s: float | None = None, out_s: float | None = None
    ) -> None:
        self._window_request = (in_s, out_s)
        self._window: tuple[float, float] | None = None
        self._open(
            path,
            EXPECTED_HAP,
            failure=lambda p, exc: f"not a readable media file ({EXPECTED_HAP}): {exc}",
        )
        self._start(self._init_stream)

    def _init_stream(self) -> None:
        if not self._container.streams.video:
            raise MediaError(self._path, f"no video stream ({EXPECTED_HAP})")
        stream = self._container.streams.video[0]
        codec = stream.codec_context.name
        if codec != "hap":
            raise NotHapError(self._path, f"video codec is {codec!r}, not HAP ({EXPECTED_HAP})")
        self._stream: av.video.VideoStream = stream
        if stream.time_base is None:
            raise MediaError(self._path, f"video stream has no time base ({EXPECTED_HAP})")
        self._time_base: Fraction = stream.time_base
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise MediaError(self._path, f"video stream has no frame rate ({EXPECTED_HAP})")
        self._rate = Fraction(rate)
        self._size_px = (int(stream.codec_context.width), int(stream.codec_context.height))
        if self._size_px[0] <= 0 or self._size_px[1] <= 0:
            raise MediaError(self._path, f"video stream has no picture size ({EXPECTED_HAP})")
        self.codec_tag: str = stream.codec_tag  # "Hap1", "Hap5", "HapY", "HapM", …

        # Internal counters, read by tests and diagnostics.
        self.demuxed_packet_count = 0
        self.parsed_frame_count = 0
        self.seek_count = 0

        self._packets = self._container.demux(self._stream)
        self._head: _Packet | None = None
        self._eof = False
        self._current: HapFrame | None = None
        self.corrupt_frame_count = 0  # frames that failed to parse (skipped, last one kept)

        self._first_pts = 0
        first = self._pull()
        if first is None:
            raise MediaError(self._path, f"video stream has no frames ({EXPECTED_HAP})")
        self._first_pts = first.pts
        self._head = _Packet(0, first.pts, first.data)

        if stream.frames and stream.frames > 0:
            frame_count = int(stream.frames)
        else:
            if stream.duration is not None:
                duration_s = float(stream.duration * self._time_base)
            elif self._container.duration is not None:
                duration_s = self._container.duration / av.time_base
            else:
                duration_s = 0.0
            frame_count = round(duration_s * self._rate)
        self._frame_count = max(1, frame_count)
        self._forward_limit_frames = max(1, math.ceil(FORWARD_DECODE_LIMIT_S * self._rate))
        self._window_s()  # in and out points that leave no frame: refused now

        # The first frame fixes the texture formats the clip keeps throughout.
        textures = self._parse(self._head)
        self.texture_formats: tuple[str, ...] = tuple(t.format for t in textures)
        self._current = HapFrame(0, 0.0, textures)
        logger.debug(
            "%s: opened %s (%s) %dx%d, %.3f fps, %d frames",
            self._path,
            self.flavour,
            self.codec_tag,
            *self._size_px,
            self.fps,
            self._frame_count,
        )

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        return self._path

    @property
    def size_px(self) -> tuple[int, int]:
        """``(width, height)`` of the pictures."""
        return self._size_px

    @property
    def fps(self) -> float:
        return float(self._rate)

    @property
    def frame_count(self) -> int:
        return self._frame_count

    @property
    def duration_s(self) -> float:
        """``frame_count / fps`` (the end of the last frame's display interval), or the
        span between the in and out points."""
        window = self._window_s()
        if window is not None:
            return window[1] - window[0]
        return float(self._frame_count / self._rate)

    @property
    def flavour(self) -> str:
        """``"Hap"``, ``"Hap Alpha"``, ``"Hap Q"``, ``"Hap Q Alpha"``, …"""
        return flavour_name(self.texture_formats)

    @property
    def has_alpha(self) -> bool:
        return any(t in ("dxt5", "bc4", "bc7") for t in self.texture_formats)

    # ------------------------------------------------------------------ lookup

    def index_at(self, media_time_s: float, loop: bool = True) -> int:
        """The frame index shown at ``media_time_s`` (wrapped if ``loop``, else clamped).

        With in and out points (as ``VideoClip``'s): media time 0 is the in point, the clip
        lasts ``out - in``, loops back to the in point and, played once, holds the last
        frame that starts before the out point.
        """
        window = self._window_s()
        if window is None:
            return frame_index_at(media_time_s, self._rate, self._frame_count, loop)
        if not math.isfinite(media_time_s):
            raise ValueError(f"media_time_s must be finite, got {media_time_s!r}")
        w_in, w_out = window
        span = w_out - w_in
        t = media_time_s % span if loop else min(max(media_time_s, 0.0), span)
        rate = float(self._rate)
        first = math.floor(w_in * rate + _SLOT_EPSILON)
        last = min(math.ceil(w_out * rate - _SLOT_EPSILON) - 1, self._frame_count - 1)
        index = math.floor((w_in + t) * rate + _SLOT_EPSILON)
        return min(max(index, first), max(first, last))

    def _window_s(self) -> tuple[float, float] | None:
        """The in and out points in seconds of the file (``None``: the whole clip)."""
        if self._window is None and self._window_request != (None, None):
            whole = float(self._frame_count / self._rate)
            w_in = 0.0 if self._window_request[0] is None else float(self._window_request[0])
            w_out = whole if self._window_request[1] is None else float(self._window_request[1])
            w_out = min(w_out, whole)
            if not (math.isfinite(w_in) and math.isfinite(w_out)) or not 0.0 <= w_in < w_out:
                raise MediaError(
                    self._path,
                    f"in point {w_in:g} s and out point {w_out:g} s leave no frame "
                    f"(the clip lasts {whole:g} s)",
                )
            self._window = (w_in, w_out)
        return self._window

    def frame_at(self, media_time_s: float, loop: bool = True) -> HapFrame:
        """The frame whose display interval contains ``media_time_s`` (as ``VideoClip``)."""
        return self.frame_at_index(self.index_at(media_time_s, loop))

    def frame_at_index(self, index: int) -> HapFrame:
        """Frame ``index`` (0-based, clamped to the clip), Snappy undone."""
        self._check_open()
        index = min(max(int(index), 0), self._frame_count - 1)
        if self._current is not None and self._current.index == index:
            return self._current
        head = self._head
        if (
            head is not None
            and head.index <= index
            and index - head.index <= self._forward_limit_frames
            and not (self._eof and head.index < index)
        ):
            packet = self._forward_to(index)
        else:
            packet = self._seek_to(index)
        if packet.index != index:
            logger.debug("%s: frame %d not in stream, showing %d", self._path, index, packet.index)
        if self._current is not None and self._current.index == packet.index:
            return self._current
        pts_s = float((packet.pts - self._first_pts) * self._time_base)
        try:
            textures = self._parse(packet)
        except MediaError as exc:
            if self._current is None:
                raise
            # a corrupt frame mid-clip: skipped and counted, the last good frame stays up
            self.corrupt_frame_count += 1
            logger.warning("%s — showing frame %d instead", exc, self._current.index)
            return self._current
        frame = HapFrame(packet.index, pts_s, textures)
        self._current = frame
        return frame

    def _parse(self, packet: _Packet) -> tuple[CompressedTexture, ...]:
        try:
            textures = parse_hap_frame(packet.data, self._size_px)
        except HapFormatError as exc:
            raise MediaError(self._path, f"HAP frame {packet.index}: {exc}") from exc
        formats = tuple(t.format for t in textures)
        if self._current is not None and formats != self.texture_formats:
            raise MediaError(
                self._path,
                f"HAP frame {packet.index} is {flavour_name(formats)}, the clip started as "
                f"{self.flavour} (every frame of a clip must use the same texture format)",
            )
        self.parsed_frame_count += 1
        return textures

    # ------------------------------------------------------------------ demuxing

    def _pull(self) -> _Packet | None:
        """The next packet with data and a timestamp, or None at the end of the stream."""
        while True:
            try:
                packet: av.packet.Packet = next(self._packets)
            except StopIteration:
                self._eof = True
                return None
            except av.FFmpegError as exc:
                raise MediaError(self._path, f"reading the file failed: {exc}") from exc
            if packet.size == 0:  # the demuxer's end-of-stream flush packet
                continue
            if packet.pts is None:
                logger.warning("%s: skipping a HAP packet without timestamp", self._path)
                continue
            self.demuxed_packet_count += 1
            pts = int(packet.pts)
            found = _Packet(pts_to_index(pts, self._first_pts, self._time_base, self._rate), pts,
                            bytes(packet))  # fmt: skip
            self._head = found
            return found

    def _forward_to(self, index: int) -> _Packet:
        """Read packets forward from the head to frame ``index`` (head.index <= index)."""
        best = self._head
        while best is None or best.index < index:
            nxt = self._pull()
            if nxt is None:
                if best is None:
                    raise MediaError(self._path, f"no HAP frame at or before frame {index}")
                if best.index < self._frame_count - 1:
                    logger.warning(
                        "%s: stream ends at frame %d, header said %d frames",
                        self._path,
                        best.index,
                        self._frame_count,
                    )
                    self._frame_count = best.index + 1
                return best
            if nxt.index > index:  # gap: keep showing the previous frame
                return best if best is not None else nxt
            best = nxt
        return best

    def _seek_to(self, index: int) -> _Packet:
        """Seek to frame ``index``'s packet (every HAP frame is a keyframe)."""
        target = index_to_pts(index, self._first_pts, self._time_base, self._rate)
        back_frames = 0
        while True:
            ts = target - frames_to_ticks(back_frames, self._time_base, self._rate)
            at_start = ts <= self._first_pts
            try:
                self._container.seek(
                    max(ts, self._first_pts), backward=True, any_frame=False, stream=self._stream
                )
            except av.FFmpegError as exc:
                raise MediaError(self._path, f"seek to frame {index} failed: {exc}") from exc
            self.seek_count += 1
            self._packets = self._container.demux(self._stream)
            self._head = None
            self._eof = False
            first = self._pull()
            if first is None:
                if at_start:
                    raise MediaError(self._path, "no HAP frame after seeking to the start")
            elif first.index <= index or at_start:
                break
            back_frames = max(self._forward_limit_frames, 2 * back_frames)
        if first.index > index:
            return first
        return self._forward_to(index)

    # ------------------------------------------------------------------ lifetime

    def _release(self) -> None:
        self._head = None
        self._current = None

    def __repr__(self) -> str:
        if not hasattr(self, "texture_formats"):  # failed to open
            return f"HapClip({str(self._path)!r})"
        return (
            f"HapClip({str(self._path)!r}, {self.flavour}, {self._size_px[0]}x"
            f"{self._size_px[1]}, {self.fps:g} fps, {self._frame_count} frames)"
        )
