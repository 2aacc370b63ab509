"""The ISF gaps closed: what a file pulls in is part of its identity, image inputs set from
the show, VVISF's value for a long without DEFAULT, a deterministic DATE offline, and the
``MAX`` of audio inputs.

Shaders are written here from the ISF specification, one job each. Expected pixels are the
definitions applied by hand to 8-bit levels (``level``); images are solid colours or halves
so that every sample is exact.
"""

from __future__ import annotations

import itertools
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine
from mapping.errors import ValidationError
from mapping.gl.renderer import Renderer
from mapping.gl.sources.isf import audio_block_samples, spectrum_texture_data
from mapping.gl.trial import FAILED, OK, ShaderTrials, TrialBudget
from mapping.isf.deps import isf_dependencies
from mapping.kinds import ContentId
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.reload import ShowWatcher
from mapping.show import load_show
from tests.isfkit import level, program, read_rgba, write_isf
from tests.showkit import write_png

HEAD = """
schema_version = 1
[canvas]
size = [{w}, {h}]
[[outputs]]
name = "out"
resolution = [{w}, {h}]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
corners = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]
"""

# a generator: its IMPORTED image times the tint its vertex shader passes on
TINTED = """/*{
    "ISFVSN": "2",
    "IMPORTED": { "tex": { "PATH": "tex.png" } }
}*/
in vec3 tint;
void main() {
    gl_FragColor = vec4(IMG_NORM_PIXEL(tex, isf_FragNormCoord).rgb * tint, 1.0);
}
"""
TINT_VS = """out vec3 tint;
void main() {
    isf_vertShaderInit();
    tint = vec3(%s);
}
"""


def solid(rgb: tuple[int, int, int], size: tuple[int, int] = (4, 4)) -> np.ndarray:
    image = np.zeros((size[1], size[0], 4), np.uint8)
    image[..., :3] = rgb
    image[..., 3] = 255
    return image


def write_show(folder: Path, body: str, size: tuple[int, int] = (16, 8)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "show.toml").write_text(HEAD.format(w=size[0], h=size[1]) + textwrap.dedent(body))
    return folder


def tinted_show(folder: Path) -> Path:
    shaders = folder / "shaders"
    shaders.mkdir(parents=True)
    (shaders / "tinted.fs").write_text(TINTED)
    (shaders / "tinted.vs").write_text(TINT_VS % "1.0")
    write_png(shaders / "tex.png", solid((200, 0, 0)))
    return write_show(
        folder,
        """
        [[layers]]
        name = "pic"
        kind = "isf"
        shader = "shaders/tinted.fs"
        """,
    )


# -- 1. identity -------------------------------------------------------------------------


def test_the_identity_of_an_isf_file_covers_its_vertex_shader_and_imported_images(tmp_path):
    folder = tinted_show(tmp_path / "show")
    fs = folder / "shaders" / "tinted.fs"
    deps = isf_dependencies(fs)
    assert deps == (fs.with_suffix(".vs"), fs.with_suffix(".vert"), fs.parent / "tex.png")
    first = ContentId.of(fs)
    assert ContentId.of(fs) == first and not first.changed()  # stat only: nothing changed
    (fs.with_suffix(".vs")).write_text(TINT_VS % "0.5")  # only the .vs is saved
    second = ContentId.of(fs)
    assert second != first and first.changed()
    write_png(fs.parent / "tex.png", solid((0, 200, 0), (8, 8)))  # the image replaced
    third = ContentId.of(fs)
    assert third != second
    fs.with_suffix(".vert").write_text("// a .vert appears\n")
    assert ContentId.of(fs) != third
    # the show watches them (the .vert too, now that it is there)
    watched = load_show(folder).watched_files()
    assert {fs.with_suffix(".vs"), fs.with_suffix(".vert"), fs.parent / "tex.png"} <= watched


