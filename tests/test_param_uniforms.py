"""Typed parameters reach a generator's uniforms (GL, headless, a 24×4 canvas).

The shader writes each uniform into its own 4-pixel cell; the expected 8-bit levels are the
values set, × 255 (±1 for rounding).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from mapping.check import check_show
from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.show import load_show

SHADER = """\
uniform float level;
uniform int bands;   // range 0..8
uniform bool on;
uniform vec2 centre;
uniform vec3 rgb;
uniform vec4 tint;
void mainImage(out vec4 c, in vec2 f) {
    int cell = int(f.x) / 4;
    if (cell == 0) c = vec4(level, 0.0, 0.0, 1.0);
    else if (cell == 1) c = vec4(float(bands) / 8.0, on ? 1.0 : 0.0, 0.0, 1.0);
    else if (cell == 2) c = vec4(centre, 0.0, 1.0);
    else if (cell == 3) c = vec4(rgb, 1.0);
    else if (cell == 4) c = vec4(tint.rgb, 1.0);
    else c = vec4(tint.a, tint.a, tint.a, 1.0);
}
"""

SHOW = """\
schema_version = 1
name = "u"
[canvas]
size = [24, 4]
[[outputs]]
name = "out"
resolution = [24, 4]
[[surfaces]]
name = "s"
output = "out"
polygon = [[0, 0], [24, 0], [24, 4], [0, 4]]
corners = [[0, 0], [24, 0], [24, 4], [0, 4]]
[[layers]]
name = "gen"
kind = "shader"
shader = "gen.glsl"
params = { level = 0.25, bands = 6, on = true, centre = [0.5, 0.75], rgb = [1.0, 0.5, 0.25, 0.1] }
"""


@pytest.fixture
def show(tmp_path: Path):
    (tmp_path / "gen.glsl").write_text(SHADER)
    (tmp_path / "show.toml").write_text(textwrap.dedent(SHOW))
    return load_show(tmp_path)


def cells(ctx, show, engine: CueEngine, t: float) -> np.ndarray:
    renderer = Renderer(ctx, show)
    try:
        renderer.render(engine.tick(t))
        return renderer.read_output("out")[2, 2::4, :3].astype(float)
    finally:
        renderer.release()


def test_every_parameter_type_reaches_its_uniform(ctx, show):
    engine = CueEngine(show)
    engine.set_param("gen", "tint", (0.2, 0.4, 0.6, 0.8), 0.0)
    got = cells(ctx, show, engine, 0.0)
    expected = 255.0 * np.array(
        [
            [0.25, 0.0, 0.0],  # float
            [6 / 8, 1.0, 0.0],  # int, bool
            [0.5, 0.75, 0.0],  # vec2
            [1.0, 0.5, 0.25],  # a colour into a vec3: its RGB
            [0.2, 0.4, 0.6],  # vec4's RGB
            [0.8, 0.8, 0.8],  # and its alpha
        ]
    )
    np.testing.assert_allclose(got, expected, atol=1.0)


def test_a_colour_fade_is_drawn_halfway_at_half_time(ctx, show):
    engine = CueEngine(show)
    engine.set_param("gen", "tint", (0.0, 0.0, 0.0, 0.0), 0.0)
    engine.set_param("gen", "tint", (1.0, 0.5, 0.0, 1.0), 0.0, fade_s=2.0)
    engine.set_param("gen", "bands", 2, 0.0, fade_s=2.0)  # an int switches at once
    got = cells(ctx, show, engine, 1.0)
    np.testing.assert_allclose(got[4], [127.5, 63.75, 0.0], atol=1.0)
    np.testing.assert_allclose(got[5], [127.5] * 3, atol=1.0)
    np.testing.assert_allclose(got[1, 0], 2 / 8 * 255.0, atol=1.0)


def test_check_warns_about_uniforms_the_host_never_sets(tmp_path):
    (tmp_path / "gen.glsl").write_text(
        SHADER.replace("uniform bool on;", "uniform bool on;\nuniform sampler2D photo;")
    )
    (tmp_path / "show.toml").write_text(textwrap.dedent(SHOW))
    report = check_show(tmp_path)  # the scan needs no GL context (compiling does)
    assert report.ok  # a warning does not fail the check
    (warning,) = report.warnings
    assert warning.file == tmp_path.resolve() / "gen.glsl" and warning.line == 4
    assert "uniform 'photo' (sampler2D) is never set by the host" in warning.message
    assert warning.key_path == "layers[0].shader"
    summary = report.summary()  # the parameters each layer's content declares
    assert "params level (float), bands (long 0..8), on (bool), centre (point2D)" in summary


def test_an_osc_colour_message_is_drawn_and_answered_with_its_components(ctx, show):
    from mapping.control.osc import OscDispatcher, Outbox, Peer
    from mapping.control.osc_codec import encode_message, parse_packet
    from tests.osc_kit import ManualClock, make_player

    sent: list[bytes] = []
    manual = ManualClock()
    player = make_player(ctx, show, manual.show_clock())
    dispatcher = OscDispatcher(player, outbox=Outbox(threaded=False), clock=lambda: manual.t)
    peer = Peer("udp", "127.0.0.1", 9, sent.append)
    try:
        message = encode_message("/layer/gen/param/tint", 0.2, 0.4, 0.6, 0.8)
        dispatcher.handle_packet(message, peer)
        dispatcher.handle_packet(encode_message("/layer/gen/param/on", False), peer)
        manual.t = 0.1
        player.step(0.1)
        picture = player.renderer.read_output("out")[2, 2::4, :3].astype(float)
        np.testing.assert_allclose(picture[4], [51.0, 102.0, 153.0], atol=1.0)
        np.testing.assert_allclose(picture[5], [204.0] * 3, atol=1.0)
        np.testing.assert_allclose(picture[1, 1], 0.0, atol=1.0)  # the bool, now false
        replies = [(m.address, m.args) for m in map(parse_packet, sent)]
        address, args = replies[0]  # OSC floats are float32
        assert address == "/reply/layer/gen/param/tint" and args[0] == "ok"
        assert args[1:] == pytest.approx((0.2, 0.4, 0.6, 0.8), abs=1e-7)
        assert replies[1] == ("/reply/layer/gen/param/on", ("ok", False))
    finally:
        player.renderer.release()
