"""What the cue engine's frame state does to the picture: crossfades, parameters, hidden
surfaces, master and output levels, pre-roll.

Tiny framebuffers rendered headless; expected pixels come from the definitions (a mix is
``old·w + new·(1 − w)``, levels scale the output), in 8-bit levels with ±1 for rounding.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.gl.renderer import Renderer
from mapping.show import load_show

SHOW = """
schema_version = 1
name = "state"
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
[[surfaces]]
name = "left-half"
output = "out"
polygon = [[0, 0], [16, 0], [16, 16], [0, 16]]
corners = [[0, 0], [16, 0], [16, 16], [0, 16]]
[[surfaces]]
name = "right-half"
output = "out"
polygon = [[16, 0], [32, 0], [32, 16], [16, 16]]
corners = [[16, 0], [32, 0], [32, 16], [16, 16]]
[[layers]]
name = "base"
kind = "solid"
color = "#ffffff"
opacity = 0.2
[[layers]]
name = "wash"
kind = "solid"
color = "#ff0000"
blend = "normal"
[[layers]]
name = "gen"
kind = "shader"
shader = "shaders/level.glsl"
opacity = 0.0
params = { level = 0.25 }
[[cues]]
number = 1
name = "to-blue"
fade = 2.0
[cues.layers.wash]
color = "#0000ff"
[[cues]]
number = 2
name = "gen"
[cues.layers.wash]
opacity = 0.0
[cues.layers.gen]
opacity = 1.0
params = { level = 0.75 }
"""

LEVEL_SHADER = """
uniform float level;
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(level, level, level, 1.0);
}
"""


@pytest.fixture
def show(tmp_path: Path):
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "level.glsl").write_text(LEVEL_SHADER)
    (tmp_path / "show.toml").write_text(textwrap.dedent(SHOW))
    return load_show(tmp_path)


def render(ctx, show, engine: CueEngine, t: float, **state) -> np.ndarray:
    import dataclasses

    renderer = Renderer(ctx, show)
    try:
        renderer.render(dataclasses.replace(engine.tick(t), **state))
        return renderer.read_output("out")[..., :3].astype(float)
    finally:
        renderer.release()


def test_a_content_change_mixes_old_and_new_exactly_then_composites(ctx, show):
    engine = CueEngine(show)
    engine.go(0.0)  # wash: red → blue over 2 s, linear, over a 20 % white base
    for t, w_new in ((0.0, 0.0), (0.5, 0.25), (1.0, 0.5), (2.0, 1.0)):
        picture = render(ctx, show, engine, t)
        red, blue = 255.0 * (1 - w_new), 255.0 * w_new
        # the wash is opaque: the base does not show through the mix at any point
        np.testing.assert_allclose(picture[8, 8], [red, 0.0, blue], atol=1.0)


def test_a_half_transparent_crossfade_keeps_the_layer_opacity_constant(ctx, show):
    engine = CueEngine(show)
    engine.set_opacity("wash", 0.5, 0.0)
    engine.go(0.0)
    picture = render(ctx, show, engine, 1.0)
    base = 0.2 * 255.0
    expected = [base * 0.5 + 0.5 * 127.5, base * 0.5, base * 0.5 + 0.5 * 127.5]
    np.testing.assert_allclose(picture[8, 8], expected, atol=1.0)


def test_layer_parameters_reach_the_generator_as_uniforms(ctx, show):
    engine = CueEngine(show)
    engine.goto("2", 0.0)
    np.testing.assert_allclose(render(ctx, show, engine, 0.0)[8, 8], [191.25] * 3, atol=1.0)
    engine.set_param("gen", "level", 0.5, 0.0)
    np.testing.assert_allclose(render(ctx, show, engine, 0.0)[8, 8], [127.5] * 3, atol=1.0)


def test_a_hidden_surface_is_black_and_the_others_untouched(ctx, show):
    engine = CueEngine(show)
    engine.set_visible("right-half", False)
    picture = render(ctx, show, engine, 0.0)
    np.testing.assert_allclose(picture[:, 16:], 0.0)
    np.testing.assert_allclose(picture[8, 8], [255.0, 0.0, 0.0], atol=1.0)


def test_master_and_output_level_scale_the_whole_output(ctx, show):
    engine = CueEngine(show)
    engine.set_level("out", 0.5, 0.0)
    picture = render(ctx, show, engine, 0.0, master=0.5)
    np.testing.assert_allclose(picture[8, 8], [255.0 * 0.25, 0.0, 0.0], atol=1.0)
    np.testing.assert_allclose(render(ctx, show, engine, 0.0, master=0.0), 0.0)


def test_the_standby_cue_is_pre_rolled_before_go(ctx, show):
    engine = CueEngine.at_cue(show, "1")
    engine.load("2")  # cue 2 brings in the generator; its program is compiled before GO
    renderer = Renderer(ctx, show)
    try:
        assert not any(key.kind == "shader" for key in renderer._sources)
        renderer.render(engine.tick(0.0))
        assert any(key.kind == "shader" for key in renderer._sources)
    finally:
        renderer.release()