def step_until(player: ShowPlayer, condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    t = 0.0
    while time.monotonic() < deadline:
        player.step(t)
        if condition():
            return True
        t += 0.1
        time.sleep(0.02)
    return False


def test_a_running_show_redraws_when_only_the_vs_or_the_imported_image_is_saved(ctx, tmp_path):
    folder = tinted_show(tmp_path / "show")
    player = ShowPlayer(load_show(folder), HeadlessOutputs(ctx))
    watcher = ShowWatcher(player, debounce_s=0.05).start()
    try:

        def shows(rgb: tuple[float, float, float]):
            want = np.array([level(c) for c in rgb])
            return lambda: (
                np.abs(player.renderer.read_output("out")[4, 8, :3].astype(float) - want).max() <= 1
            )

        assert step_until(player, shows((200 / 255, 0.0, 0.0)))
        (folder / "shaders" / "tinted.vs").write_text(TINT_VS % "0.5")
        assert step_until(player, shows((100 / 255, 0.0, 0.0)))
        write_png(folder / "shaders" / "tex.png", solid((0, 240, 0)))
        assert step_until(player, shows((0.0, 120 / 255, 0.0)))
    finally:
        watcher.close()
        player.renderer.release()


def test_a_trial_is_run_again_when_only_the_vs_changes(tmp_path):
    folder = tinted_show(tmp_path / "show")
    fs = folder / "shaders" / "tinted.fs"
    trials = ShaderTrials(TrialBudget(timeout_s=20.0))
    try:
        first = trials.run(trials.key("isf", fs, (16, 8)))
        assert first.outcome == OK
        fs.with_suffix(".vs").write_text(TINT_VS % "missing")
        broken = trials.run(trials.key("isf", fs, (16, 8)))
        assert broken.outcome == FAILED and broken is not first
        assert broken.errors[0].file == fs.with_suffix(".vs")
        assert broken.errors[0].line == 4
    finally:
        trials.close()


# -- 2. image inputs -----------------------------------------------------------------------

MASK_GEN = """/*{ "ISFVSN": "2", "INPUTS": [ { "NAME": "mask", "TYPE": "image" } ] }*/
void main() { gl_FragColor = IMG_NORM_PIXEL(mask, isf_FragNormCoord); }
"""
MASK_FILTER = """/*{
    "ISFVSN": "2",
    "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" }, { "NAME": "mask", "TYPE": "image" } ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(c.rgb * IMG_THIS_NORM_PIXEL(mask).r, c.a);
}
"""
# a wipe shaped by an image: the new picture where the mask is below progress
MASK_WIPE = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float" },
        { "NAME": "shape", "TYPE": "image" }
    ]
}*/
void main() {
    vec2 uv = isf_FragNormCoord;
    float m = IMG_NORM_PIXEL(shape, uv).r;
    gl_FragColor = m < progress ? IMG_NORM_PIXEL(endImage, uv) : IMG_NORM_PIXEL(startImage, uv);
}
"""


def image_show(folder: Path, body: str) -> Path:
    shaders, media = folder / "shaders", folder / "media"
    shaders.mkdir(parents=True, exist_ok=True)
    media.mkdir(parents=True, exist_ok=True)
    for name, text in (("gen", MASK_GEN), ("masked", MASK_FILTER), ("shape", MASK_WIPE)):
        (shaders / f"{name}.fs").write_text(text)
    write_png(media / "a.png", solid((10, 20, 30)))
    write_png(media / "b.png", solid((128, 64, 32)))
    half = solid((0, 0, 0), (16, 8))
    half[:, 8:, :3] = 255  # left half 0, right half 1
    write_png(media / "half.png", half)
    (media / "notes.png").write_text("not an image at all\n")
    return write_show(folder, body)


def test_a_generator_image_parameter_is_loaded_once_and_a_cue_switches_it_at_the_fade_start(
    ctx, tmp_path
):
    show = load_show(
        image_show(
            tmp_path / "show",
            """
            [[layers]]
            name = "g"
            kind = "isf"
            shader = "shaders/gen.fs"
            params = { mask = "media/a.png" }

            [[cues]]
            name = "first"
            [[cues]]
            name = "other"
            fade = 4.0
            [cues.layers.g]
            params.mask = "media/b.png"
            """,
        )
    )
    assert show.layers[0].params["mask"] == "media/a.png"
    engine = CueEngine(show)
    engine.go(0.0)
    renderer = Renderer(ctx, show)
    try:
        for t in (0.0, 0.1, 0.2):
            renderer.render(engine.tick(t))
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (10, 20, 30)
        source = next(iter(renderer._sources.values()))
        assert source._image_inputs.loads == 1  # three frames, one read of the file
        engine.go(1.0)
        renderer.render(engine.tick(1.05))  # the fade has just started: already b.png
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (128, 64, 32)
        assert source._image_inputs.loads == 2
    finally:
        renderer.release()


def test_a_filter_image_parameter_from_the_show_and_from_a_cue(ctx, tmp_path):
    show = load_show(
        image_show(
            tmp_path / "show",
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = [1.0, 1.0, 1.0, 1.0]
            filters = [ { shader = "shaders/masked.fs", params = { mask = "media/half.png" } } ]

            [[cues]]
            name = "first"
            [[cues]]
            name = "other"
            [cues.layers.wash]
            params.masked.mask = "media/b.png"
            """,
        )
    )
    media = show.file.parent / "media"
    files = [(key, path, kind) for key, path, kind in show.content_files() if kind == "image"]
    assert files == [
        ("layers[0].params.masked.mask", media / "half.png", "image"),
        ("cues[1].layers.wash.params.masked.mask", media / "b.png", "image"),
    ]  # so check probes them, media lists them as used, and the watcher sees them
    assert {media / "half.png", media / "b.png"} <= show.watched_files()
    engine = CueEngine(show)
    engine.go(0.0)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(engine.tick(0.0))
        out = renderer.read_output("out")
        assert (out[:, :8, :3] == 0).all() and (out[:, 8:, :3] == 255).all()
        engine.go(0.5)
        renderer.render(engine.tick(0.6))
        out = renderer.read_output("out")
        assert (out[..., :3] == 128).all()  # white × b.png's red 128/255
    finally:
        renderer.release()


