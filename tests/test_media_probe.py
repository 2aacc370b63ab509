"""``probe``: what a media file is and what is wrong with it, for good and broken files.

Every file is made in the set-up: clips and sounds with the ffmpeg CLI (it also encodes
HAP, which PyAV cannot) or PyAV (a variable-frame-rate clip with chosen timestamps), images
with OpenCV, broken files by cutting, patching or flipping the bytes of good ones. The
expected values are what the set-up encoded (sizes, rates, frame counts, channels), or
what ``ffprobe`` (another program) says about the file's packets; never the probe's own
arithmetic.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mapping.media.errors import MediaError
from mapping.media.probe import MachineLimits, check_video, probe
from mapping.media.video import VideoClip
from tests.conftest import IN_CI
from tests.madeonce import made_once
from tests.showkit import write_png

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
if not (FFMPEG and FFPROBE) and not IN_CI:  # scripts/setup.sh installs ffmpeg
    pytest.skip("the ffmpeg CLI is not installed", allow_module_level=True)

SMALL = MachineLimits(max_texture_size=16384, cpu_count=2)
TAG_709 = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG or "ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def pattern(size: str, rate: int, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}", "-t", f"{seconds}"]


def sine(rate: int, channels: int, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:r={rate}", "-t", f"{seconds}", "-ac", str(channels)]


def packets(path: Path) -> list[dict]:
    """ffprobe's own list of the video packets: pts_time, pos, size."""
    out = subprocess.run(
        [FFPROBE or "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts_time,pos,size", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return json.loads(out)["packets"]


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "test_media_probe.media", _make_media)


def _make_media(d: Path) -> Path:
    # good clips
    ffmpeg(*pattern("160x120", 25, 1), *sine(44100, 1, 1), "-c:v", "libx264", "-g", "10",
           "-pix_fmt", "yuv420p", *TAG_709, "-c:a", "aac", str(d / "h264_709.mp4"))  # fmt: skip
    ffmpeg(*pattern("1280x720", 25, 0.2), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(d / "untagged_hd.mp4"))  # fmt: skip
    ffmpeg(*pattern("320x240", 30, 0.2), "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(d / "untagged_sd.mp4"))  # fmt: skip
    for fmt, name in (("hap", "hap.mov"), ("hap_alpha", "hap_alpha.mov"), ("hap_q", "hap_q.mov")):
        extra = ["-pix_fmt", "rgba"] if fmt == "hap_alpha" else []
        ffmpeg(*pattern("64x48", 25, 0.2), "-c:v", "hap", "-format", fmt, *extra, str(d / name))
    # good sounds
    ffmpeg(*sine(48000, 2, 0.5), "-c:a", "pcm_s16le", str(d / "sound.wav"))
    ffmpeg(*sine(44100, 1, 0.5), "-c:a", "flac", str(d / "sound.flac"))
    ffmpeg(*sine(48000, 2, 0.5), "-c:a", "libmp3lame", str(d / "sound.mp3"))
    ffmpeg(*sine(48000, 2, 0.5), "-c:a", "libopus", str(d / "sound.ogg"))
    ffmpeg(*sine(48000, 2, 0.5), "-c:a", "aac", str(d / "sound.m4a"))
    # images
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    write_png(d / "alpha.png", rgba)
    write_png(d / "opaque.png", rgba[..., :3].copy())
    write_png(d / "too_wide.png", np.zeros((10, 20000, 3), np.uint8))
    # variable frame rate: frames at 0, 40, 80 and 300 ms
    with av.open(str(d / "vfr.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for i, pts in enumerate((0, 40, 80, 300, 340)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8), "rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    # broken files
    (d / "zero.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("This is the edit list, not the clip.\nSee you tonight.\n")
    ffmpeg(*pattern("160x120", 25, 2), "-c:v", "libx264", "-g", "10", "-bf", "0",
           str(d / "moov_at_end.mp4"))  # fmt: skip
    ffmpeg(*pattern("160x120", 25, 2), "-c:v", "libx264", "-g", "10", "-bf", "0",
           "-movflags", "+faststart", str(d / "moov_first.mp4"))  # fmt: skip
    for name in ("moov_at_end.mp4", "moov_first.mp4"):
        data = (d / name).read_bytes()
        (d / f"half_{name}").write_bytes(data[: len(data) // 2])
    ffmpeg(*pattern("160x120", 25, 4), "-c:v", "libx264", "-g", "25", str(d / "whole.mkv"))
    for name in ("whole.mkv", "sound.flac", "sound.mp3", "alpha.png"):
        data = (d / name).read_bytes()
        (d / f"half_{name}").write_bytes(data[: len(data) // 2])
    data = bytearray((d / "moov_first.mp4").read_bytes())
    hit = next(p for p in packets(d / "moov_first.mp4") if int(p["pos"]) > len(data) // 2)
    start, end = int(hit["pos"]) + 6, int(hit["pos"]) + int(hit["size"])  # keep the NAL head
    data[start:end] = np.random.default_rng(1).integers(0, 256, end - start, np.uint8).tobytes()
    (d / "corrupt.mp4").write_bytes(bytes(data))
    (d / "corrupt_at.txt").write_text(hit["pts_time"])  # ffprobe's time of that frame
    data = (d / "h264_709.mp4").read_bytes()
    entry = data.index(b"avc1", data.index(b"stsd"))  # the sample entry's codec tag
    (d / "unknown_codec.mp4").write_bytes(data[:entry] + b"qqqq" + data[entry + 4 :])
    ffmpeg(*pattern("160x120", 25, 0.2), "-c:v", "libx264", "-an", str(d / "video_only.m4a"))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=7680x4320:r=25", "-frames", "2",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "51", "-pix_fmt", "yuv420p",
           str(d / "8k.mp4"))  # fmt: skip
    w, h, cw, ch = 65, 49, 33, 25  # an odd 4:2:0 size, as raw planes (ffmpeg's filters crop)
    plane = bytes([100]) * (w * h) + bytes([90]) * (cw * ch) + bytes([160]) * (cw * ch)
    subprocess.run(
        [FFMPEG or "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
         "-s", f"{w}x{h}", "-r", "25", "-i", "-", "-c:v", "ffv1", str(d / "odd.mkv")],
        input=plane * 5, check=True, timeout=60,
    )  # fmt: skip
    return d


# --- good files ---------------------------------------------------------------------------


def test_a_tagged_h264_clip_with_sound(media: Path):
    info = probe(media / "h264_709.mp4", limits=SMALL)
    assert info.problems == [] and info.kind == "video"
    assert (info.container, info.codec, info.codec_id) == ("mp4", "H.264", "h264")
    assert (info.width, info.height, info.pixel_format) == (160, 120, "yuv420p")
    assert info.fps == 25 and not info.vfr and info.frame_count == 25
    assert info.duration_s == pytest.approx(1.0, abs=0.001)
    assert info.keyframe_interval_s == pytest.approx(10 / 25)
    assert (info.audio_codec, info.audio_channels, info.audio_rate) == ("AAC", 1, 44100)
    assert not info.alpha
    assert info.colour is not None
    assert (info.colour.matrix, info.colour.range, info.colour.guessed) == (
        "BT.709",
        "limited",
        False,
    )
    assert info.colour.transfer == "BT.709" and info.notes == []


def test_an_untagged_hd_clip_is_assumed_bt709_as_the_player_converts_it(media: Path):
    info = probe(media / "untagged_hd.mp4", limits=SMALL)
    assert info.colour is not None and info.colour.guessed
    assert info.colour.matrix == "BT.709" and info.colour.describe().startswith("untagged")
    assert any("untagged: assuming BT.709" in n and "8–9 levels" in n for n in info.notes)
    assert info.problems == [] and (info.width, info.height, info.frame_count) == (1280, 720, 5)
    with VideoClip(media / "untagged_hd.mp4", yuv_planes=True) as clip:
        planes = clip.frame_at(0.0).planes
    assert planes is not None and planes.matrix == "bt709"  # what the player will use


def test_an_untagged_sd_clip_is_assumed_bt601(media: Path):
    info = probe(media / "untagged_sd.mp4", limits=SMALL)
    assert info.colour is not None and info.colour.guessed and info.colour.matrix == "BT.601"
    assert any("untagged: assuming BT.601" in n for n in info.notes)
    assert (info.fps, info.frame_count) == (30, 6)


@pytest.mark.parametrize(
    ("name", "codec", "alpha"),
    [
        ("hap.mov", "Hap", False),
        ("hap_alpha.mov", "Hap Alpha", True),
        ("hap_q.mov", "Hap Q", False),
    ],
)
def test_hap_flavours_are_named(media: Path, name: str, codec: str, alpha: bool):
    info = probe(media / name, limits=SMALL)
    assert info.problems == []
    assert (info.codec, info.codec_id, info.alpha) == (codec, "hap", alpha)
    assert (info.width, info.height, info.fps, info.frame_count) == (64, 48, 25, 5)
    assert info.colour is not None and info.colour.matrix == "RGB"


@pytest.mark.parametrize(
    ("name", "codec", "channels", "rate"),
    [
        ("sound.wav", "PCM 16-bit", 2, 48000),
        ("sound.flac", "FLAC", 1, 44100),
        ("sound.mp3", "MP3", 2, 48000),
        ("sound.ogg", "Opus", 2, 48000),
        ("sound.m4a", "AAC", 2, 48000),
    ],
)
def test_audio_files(media: Path, name: str, codec: str, channels: int, rate: int):
    info = probe(media / name)
    assert info.kind == "audio" and info.problems == []
    assert (info.codec, info.audio_codec, info.audio_channels, info.audio_rate) == (
        codec,
        codec,
        channels,
        rate,
    )
    assert info.duration_s == pytest.approx(0.5, abs=0.06)  # MP3/Opus/AAC pad a little
    assert info.width is None and info.fps is None


def test_png_alpha_is_seen_and_an_opaque_png_has_none(media: Path):
    alpha = probe(media / "alpha.png")
    opaque = probe(media / "opaque.png")
    assert (alpha.kind, alpha.codec, alpha.width, alpha.height, alpha.alpha) == (
        "image",
        "PNG",
        40,
        30,
        True,
    )
    assert alpha.problems == [] and opaque.problems == [] and not opaque.alpha


def test_a_variable_frame_rate_clip_is_flagged(media: Path):
    info = probe(media / "vfr.mp4", limits=SMALL)
    assert info.vfr and info.frame_count == 5
    (problem,) = info.problems
    assert "variable frame rate" in problem and "40–220 ms apart" in problem
    # it plays (each frame at its own time): `media` lists it, `check` does not fail on it
    assert info.advisory == [problem]
    assert check_video(media / "vfr.mp4").vfr
    with pytest.raises(MediaError, match=r"text\.mp4"):
        check_video(media / "text.mp4")


def test_a_large_clip_is_sampled_not_decoded_whole(media: Path):
    info = probe(media / "moov_first.mp4", limits=SMALL, full_decode_pixels=0)
    assert info.problems == [] and info.frame_count == 50


# --- broken files: each with its reason, never an exception ---------------------------------


def test_a_zero_byte_file(media: Path):
    info = probe(media / "zero.mp4")
    assert info.kind == "video" and info.size_bytes == 0
    assert info.problems == [
        "empty file (0 bytes): expected a video file (MP4, MOV, MKV, … with a video stream)"
    ]


def test_a_text_file_named_mp4(media: Path):
    info = probe(media / "text.mp4")
    (problem,) = info.problems
    assert info.kind == "video" and problem.startswith("a text file, not media")


def test_an_mp4_cut_in_half_whose_index_was_at_the_end(media: Path):
    (problem,) = probe(media / "half_moov_at_end.mp4").problems
    assert "cannot be opened (truncated, or its index is missing)" in problem


def test_an_mp4_cut_in_half_says_where_its_frames_stop(media: Path):
    path = media / "half_moov_first.mp4"
    size = path.stat().st_size
    first_missing = next(
        float(p["pts_time"])
        for p in packets(media / "moov_first.mp4")
        if int(p["pos"]) + int(p["size"]) > size
    )
    info = probe(path, limits=SMALL)
    (problem,) = info.problems
    assert problem.startswith("truncated: the container lists 50 frames (2.00 s)")
    assert f"ends after about {first_missing:.2f} s" in problem


def test_a_matroska_file_cut_in_half_stops_early(media: Path):
    assert probe(media / "whole.mkv", limits=SMALL).problems == []
    last = max(float(p["pts_time"]) for p in packets(media / "half_whole.mkv"))
    (problem,) = probe(media / "half_whole.mkv", limits=SMALL).problems
    assert problem.startswith("truncated: the container says 4.00 s but frames stop at")
    stop_s = float(problem.split("stop at ")[1].split(" s")[0])
    assert last < stop_s <= last + 0.04 + 0.005  # ffprobe's last frame, plus its 40 ms


def test_audio_files_cut_in_half(media: Path):
    # the FLAC's half ends inside its header (ffmpeg pads it); the MP3 says 0.5 s, holds less
    (problem,) = probe(media / "half_sound.flac").problems
    assert problem.startswith("truncated: the file ends inside its header")
    (problem,) = probe(media / "half_sound.mp3").problems
    assert problem.startswith("truncated: the container says 0.5")
    assert 0.1 < float(problem.split("stop at ")[1].split(" s")[0]) < 0.4


def test_a_png_cut_in_half(media: Path):
    (problem,) = probe(media / "half_alpha.png").problems
    assert problem.startswith("corrupt or truncated image")
    assert problem.endswith("expected an image file (PNG, JPEG, TIFF, WebP, …)")


def test_a_codec_without_a_decoder(media: Path):
    info = probe(media / "unknown_codec.mp4")
    assert info.kind == "video" and info.audio_codec == "AAC"  # the sound is still readable
    assert len(info.problems) == 1 and info.problems[0].startswith("unsupported codec")


def test_a_corrupt_frame_mid_clip(media: Path):
    info = probe(media / "corrupt.mp4", limits=SMALL)
    (problem,) = info.problems
    at_s = float((media / "corrupt_at.txt").read_text())
    assert 0.5 < at_s < 1.5
    assert problem.startswith(f"corrupt frame at about {at_s:.2f} s: ")


def test_an_8k_h264_clip_is_flagged_on_a_small_machine_not_on_a_big_one(media: Path):
    info = probe(media / "8k.mp4", limits=SMALL)
    assert (info.width, info.height) == (7680, 4320)
    (problem,) = info.problems
    mpx = 7680 * 4320 * 25 / 1e6
    assert f"is {mpx:.0f} Mpx/s" in problem and "unlikely to play in real time" in problem
    assert probe(media / "8k.mp4", limits=MachineLimits(cpu_count=64)).problems == []


def test_an_image_above_the_gpu_texture_limit(media: Path):
    (problem,) = probe(media / "too_wide.png").problems
    assert "20000×10 is larger than the GPU texture limit 16384" in problem
    assert probe(media / "alpha.png", limits=MachineLimits(max_texture_size=32)).problems


def test_an_audio_file_with_no_audio(media: Path):
    info = probe(media / "video_only.m4a")
    assert info.kind == "audio"
    assert info.problems == [
        "no audio stream (found: video): expected an audio file "
        "(WAV, FLAC, MP3, AAC, Ogg, … with an audio stream)"
    ]


def test_an_odd_size_for_420(media: Path):
    info = probe(media / "odd.mkv")
    assert (info.width, info.height, info.pixel_format) == (65, 49, "yuv420p")
    (problem,) = info.problems
    assert problem.startswith("odd size 65×49 for 4:2:0")


def test_missing_files_folders_and_garbage_never_raise(media: Path, tmp_path: Path):
    assert probe(tmp_path / "gone.mp4").problems == ["file not found"]
    assert probe(tmp_path).problems == ["not a file"]
    noise = tmp_path / "noise.mov"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    info = probe(noise)
    assert info.kind == "video" and info.problems
    binary = tmp_path / "shader.glsl"
    binary.write_bytes(b"\xff\xfe\x00 not utf-8")
    assert probe(binary).problems == ["not a text file: expected GLSL source (UTF-8 text)"]
