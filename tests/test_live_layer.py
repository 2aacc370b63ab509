"""Live layers: the show format's ``kind = "live"``, and the renderer showing a virtual
device's picture in the layer region, a placeholder while the device is missing, and the
picture again when it comes back."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.errors import ValidationError
from mapping.gl.renderer import Renderer
from mapping.gl.sources.live import LiveSource
from mapping.show import Canvas, Layer, LiveDevice, Output, Show, Surface, load_show
from tests.livekit import STAMP_SIZE_PX, FifoCamera, read_stamp

# --------------------------------------------------------------------- show format

SHOW_HEAD = (
    'schema_version = 1\nname = "t"\n[canvas]\nsize = [32, 24]\n'
    '[[outputs]]\nname = "o"\nresolution = [32, 24]\n'
    '[[layers]]\nname = "cam"\nkind = "live"\n'
)


def _load(tmp_path: Path, layer_lines: str) -> Show:
    (tmp_path / "show.toml").write_text(SHOW_HEAD + layer_lines)
    return load_show(tmp_path)


def test_a_live_layer_names_its_device(tmp_path):
    show = _load(tmp_path, 'device = "/dev/video0"\n')
    assert show.layers[0].content == LiveDevice("/dev/video0", "v4l2", ())


def test_a_live_layer_with_format_size_rate_and_options(tmp_path):
    show = _load(
        tmp_path,
        'device = { path = "/dev/video2", size = [1280, 720], fps = 30, '
        'input_format = "mjpeg", options = { thread_queue_size = 8 } }\n',
    )
    assert show.layers[0].content == LiveDevice(
        "/dev/video2",
        "v4l2",
        (("framerate", "30"), ("input_format", "mjpeg"), ("thread_queue_size", "8"),
         ("video_size", "1280x720")),
    )  # fmt: skip
    show = _load(tmp_path, 'device = { path = "testsrc2=size=64x48", format = "lavfi" }\n')
    assert show.layers[0].content == LiveDevice("testsrc2=size=64x48", "lavfi", ())


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("device = 7\n", "layers[0].device: expected a device path"),
        ('device = { format = "v4l2" }\n', "layers[0].device.path: missing (required)"),
        ('device = { path = "/dev/video0", sise = [1, 2] }\n', "sise"),
        ('device = { path = "/dev/video0", size = "1280x720" }\n', "expected [width, height]"),
        ('device = { path = "/dev/video0", fps = 0 }\n', "layers[0].device.fps"),
        ('device = { path = "/dev/video0", options = [1] }\n', "FFmpeg input options"),
        ('file = "cam.mp4"\n', "'file' is for image and video layers"),
        ("", "layers[0].device: missing (required)"),
    ],
)
def test_bad_live_layers_are_reported_at_their_key(tmp_path, lines, message):
    with pytest.raises(ValidationError) as info:
        _load(tmp_path, lines)
    assert message in str(info.value)


# --------------------------------------------------------------------- through the renderer

SIZE = (320, 240)


def _live_show(root: Path, device: LiveDevice, size=SIZE, region=None) -> Show:
    w, h = size
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surface = Surface("all", "out", rect, np.eye(3), "homography")
    region = region or (0.0, 0.0, float(w), float(h))
    layer = Layer("cam", "live", device, 1.0, "normal", region)
    return Show(root, "t", Canvas(size), (Output("out", size),), (surface,), (layer,), ())


def _render_until(renderer: Renderer, engine: CueEngine, done, timeout_s: float = 5.0):
    """Render frames (as the live loop does, never waiting on the device) until ``done``."""
    deadline = time.monotonic() + timeout_s
    t = 0.0
    while True:
        renderer.render(engine.tick(t))
        out = renderer.read_output("out")
        if done(out) or time.monotonic() > deadline:
            return out
        t += 1 / 60
        time.sleep(1 / 60)


def wait_until(condition, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def _live_source(renderer: Renderer) -> LiveSource:
    (source,) = (s for s in renderer._sources.values() if isinstance(s, LiveSource))
    return source


@pytest.mark.parametrize("scale", [1, 2])
def test_the_renderer_shows_a_virtual_devices_picture_in_the_layer_region(ctx, tmp_path, scale):
    graph = f"smptebars=size={SIZE[0]}x{SIZE[1]}:rate=30"
    # scale 2: the picture shrunk into the bottom-right quarter of the canvas
    w, h = SIZE[0] // scale, SIZE[1] // scale
    x, y = SIZE[0] - w, SIZE[1] - h
    show = _live_show(tmp_path, LiveDevice(graph, "lavfi"), region=(x, y, w, h))
    renderer = Renderer(ctx, show)
    try:
        engine = CueEngine(show)
        _render_until(renderer, engine, lambda _out: _live_source(renderer).frame_index >= 0)
        renderer.render(engine.tick(1.0))
        out = renderer.read_output("out")[..., :3].astype(int)
        source = _live_source(renderer)
        assert source.frame_index >= 0 and not renderer.errors
        latency = source.input.latency_s
    finally:
        renderer.release()
    reference = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", graph, "-frames:v", "1",
         "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
        check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    reference = np.frombuffer(reference, np.uint8).reshape(SIZE[1], SIZE[0], 3).astype(int)
    # Inside the bars (away from edges, where chroma upsampling differs) the GPU's YUV
    # conversion matches the ffmpeg CLI's within 3 levels.
    flat = np.ones(reference.shape[:2], bool)
    for dy in (-2, 0, 2):
        for dx in (-2, 0, 2):
            flat &= (np.roll(reference, (dy, dx), axis=(0, 1)) == reference).all(axis=2)
    flat[:2], flat[-2:], flat[:, :2], flat[:, -2:] = False, False, False, False
    if scale > 1:  # what the region should show: scale x scale blocks averaged (float64)
        reference = reference.reshape(h, scale, w, scale, 3).mean(axis=(1, 3))
        flat = flat.reshape(h, scale, w, scale).all(axis=(1, 3))
    inside = out[y:, x:]
    assert flat.mean() > 0.7
    assert np.abs(inside - reference)[flat].max() <= 3
    outside = np.ones(out.shape[:2], bool)
    outside[y:, x:] = False
    assert (out[outside] == 0).all()  # nothing drawn outside the layer's region
    assert latency.count >= 1 and 0.0 <= latency.p50_s < 0.5


def test_a_missing_device_shows_a_placeholder_then_its_picture_when_plugged_in(ctx, tmp_path):
    fifo = tmp_path / "camera.fifo"
    camera = FifoCamera(fifo)
    device = LiveDevice(
        str(fifo), "rawvideo", tuple(sorted(camera.options.items()))
    )  # fmt: skip
    show = _live_show(tmp_path, device, STAMP_SIZE_PX)
    renderer = Renderer(ctx, show)
    try:
        engine = CueEngine(show)
        out = _render_until(renderer, engine, lambda _o: "cam" in renderer.errors, 3.0)
        assert "No such file" in renderer.errors["cam"] and str(fifo) in renderer.errors["cam"]
        assert out[..., :3].any(), "the placeholder is visible"

        renderer.render(engine.tick(0.5))  # drawn with the reason now known
        source = _live_source(renderer)
        assert not source.animating(1.0)  # the placeholder drawn is still the right one

        camera.start()  # plugged in: the input, retrying in the background, finds it
        started = time.monotonic()
        deadline = started + 6.0
        while not source.animating(1.0) and time.monotonic() < deadline:
            time.sleep(0.01)  # nothing drawn meanwhile: the picture would not change
        assert source.animating(1.0), "a frame arrived: the layer must be drawn again"

        def fresh(out: np.ndarray) -> bool:
            return abs(read_stamp(out) / 1e6 - time.monotonic()) < 0.5

        out = _render_until(renderer, engine, fresh, 6.0)
        assert fresh(out), renderer.errors
        assert "cam" not in renderer.errors
        assert time.monotonic() - started < 6.0
        # Still between two frames of the camera, moving again when the next one arrives.
        drawn = source.frame_index
        assert wait_until(lambda: source.input.newest_index() > drawn)
        assert source.animating(1.0)
        # What is drawn is the newest frame: the time written into it is recent.
        assert time.monotonic() - read_stamp(out) / 1e6 < 0.25
    finally:
        renderer.release()
        camera.unplug()


def test_a_cue_switches_a_live_layer_to_another_device(tmp_path):
    show = _load(
        tmp_path,
        'device = "/dev/video0"\n'
        '[[cues]]\nnumber = "1"\nname = "wide"\n'
        '[cues.layers.cam]\ndevice = { path = "/dev/video1", size = [640, 480] }\n',
    )
    change = show.cues[0].layers["cam"]
    assert change.content == LiveDevice("/dev/video1", "v4l2", (("video_size", "640x480"),))


def test_pre_roll_of_a_live_layer_never_holds_up_the_live_picture(ctx, tmp_path):
    show = _live_show(tmp_path, LiveDevice(str(tmp_path / "no-camera"), "v4l2"), (32, 24))
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        source = _live_source(renderer)
        started = time.monotonic()
        source.prepare()  # live: the device is already being opened in the background
        assert time.monotonic() - started < 0.05
    finally:
        renderer.release()


def test_offline_render_waits_for_the_first_frame(ctx, tmp_path):
    device = LiveDevice("color=c=0x20c040:size=32x24:rate=30", "lavfi")
    show = _live_show(tmp_path, device, (32, 24))
    renderer = Renderer(ctx, show, offline=True)
    try:
        renderer.render(CueEngine(show).tick(0.0))  # the very first frame shows the device
        out = renderer.read_output("out")[..., :3].astype(int)
    finally:
        renderer.release()
    assert np.abs(out - (0x20, 0xC0, 0x40)).max() <= 4


def test_two_layers_naming_one_device_share_one_input(ctx, tmp_path):
    device = LiveDevice("color=c=0xc02040:size=32x24:rate=30", "lavfi")
    w, h = 64, 24
    rect = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    surface = Surface("all", "out", rect, np.eye(3), "homography")
    layers = tuple(
        Layer(name, "live", device, 1.0, "normal", (x, 0.0, 32.0, 24.0))
        for name, x in (("left", 0.0), ("right", 32.0))
    )
    show = Show(tmp_path, "t", Canvas((w, h)), (Output("out", (w, h)),), (surface,), layers, ())
    renderer = Renderer(ctx, show)
    try:
        engine = CueEngine(show)
        sources = []

        def both_drawn(_out) -> bool:
            sources[:] = [s for s in renderer._sources.values() if isinstance(s, LiveSource)]
            return len(sources) == 2 and all(s.frame_index >= 0 for s in sources)

        out = _render_until(renderer, engine, both_drawn)
        assert both_drawn(out)
        assert sources[0].input is sources[1].input  # one device, opened once
        live = sources[0].input
        assert np.abs(out[..., :3].astype(int) - (0xC0, 0x20, 0x40)).max() <= 4  # both halves
    finally:
        renderer.release()
    assert live.state.value == "closed"  # released with its last layer