def test_a_transition_image_parameter_shapes_the_change(ctx, tmp_path):
    show = load_show(
        image_show(
            tmp_path / "show",
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = [1.0, 0.0, 0.0, 1.0]

            [[cues]]
            name = "first"
            [[cues]]
            name = "blue"
            fade = 2.0
            transition = "shaders/shape.fs"
            transition_params = { shape = "media/half.png" }
            [cues.layers.wash]
            color = [0.0, 0.0, 1.0, 1.0]
            """,
        )
    )
    engine = CueEngine(show)
    engine.go(0.0)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(engine.tick(0.0))
        engine.go(1.0)
        renderer.render(engine.tick(2.0))  # progress 0.5: the mask's 0 half has changed
        out = renderer.read_output("out")
        assert (out[:, :8, :3] == (0, 0, 255)).all()
        assert (out[:, 8:, :3] == (255, 0, 0)).all()
    finally:
        renderer.release()


@pytest.mark.parametrize(
    "params, key, message",
    [
        (
            '{ mask = "media/nope.png" }',
            "layers[0].params.mask",
            "image not found: media/nope.png",
        ),
        (
            '{ mask = "media/notes.png" }',
            "layers[0].params.mask",
            "media/notes.png: not an image file",
        ),
    ],
)
def test_a_bad_image_parameter_names_the_file_the_key_and_what_was_expected(
    tmp_path, params, key, message
):
    folder = image_show(
        tmp_path / "show",
        f"""
        [[layers]]
        name = "g"
        kind = "isf"
        shader = "shaders/gen.fs"
        params = {params}
        """,
    )
    with pytest.raises(ValidationError) as caught:
        load_show(folder)
    (problem,) = caught.value.problems
    assert problem.key_path == key and problem.file == folder / "show.toml"
    assert message in problem.message
    assert "expected the name of an image file in the show folder" in problem.message


def test_bad_image_parameters_of_filters_transitions_and_cues_are_refused(tmp_path):
    folder = image_show(
        tmp_path / "show",
        """
        [[layers]]
        name = "wash"
        kind = "solid"
        color = [1.0, 1.0, 1.0, 1.0]
        filters = [ { shader = "shaders/masked.fs", params = { mask = "media/gone.png" } } ]

        [[cues]]
        name = "a"
        fade = 1.0
        transition = "shaders/shape.fs"
        transition_params = { shape = "media/notes.png" }
        [cues.layers.wash]
        color = [0.0, 0.0, 1.0, 1.0]
        params.masked.mask = "media/missing.png"
        """,
    )
    with pytest.raises(ValidationError) as caught:
        load_show(folder)
    where = {p.key_path: p.message for p in caught.value.problems}
    assert "image not found: media/gone.png" in where["layers[0].filters[0].params.mask"]
    assert "not an image file" in where["cues[0].transition_params.shape"]
    # with the layer's own value good, the cue's is checked against the filter's input
    text = (folder / "show.toml").read_text().replace("media/gone.png", "media/half.png")
    (folder / "show.toml").write_text(text.replace("media/notes.png", "media/half.png"))
    with pytest.raises(ValidationError) as caught:
        load_show(folder)
    (problem,) = caught.value.problems
    assert problem.key_path == "cues[0].layers.wash.params.masked.mask"
    assert "image not found: media/missing.png" in problem.message


# -- 3. VVISF's long default, DATE offline ------------------------------------------------


def test_a_long_without_default_reads_0_as_in_vvisf(ctx, tmp_path):
    path = write_isf(
        tmp_path,
        "menu",
        {
            "ISFVSN": "2",
            "INPUTS": [
                {"NAME": "mode", "TYPE": "long", "VALUES": [4, 8], "LABELS": ["four", "eight"]},
                {"NAME": "count", "TYPE": "long", "MIN": 2, "MAX": 9},
            ],
        },
        "void main() { gl_FragColor = vec4(float(mode) / 10.0, float(count) / 10.0, 1.0, 1.0); }",
    )
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((2, 2), 0.0, {}))
        assert tuple(out[0, 0, :3]) == (0, 0, 255)
        out = read_rgba(prog.render((2, 2), 0.0, {"mode": 8, "count": 5}))
        assert tuple(out[0, 0, :2]) == (level(0.8), level(0.5))
    finally:
        prog.release()


CLOCK = """/*{ "ISFVSN": "2" }*/
void main() {
    gl_FragColor = vec4(DATE.w / 86400.0, DATE.z / 31.0, (DATE.x - 1990.0) / 100.0, 1.0);
}
"""


def test_date_in_an_offline_render_is_the_render_origin_plus_the_show_time(ctx, tmp_path):
    folder = tmp_path / "show"
    (folder / "shaders").mkdir(parents=True)
    (folder / "shaders" / "clock.fs").write_text(CLOCK)
    show = load_show(
        write_show(
            folder,
            """
            [[layers]]
            name = "clock"
            kind = "isf"
            shader = "shaders/clock.fs"
            """,
        )
    )
    frames = []
    for _ in range(2):  # two renders of the same show time: the same picture
        renderer = Renderer(ctx, show, offline=True)
        try:
            renderer.render(CueEngine(show).tick(86400.0 + 21600.0))  # day 2, 06:00
            frames.append(renderer.read_output("out")[4, 8, :3].copy())
        finally:
            renderer.release()
    # 2000-01-01 00:00 + 1 day 6 hours = 2000-01-02, 21600 s into the day
    want = (level(21600 / 86400), level(2 / 31), level(10 / 100))
    assert tuple(frames[0]) == want and tuple(frames[1]) == want


# -- 4. audio MAX -------------------------------------------------------------------------


def dft_magnitudes(x: np.ndarray) -> np.ndarray:
    """The reference: the definition of the windowed DFT summed in float64 (symmetric Hann
    window ``0.5 − 0.5·cos(2πk/(n−1))``, ``|X| · 2 / Σw``), bins 0..n/2."""
    n = x.shape[0]
    k = np.arange(n)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1))
    basis = np.exp(-2j * np.pi * np.outer(np.arange(n // 2 + 1), k) / n)
    return np.abs(basis @ (x * w)) * 2.0 / w.sum()


def band_means(mags: np.ndarray, edges: list[int]) -> list[float]:
    return [float(mags[a:b].mean()) for a, b in itertools.pairwise(edges)]


def test_audio_fft_max_groups_the_spectrum_into_that_many_columns():
    n = 1024
    tone = np.sin(2 * np.pi * 16 * np.arange(n) / n)  # a sine exactly on bin 16
    ref = dft_magnitudes(tone)
    full = spectrum_texture_data(tone[:, None])[0, :, 0]
    assert full.shape == (513,) and np.allclose(full, ref, atol=1e-6)
    four = spectrum_texture_data(tone[:, None], 4)[0, :, 0]
    assert four.shape == (4,)  # columns of bins 0..127, 128..255, 256..383, 384..512
    want = band_means(ref, [0, 128, 256, 384, 513])
    assert np.allclose(four, want, atol=1e-6)
    assert want[0] == pytest.approx(2.0 / 128, abs=1e-4)  # 0.5 + 1 + 0.5 over 128 bins
    assert audio_block_samples("audio", 256) == 256
    assert audio_block_samples("audio", None) == 1024
    assert audio_block_samples("audioFFT", 4) == 1024
    assert audio_block_samples("audioFFT", 600) == 1198  # rfft of 1198 samples: 600 bins
    assert spectrum_texture_data(np.zeros((1198, 2)), 600).shape == (2, 600, 4)


SIZES = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "wave", "TYPE": "audio", "MAX": 256 },
        { "NAME": "bands", "TYPE": "audioFFT", "MAX": 4 },
        { "NAME": "fine", "TYPE": "audioFFT", "MAX": 600 }
    ]
}*/
void main() {
    gl_FragColor = vec4(IMG_SIZE(wave).x / 1000.0, IMG_SIZE(fine).x / 1000.0,
                        IMG_NORM_PIXEL(bands, vec2(0.125, 0.5)).r * 10.0, 1.0);
}
"""


def test_a_layer_gets_max_samples_and_bins_from_the_soundtrack(ctx, tmp_path):
    folder = tmp_path / "show"
    (folder / "shaders").mkdir(parents=True)
    (folder / "shaders" / "sizes.fs").write_text(SIZES)
    show = load_show(
        write_show(
            folder,
            """
            [[layers]]
            name = "meter"
            kind = "isf"
            shader = "shaders/sizes.fs"
            """,
        )
    )
    asked: list[int] = []

    def tap(n: int) -> np.ndarray:  # the soundtrack: a sine exactly on bin 16 of 1024
        asked.append(n)
        return np.repeat(np.sin(2 * np.pi * 16 * np.arange(n) / 1024)[:, None], 2, axis=1)

    renderer = Renderer(ctx, show)
    renderer.set_soundtrack(tap, 48000)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        got = renderer.read_output("out")[4, 8, :3]
        assert sorted(asked) == [256, 1024, 1198]
        tone = np.sin(2 * np.pi * 16 * np.arange(1024) / 1024)
        first_band = band_means(dft_magnitudes(tone), [0, 128])[0]
        assert tuple(got) == (level(0.256), level(0.6), level(10 * first_band))
    finally:
        renderer.release()


LOUDNESS = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "wave", "TYPE": "audio", "MAX": 1 }
    ]
}*/
void main() {
    // one sample, the newest: 0.5 + 0.5 · sample (0.5 = silence)
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(c.rgb * IMG_NORM_PIXEL(wave, vec2(0.5)).r, c.a);
}
"""


def test_a_filter_hears_the_soundtrack_too(ctx, tmp_path):
    folder = tmp_path / "show"
    (folder / "shaders").mkdir(parents=True)
    (folder / "shaders" / "loudness.fs").write_text(LOUDNESS)
    show = load_show(
        write_show(
            folder,
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = [1.0, 1.0, 1.0, 1.0]
            filters = [ { shader = "shaders/loudness.fs" } ]
            """,
        )
    )
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))  # no soundtrack: silence reads 0.5
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (level(0.5),) * 3
        renderer.set_soundtrack(lambda n: np.full((n, 2), 0.5, np.float32), 48000)
        renderer.render(CueEngine(show).tick(0.1))
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (level(0.75),) * 3
    finally:
        renderer.release()


