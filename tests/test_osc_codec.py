"""The OSC codec: wire format against python-osc, stream framing, OSC 1.0 address patterns."""

from __future__ import annotations

import math
import random
import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from mapping.control.osc_codec import (
    IMMEDIATELY,
    Bundle,
    LengthPrefixDecoder,
    Message,
    OscError,
    SlipDecoder,
    compile_pattern,
    encode_bundle,
    encode_message,
    frame_length,
    match_pattern,
    messages,
    ntp_to_unix,
    parse_packet,
    slip_encode,
    unix_to_ntp,
)


def _python_osc(address: str, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def test_messages_built_by_python_osc_parse_to_the_same_values():
    data = _python_osc("/layer/sky/opacity", 0.5, 3, "hello", b"\x01\x02\x03", True, False)
    msg = parse_packet(data)
    assert msg == Message(
        "/layer/sky/opacity", (0.5, 3, "hello", b"\x01\x02\x03", True, False), "fisbTF"
    )


def test_our_messages_parse_in_python_osc():
    data = encode_message("/master", 0.25, 7, "x", None, 2**40)
    parsed = OscMessage(data)
    assert parsed.address == "/master"
    assert parsed.params == [0.25, 7, "x", None, 2**40]


def test_doubles_int64_timetags_chars_and_infinitum():
    data = (
        b"/a\x00\x00,dhtcI\x00\x00"
        + struct.pack(">d", 1.5)
        + struct.pack(">q", -(2**40))
        + struct.pack(">Q", 5 << 32)
        + struct.pack(">I", ord("Z"))
    )
    assert parse_packet(data).args == (1.5, -(2**40), 5 << 32, "Z", math.inf)


def test_a_message_without_type_tags_is_an_old_style_message_with_no_arguments():
    assert parse_packet(b"/go\x00") == Message("/go")


def test_nan_survives_parsing_so_that_the_dispatcher_can_refuse_it():
    msg = parse_packet(encode_message("/master", math.nan))
    assert math.isnan(msg.args[0])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"go\x00\x00", "neither a message"),
        (b"/goo", "terminating zero"),
        (b"/go\x00,f\x00\x00", "past the end"),
        (b"/go\x00,f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "after the last"),
        (b"/go\x00,q\x00\x00", "unknown type tag"),
        (b"/go\x00,[]\x00", "array"),
        (b"/go\x00,b\x00\x00\x00\x00\x00\x08", "blob"),
        (b"/go\x00,b\x00\x00\xff\xff\xff\xff", "blob"),
        (b"/g\xffo\x00\x00\x00\x00", "UTF-8"),
        (b"/go\x00go\x00\x00", "','"),
        (b"/go\x00\x00", "multiple of 4"),
        (b"#bundle\x00\x00\x00", "shorter than its header"),
        (b"#bundle\x00" + bytes(8) + b"\x00\x00\x00\x08/go\x00", "does not fit"),
        (b"#bundle\x00" + bytes(8) + b"\xff\xff\xff\xfc", "does not fit"),
    ],
)
def test_malformed_packets_raise_one_error_type_with_a_reason(data, reason):
    with pytest.raises(OscError, match=re.escape(reason)):
        parse_packet(data)


def test_bundles_nest_with_a_bounded_depth():
    inner = encode_message("/go")
    for _ in range(8):
        inner = encode_bundle(IMMEDIATELY, [inner])
    assert isinstance(parse_packet(inner), Bundle)
    with pytest.raises(OscError, match="nested"):
        parse_packet(encode_bundle(IMMEDIATELY, [inner]))


def test_bundles_from_python_osc_keep_their_raw_time_tag():
    unix = 1_800_000_000.25
    builder = OscBundleBuilder(unix)
    builder.add_content(OscMessageBuilder("/go").build())
    builder.add_content(OscMessageBuilder("/master").build())
    bundle = parse_packet(builder.build().dgram)
    assert isinstance(bundle, Bundle)
    assert ntp_to_unix(bundle.timetag) == pytest.approx(unix, abs=1e-6)
    assert [m.address for _, m in messages(bundle)] == ["/go", "/master"]


def test_time_tags_round_trip_and_immediately_means_none():
    assert ntp_to_unix(IMMEDIATELY) is None
    # 2026-01-01T00:00:00Z is 3976214400 s after 1900-01-01
    assert unix_to_ntp(1_767_225_600.5) == (3_976_214_400 << 32) | (1 << 31)
    assert ntp_to_unix(unix_to_ntp(1_767_225_600.5)) == 1_767_225_600.5


def test_an_inner_bundle_never_fires_before_its_outer_one():
    early, late = unix_to_ntp(100.0), unix_to_ntp(200.0)
    inner = encode_bundle(early, [encode_message("/a")])
    outer = encode_bundle(late, [inner, encode_message("/b")])
    assert list(messages(parse_packet(outer))) == [
        (late, Message("/a", (), "")),
        (late, Message("/b", (), "")),
    ]
    immediate_inner = encode_bundle(IMMEDIATELY, [encode_message("/c")])
    assert [t for t, _ in messages(parse_packet(encode_bundle(late, [immediate_inner])))] == [late]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-(2**31), 2**31 - 1),
            st.floats(width=32, allow_nan=False),
            st.text(alphabet=st.characters(blacklist_characters="\x00", codec="utf-8")),
            st.binary(max_size=40),
            st.booleans(),
            st.none(),
        ),
        max_size=8,
    )
)
def test_any_encoded_message_parses_back_to_its_arguments(args):
    assert parse_packet(encode_message("/x/y", *args)).args == tuple(args)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_either_parse_or_raise_osc_error(data):
    try:
        parse_packet(data)
    except OscError:
        pass


