"""OSC wire format, pure bytes ↔ objects: no sockets, no show, no threads.

This module owns:

* :func:`parse_packet` — one OSC packet (a message or a bundle, nested bundles included) from
  bytes, strictly: every malformed packet raises :class:`OscError` with a short reason, never
  anything else, and nesting is bounded. Type tags ``i f s S b h d t c m r T F N I`` are
  understood; arrays (``[ ]``) are refused.
* :func:`encode_message` and :func:`encode_bundle` — the reverse, for replies, feedback and
  tests.
* Time tags: 64-bit NTP fixed point, :data:`IMMEDIATELY` (= 1) meaning "now";
  :func:`ntp_to_unix` and :func:`unix_to_ntp`.
* Stream framing for OSC over TCP: OSC 1.0 (a 32-bit big-endian length before each packet,
  :func:`frame_length`, :class:`LengthPrefixDecoder`) and OSC 1.1 SLIP (RFC 1055, END byte
  before and after each packet, :func:`slip_encode`, :class:`SlipDecoder`). The decoders are
  incremental: feed them whatever ``recv`` returned, get back the complete packets.
* OSC 1.0 address patterns: ``?``, ``*``, ``[abc]``, ``[a-z]``, ``[!a-z]``, ``{foo,bar}``,
  compiled once to a regular expression (:func:`compile_pattern`, :func:`match_pattern`).

python-osc was the model (and is what the tests and the benchmark compare against); this
codec is its own so that every failure is one exception type, NaN/infinity and oversized
input are seen before anything is built, and raw time tags survive for exact scheduling.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

IMMEDIATELY = 1
"""The time tag that means "as soon as possible" (OSC 1.0: 63 zero bits, then a one)."""

BUNDLE_TAG = b"#bundle\x00"
NTP_EPOCH_OFFSET_S = 2_208_988_800
"""Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01)."""
MAX_BUNDLE_DEPTH = 8
PATTERN_CHARS = frozenset("?*[]{}")

_INT = struct.Struct(">i")
_UINT = struct.Struct(">I")
_FLOAT = struct.Struct(">f")
_LONG = struct.Struct(">q")
_ULONG = struct.Struct(">Q")
_DOUBLE = struct.Struct(">d")


class OscError(ValueError):
    """A packet, frame or pattern that is not valid OSC; the message says why."""


@dataclass(frozen=True)
class Message:
    """One OSC message: an address (or address pattern), its type tags and its arguments."""

    address: str
    args: tuple[Any, ...] = ()
    tags: str = ""


@dataclass(frozen=True)
class Bundle:
    """An OSC bundle: a raw NTP time tag and its elements (messages or bundles)."""

    timetag: int
    elements: tuple[Message | Bundle, ...] = ()


@dataclass(frozen=True)
class Midi:
    """The ``m`` type: a 4-byte MIDI message (port, status, data1, data2)."""

    data: bytes


# -- time tags


def ntp_to_unix(timetag: int) -> float | None:
    """A time tag as Unix seconds, or None for :data:`IMMEDIATELY`."""
    if timetag == IMMEDIATELY:
        return None
    return (timetag >> 32) - NTP_EPOCH_OFFSET_S + (timetag & 0xFFFF_FFFF) / 2**32


def unix_to_ntp(unix_s: float) -> int:
    """Unix seconds as a time tag (clamped to the representable range)."""
    seconds = unix_s + NTP_EPOCH_OFFSET_S
    whole = math.floor(seconds)
    fraction = min(0xFFFF_FFFF, round((seconds - whole) * 2**32))
    return max(2, min(0xFFFF_FFFF_FFFF_FFFF, (int(whole) << 32) | fraction))


# -- parsing


def _string(data: bytes, index: int) -> tuple[str, int]:
    end = data.find(b"\x00", index)
    if end < 0:
        raise OscError("string without its terminating zero byte")
    try:
        text = data[index:end].decode("utf-8")
    except UnicodeDecodeError:
        raise OscError("string is not valid UTF-8") from None
    after = (end + 4) & ~3
    if after > len(data):
        raise OscError("string padding runs past the end of the packet")
    return text, after


def _blob(data: bytes, index: int) -> tuple[bytes, int]:
    if index + 4 > len(data):
        raise OscError("blob size runs past the end of the packet")
    (size,) = _INT.unpack_from(data, index)
    if size < 0 or index + 4 + size > len(data):
        raise OscError(f"blob of {size} bytes runs past the end of the packet")
    start = index + 4
    return data[start : start + size], (start + size + 3) & ~3


def _fixed(data: bytes, index: int, fmt: struct.Struct) -> tuple[Any, int]:
    if index + fmt.size > len(data):
        raise OscError("argument runs past the end of the packet")
    return fmt.unpack_from(data, index)[0], index + fmt.size


def parse_message(data: bytes) -> Message:
    """One OSC message from bytes; :class:`OscError` if malformed."""
    if len(data) % 4:
        raise OscError(f"packet size {len(data)} is not a multiple of 4")
    address, index = _string(data, 0)
    if not address.startswith("/"):
        raise OscError(f"address {address[:40]!r} does not start with '/'")
    if index >= len(data):
        return Message(address)  # OSC 1.0: old senders may omit the type tag string
    tags, index = _string(data, index)
    if not tags.startswith(","):
        raise OscError("type tag string does not start with ','")
    tags = tags[1:]
    args: list[Any] = []
    for tag in tags:
        value: Any
        if tag == "i":
            value, index = _fixed(data, index, _INT)
        elif tag == "f":
            value, index = _fixed(data, index, _FLOAT)
        elif tag in "sS":
            value, index = _string(data, index)
        elif tag == "b":
            value, index = _blob(data, index)
        elif tag == "h":
            value, index = _fixed(data, index, _LONG)
        elif tag == "d":
            value, index = _fixed(data, index, _DOUBLE)
        elif tag == "t":
            value, index = _fixed(data, index, _ULONG)
        elif tag in "cr":
            code, index = _fixed(data, index, _UINT)
            if tag == "c":
                try:
                    value = chr(code)
                except (ValueError, OverflowError):
                    raise OscError(f"char argument {code} is not a character") from None
            else:
                value = code
        elif tag == "m":
            if index + 4 > len(data):
                raise OscError("argument runs past the end of the packet")
            value, index = Midi(data[index : index + 4]), index + 4
        elif tag == "T":
            value = True
        elif tag == "F":
            value = False
        elif tag == "N":
            value = None
        elif tag == "I":
            value = math.inf
        elif tag in "[]":
            raise OscError("array arguments ([ ]) are not supported")
        else:
            raise OscError(f"unknown type tag {tag!r}")
        args.append(value)
    if index != len(data):
        raise OscError(f"{len(data) - index} byte(s) after the last argument")
    return Message(address, tuple(args), tags)


def _parse_bundle(data: bytes, depth: int) -> Bundle:
    if depth >= MAX_BUNDLE_DEPTH:
        raise OscError(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    if len(data) < 16:
        raise OscError("bundle shorter than its header")
    (timetag,) = _ULONG.unpack_from(data, 8)
    index = 16
    elements: list[Message | Bundle] = []
    while index < len(data):
        if index + 4 > len(data):
            raise OscError("bundle element size runs past the end of the packet")
        (size,) = _INT.unpack_from(data, index)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise OscError(f"bundle element of {size} bytes does not fit the packet")
        elements.append(_parse(data[index : index + size], depth + 1))
        index += size
    return Bundle(timetag, tuple(elements))


def _parse(data: bytes, depth: int) -> Message | Bundle:
    if data.startswith(BUNDLE_TAG):
        return _parse_bundle(data, depth)
    if data[:1] != b"/":
        raise OscError("neither a message (starts with '/') nor a bundle ('#bundle')")
    return parse_message(data)


def parse_packet(data: bytes) -> Message | Bundle:
    """One OSC packet (message or bundle) from bytes; :class:`OscError` if malformed."""
    if not data:
        raise OscError("empty packet")
    return _parse(bytes(data), 0)


def messages(packet: Message | Bundle, timetag: int = IMMEDIATELY) -> Iterable[tuple[int, Message]]:
    """Every message of a packet with the time tag it takes effect at (nested bundles: the
    later of the outer and inner tags, as an inner bundle may not fire before its outer)."""
    if isinstance(packet, Message):
        yield timetag, packet
        return
    if packet.timetag == IMMEDIATELY:
        tag = timetag
    elif timetag == IMMEDIATELY:
        tag = packet.timetag
    else:
        tag = max(timetag, packet.timetag)
    for element in packet.elements:
        yield from messages(element, tag)


# -- building


def _pad_string(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\x00"
    return raw + b"\x00" * (-len(raw) % 4)


def encode_message(address: str, *args: Any) -> bytes:
    """An OSC message; arguments typed from Python: int → i (h past 32 bits), float → f,
    str → s, bytes → b, bool → T/F, None → N, :class:`Midi` → m."""
    tags = [","]
    body: list[bytes] = []
    for arg in args:
        if arg is True:
            tags.append("T")
        elif arg is False:
            tags.append("F")
        elif arg is None:
            tags.append("N")
        elif isinstance(arg, int):
            if -(2**31) <= arg < 2**31:
                tags.append("i")
                body.append(_INT.pack(arg))
            else:
                tags.append("h")
                body.append(_LONG.pack(arg))
        elif isinstance(arg, float):
            tags.append("f")
            body.append(_FLOAT.pack(arg))
        elif isinstance(arg, str):
            tags.append("s")
            body.append(_pad_string(arg))
        elif isinstance(arg, bytes | bytearray):
            tags.append("b")
            body.append(_INT.pack(len(arg)) + bytes(arg) + b"\x00" * (-len(arg) % 4))
        elif isinstance(arg, Midi):
            tags.append("m")
            body.append(bytes(arg.data[:4]).ljust(4, b"\x00"))
        else:
            raise TypeError(f"cannot send {type(arg).__name__} in OSC")
    return _pad_string(address) + _pad_string("".join(tags)) + b"".join(body)


def encode_bundle(timetag: int, elements: Sequence[bytes]) -> bytes:
    """A bundle of already encoded messages or bundles."""
    parts = [BUNDLE_TAG, _ULONG.pack(timetag)]
    for element in elements:
        parts.append(_INT.pack(len(element)))
        parts.append(element)
    return b"".join(parts)


# -- stream framing (OSC over TCP)

SLIP_END = 0xC0
SLIP_ESC = 0xDB
SLIP_ESC_END = 0xDC
SLIP_ESC_ESC = 0xDD
_END = bytes([SLIP_END])


def slip_encode(packet: bytes) -> bytes:
    """OSC 1.1 framing: END, the escaped packet, END."""
    body = packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    return _END + body + _END


def frame_length(packet: bytes) -> bytes:
    """OSC 1.0 stream framing: a 32-bit big-endian size, then the packet."""
    return _INT.pack(len(packet)) + packet


class SlipDecoder:
    """Incremental SLIP decoder. A frame longer than ``max_size`` is dropped whole and
    counted in :attr:`oversized`; a bad escape drops its frame (counted in :attr:`bad`)."""

    def __init__(self, max_size: int = 65536) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._skip = False
        self.oversized = 0
        self.bad = 0

    def feed(self, data: bytes) -> list[bytes]:
        packets: list[bytes] = []
        start = 0
        while True:
            end = data.find(_END, start)
            chunk = data[start:] if end < 0 else data[start:end]
            if not self._skip:
                self._buf += chunk
                if len(self._buf) > 2 * self.max_size + 2:  # escapes at most double the size
                    self._buf.clear()
                    self._skip = True
                    self.oversized += 1
            if end < 0:
                return packets
            if self._skip:
                self._skip = False
            elif self._buf:
                packet = self._unescape(bytes(self._buf))
                if packet is not None:
                    if len(packet) > self.max_size:
                        self.oversized += 1
                    else:
                        packets.append(packet)
            self._buf.clear()
            start = end + 1

    def _unescape(self, frame: bytes) -> bytes | None:
        if b"\xdb" not in frame:
            return frame
        out = bytearray()
        it = iter(frame)
        for byte in it:
            if byte != SLIP_ESC:
                out.append(byte)
                continue
            nxt = next(it, None)
            if nxt == SLIP_ESC_END:
                out.append(SLIP_END)
            elif nxt == SLIP_ESC_ESC:
                out.append(SLIP_ESC)
            else:
                self.bad += 1
                return None
        return bytes(out)


class LengthPrefixDecoder:
    """Incremental OSC 1.0 stream decoder. A size that is negative or over ``max_size``
    raises :class:`OscError`: the stream cannot be resynchronised, close the connection."""

    def __init__(self, max_size: int = 65536) -> None:
        self.max_size = max_size
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        packets: list[bytes] = []
        index = 0
        while len(self._buf) - index >= 4:
            (size,) = _INT.unpack_from(self._buf, index)
            if size < 0 or size > self.max_size:
                self._buf.clear()
                raise OscError(f"stream frame of {size} bytes (at most {self.max_size})")
            if len(self._buf) - index - 4 < size:
                break
            packets.append(bytes(self._buf[index + 4 : index + 4 + size]))
            index += 4 + size
        del self._buf[:index]
        return packets


# -- address patterns


def is_pattern(address: str) -> bool:
    """Whether ``address`` holds any OSC pattern character (``? * [ ] { }``)."""
    return (
        "*" in address
        or "?" in address
        or "[" in address
        or "{" in address
        or "]" in address
        or "}" in address
    )


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An OSC 1.0 address pattern as a regular expression matching whole addresses.

    ``?`` one character and ``*`` any run of characters, neither crossing a ``/``;
    ``[abc]``, ``[a-z]``, ``[!a-z]`` one character of (not of) a set; ``{foo,bar}`` one of
    the strings. Anything else matches itself. Malformed patterns raise :class:`OscError`.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "?":
            out.append("[^/]")
        elif c == "*":
            out.append("[^/]*")
        elif c == "[":
            close = pattern.find("]", i + 1)
            if close < 0:
                raise OscError(f"pattern {pattern[:60]!r}: '[' without ']'")
            body = pattern[i + 1 : close]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            if not body or "/" in body:
                raise OscError(f"pattern {pattern[:60]!r}: empty or '/' in '[ ]'")
            parts: list[str] = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    lo, hi = body[j], body[j + 2]
                    if lo > hi:
                        raise OscError(f"pattern {pattern[:60]!r}: range {lo}-{hi} is reversed")
                    parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 3
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            out.append(("[^/" if negate else "[") + "".join(parts) + "]")
            i = close
        elif c == "{":
            close = pattern.find("}", i + 1)
            if close < 0:
                raise OscError(f"pattern {pattern[:60]!r}: '{{' without '}}'")
            options = pattern[i + 1 : close].split(",")
            if any("/" in o for o in options):
                raise OscError(f"pattern {pattern[:60]!r}: '/' inside '{{ }}'")
            out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
            i = close
        elif c in "]}":
            raise OscError(f"pattern {pattern[:60]!r}: unbalanced {c!r}")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def match_pattern(pattern: str, address: str) -> bool:
    """Whether the OSC 1.0 address ``pattern`` matches the concrete ``address``."""
    return compile_pattern(pattern).fullmatch(address) is not None