def test_img_this_norm_pixel_reads_where_the_vertex_init_put_the_fragment(ctx, tmp_path):
    # VVISF computes IMG_THIS_NORM_PIXEL's coordinate inside isf_vertShaderInit(): a .vs
    # that changes isf_FragNormCoord afterwards moves IMG_NORM_PIXEL(img,
    # isf_FragNormCoord), not IMG_THIS_NORM_PIXEL(img)
    path = write_isf(
        tmp_path,
        "moved",
        {"ISFVSN": "2", "INPUTS": [{"NAME": "pic", "TYPE": "image"}]},
        """
        void main() {
            gl_FragColor = vec4(IMG_THIS_NORM_PIXEL(pic).r,
                                IMG_NORM_PIXEL(pic, isf_FragNormCoord).r, 0.0, 1.0);
        }
        """,
        vertex="""
        void main() {
            isf_vertShaderInit();
            isf_FragNormCoord = vec2(0.25, 0.25);  // the bottom (blue) half, everywhere
        }
        """,
    )
    from tests.isfkit import upload

    picture = np.zeros((8, 16, 4), np.uint8)
    picture[:4, :, 0] = 255  # top half red
    picture[4:, :, 2] = 255
    picture[..., 3] = 255
    tex = upload(ctx, picture)
    prog = program(ctx, path)
    try:
        out = read_rgba(prog.render((16, 8), 0.0, {}, {"pic": tex}))
        assert (out[:4, :, 0] == 255).all() and (out[4:, :, 0] == 0).all()  # per pixel
        assert (out[..., 1] == 0).all()  # the moved coordinate: blue half, no red
    finally:
        tex.release()
        prog.release()