# -- framing


def test_slip_frames_escape_end_and_esc_bytes_and_survive_any_split():
    packets = [encode_message("/a", b"\xc0\xdb\xc0"), encode_message("/go"), b"\xdb\xdc\xc0"]
    stream = b"".join(slip_encode(p) for p in packets)
    assert stream.count(b"\xc0") == 2 * len(packets)  # only the frame delimiters
    rng = random.Random(5)
    for _ in range(50):
        decoder, out, i = SlipDecoder(), [], 0
        while i < len(stream):
            n = rng.randint(1, 7)
            out += decoder.feed(stream[i : i + n])
            i += n
        assert out == packets


def test_slip_drops_oversized_and_badly_escaped_frames_and_keeps_going():
    decoder = SlipDecoder(max_size=16)
    good = encode_message("/go")
    stream = slip_encode(bytes(100)) + b"\xc0\xdb\x01\xc0" + slip_encode(good)
    assert decoder.feed(stream) == [good]
    assert decoder.oversized == 1 and decoder.bad == 1


def test_length_prefixed_frames_survive_any_split():
    packets = [encode_message("/a", 1.0), encode_message("/go"), encode_message("/b", "x" * 50)]
    stream = b"".join(frame_length(p) for p in packets)
    rng = random.Random(6)
    for _ in range(50):
        decoder, out, i = LengthPrefixDecoder(), [], 0
        while i < len(stream):
            n = rng.randint(1, 9)
            out += decoder.feed(stream[i : i + n])
            i += n
        assert out == packets


@pytest.mark.parametrize("size", [-4, 1 << 20])
def test_a_length_prefix_out_of_range_cannot_be_resynchronised(size):
    with pytest.raises(OscError, match="stream frame"):
        LengthPrefixDecoder(max_size=65536).feed(struct.pack(">i", size) + b"abcd")


# -- address patterns


@pytest.mark.parametrize(
    ("pattern", "address", "matches"),
    [
        ("/layer/*/opacity", "/layer/sky/opacity", True),
        ("/layer/*/opacity", "/layer/sky/param/x", False),
        ("/layer/*", "/layer/sky/opacity", False),  # '*' does not cross '/'
        ("/*", "/go", True),
        ("/g?", "/go", True),
        ("/g?", "/g/", False),
        ("/cue/[12]/start", "/cue/1/start", True),
        ("/cue/[12]/start", "/cue/3/start", False),
        ("/cue/[1-3]/start", "/cue/3/start", True),
        ("/cue/[!1-3]/start", "/cue/4/start", True),
        ("/cue/[!1-3]/start", "/cue/2/start", False),
        ("/cue/[a-]/start", "/cue/-/start", True),  # a trailing '-' is itself
        ("/layer/{sky,clip}/opacity", "/layer/clip/opacity", True),
        ("/layer/{sky,clip}/opacity", "/layer/logo/opacity", False),
        ("/layer/{sky,}x", "/layer/x", True),
        ("/a.b", "/axb", False),  # regex characters are literal
        ("/a+", "/a+", True),
    ],
)
def test_osc_1_0_address_patterns(pattern, address, matches):
    assert match_pattern(pattern, address) is matches


@pytest.mark.parametrize("pattern", ["/a[bc", "/a{b", "/a]", "/a}", "/[z-a]", "/[]", "/[a/b]"])
def test_malformed_patterns_raise_osc_error(pattern):
    with pytest.raises(OscError):
        compile_pattern(pattern)


def _reference_match(pattern: str, address: str) -> bool:
    """OSC 1.0 matching written the slow, obvious way (no regular expressions)."""
    if not pattern:
        return not address
    c = pattern[0]
    if c == "*":
        return any(
            _reference_match(pattern[1:], address[i:])
            for i in range(len(address) + 1)
            if "/" not in address[:i]
        )
    if c == "{":
        close = pattern.index("}")
        rest = pattern[close + 1 :]
        return any(
            address.startswith(option) and _reference_match(rest, address[len(option) :])
            for option in pattern[1:close].split(",")
        )
    if not address:
        return False
    if c == "?":
        return address[0] != "/" and _reference_match(pattern[1:], address[1:])
    if c == "[":
        close = pattern.index("]")
        body, rest = pattern[1:close], pattern[close + 1 :]
        negate = body.startswith("!")
        body = body[1:] if negate else body
        chars, i = set(), 0
        while i < len(body):
            if i + 2 < len(body) and body[i + 1] == "-":
                chars |= {chr(x) for x in range(ord(body[i]), ord(body[i + 2]) + 1)}
                i += 3
            else:
                chars.add(body[i])
                i += 1
        hit = address[0] in chars
        ok = (not hit and address[0] != "/") if negate else hit
        return ok and _reference_match(rest, address[1:])
    return address[0] == c and _reference_match(pattern[1:], address[1:])


_segment = st.text(alphabet="abc-", min_size=1, max_size=4)
_piece = st.one_of(
    _segment,
    st.just("*"),
    st.just("?"),
    st.sampled_from(["[ab]", "[!a]", "[a-c]", "[!b-c]", "[-a]"]),
    st.lists(st.text(alphabet="abc", max_size=3), min_size=1, max_size=3).map(
        lambda xs: "{" + ",".join(xs) + "}"
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(_piece, min_size=1, max_size=3).map("".join), min_size=1, max_size=3),
    st.lists(_segment, min_size=1, max_size=3),
)
def test_patterns_match_exactly_what_the_reference_matcher_matches(pattern_parts, parts):
    pattern = "/" + "/".join(pattern_parts)
    address = "/" + "/".join(parts)
    assert match_pattern(pattern, address) is _reference_match(pattern, address)