IMPORTING_FILTER = """/*{
    "ISFVSN": "2",
    "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ],
    "IMPORTED": { "tex": { "PATH": "tex.png" } }
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(c.rgb * IMG_THIS_NORM_PIXEL(tex).rgb, c.a);
}
"""


def test_a_filter_is_made_again_when_only_its_imported_image_is_replaced(ctx, tmp_path):
    folder = tmp_path / "show"
    (folder / "shaders").mkdir(parents=True)
    (folder / "shaders" / "imported.fs").write_text(IMPORTING_FILTER)
    write_png(folder / "shaders" / "tex.png", solid((255, 0, 0)))
    body = """
        [[layers]]
        name = "wash"
        kind = "solid"
        color = [1.0, 1.0, 1.0, 1.0]
        filters = [ { shader = "shaders/imported.fs" } ]
        """
    show = load_show(write_show(folder, body))
    renderer = Renderer(ctx, show)
    try:
        renderer.render(CueEngine(show).tick(0.0))
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (255, 0, 0)
        write_png(folder / "shaders" / "tex.png", solid((0, 0, 255), (8, 8)))
        renderer.set_show(load_show(folder))  # what show.reload does with the new folder
        renderer.render(CueEngine(show).tick(0.1))
        assert tuple(renderer.read_output("out")[4, 8, :3]) == (0, 0, 255)
    finally:
        renderer.release()


def test_image_inputs_keep_a_bounded_number_of_pictures(ctx, tmp_path):
    from mapping.gl.isf import ImageInputs
    from mapping.isf import parse_isf

    (tmp_path / "gen.fs").write_text(MASK_GEN)
    doc = parse_isf(tmp_path / "gen.fs")
    for i in range(12):
        write_png(tmp_path / f"m{i}.png", solid((i * 20, 0, 0)))
    images = ImageInputs(ctx, 16384, "test")
    try:
        for i in range(12):
            tex = images.textures(doc, {"mask": f"m{i}.png"}, tmp_path)["mask"]
            assert read_rgba(tex)[0, 0, 0] == i * 20
        assert images.loads == 12 and len(images._textures) == ImageInputs.KEEP
        images.textures(doc, {"mask": "m11.png"}, tmp_path)  # still held: not read again
        assert images.loads == 12
        images.textures(doc, {"mask": "m0.png"}, tmp_path)  # let go of: read again
        assert images.loads == 13
    finally:
        images.release()
