"""ISF filters on layers and ISF transitions in cues: pixels read back and checked.

The shaders are written here from the ISF specification, one job each: ``invert`` (a
filter with a float ``amount``), ``tint`` (a filter multiplying by a ``color`` input) and
``wipe`` (a transition: the end image left of ``progress``, the start image right of it).
Expected values are the definitions applied by hand to 8-bit levels: invert is
``255 − x``, tint is ``x · c``, a wipe at progress p shows the new picture on the columns
whose centre is left of ``p · width``. Each pass stores 8 bits, so a product is within 1
level of its exact value; inversions are exact.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mapping.cues import CueEngine, PreviousContent
from mapping.errors import ValidationError
from mapping.gl.renderer import Renderer
from mapping.show import load_show
from tests.videokit import write_timed_clip

INVERT = """/*{
    "ISFVSN": "2",
    "DESCRIPTION": "invert the colours, by amount",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(mix(c.rgb, 1.0 - c.rgb, amount), c.a);
}
"""

TINT = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "color", "TYPE": "color", "DEFAULT": [1.0, 0.5, 0.25, 1.0] }
    ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(c.rgb * color.rgb, c.a);
}
"""

WIPE = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 }
    ]
}*/
void main() {
    vec2 uv = isf_FragNormCoord;
    gl_FragColor = uv.x < progress ? IMG_NORM_PIXEL(endImage, uv) : IMG_NORM_PIXEL(startImage, uv);
}
"""

GENERATOR = """/*{ "ISFVSN": "2", "INPUTS": [] }*/
void main() { gl_FragColor = vec4(1.0, 0.0, 0.0, 1.0); }
"""

BROKEN = """/*{
    "ISFVSN": "2",
    "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = c * undefinedThing;
}
"""
BROKEN_LINE = 7  # the line of `undefinedThing` in the file

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

BASE = np.array([51.0, 102.0, 153.0])  # "#336699": 0.2, 0.4, 0.6
TINT_RGB = np.array([1.0, 0.5, 0.25])


def write_show(folder: Path, body: str, size: tuple[int, int] = (32, 16)) -> Path:
    shaders = folder / "shaders"
    shaders.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("invert", INVERT),
        ("tint", TINT),
        ("wipe", WIPE),
        ("gen", GENERATOR),
        ("broken", BROKEN),
    ):
        (shaders / f"{name}.fs").write_text(text)
    head = HEAD.format(w=size[0], h=size[1])
    (folder / "show.toml").write_text(head + textwrap.dedent(body))
    return folder


def canvas(ctx, show, frame, offline: bool = False) -> np.ndarray:
    renderer = Renderer(ctx, show, offline=offline)
    try:
        renderer.render(frame)
        return renderer.read_canvas()[..., :3].astype(float)
    finally:
        renderer.release()


def test_an_invert_filter_inverts_a_solid_layer_and_its_amount_is_a_faded_parameter(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = "#336699"
            filters = [{ shader = "shaders/invert.fs" }]
            [[cues]]
            name = "half"
            fade = 2.0
            [cues.layers.wash]
            params.invert.amount = 0.0
            """,
        )
    )
    assert show.layer("wash").params == {"invert.amount": 1.0}
    engine = CueEngine(show)
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(0.0))[8, 8], 255.0 - BASE)
    engine.go(0.0)  # amount 1 → 0 over 2 s: at 1 s halfway between inverted and not
    np.testing.assert_allclose(canvas(ctx, show, engine.tick(1.0))[8, 8], [127.5] * 3, atol=0.5)
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(2.0))[8, 8], BASE)
    engine.set_param("wash", "invert.amount", 1.0, 2.0)  # what /layer/wash/param/… does
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(2.0))[8, 8], 255.0 - BASE)


def test_a_chain_runs_in_order_invert_then_tint_is_not_tint_then_invert(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            """
            [[layers]]
            name = "invert-tint"
            kind = "solid"
            color = "#336699"
            region = [0, 0, 16, 16]
            filters = [{ shader = "shaders/invert.fs" }, { shader = "shaders/tint.fs" }]
            [[layers]]
            name = "tint-invert"
            kind = "solid"
            color = "#336699"
            region = [16, 0, 16, 16]
            filters = [{ shader = "shaders/tint.fs" }, { shader = "shaders/invert.fs" }]
            """,
        )
    )
    picture = canvas(ctx, show, CueEngine(show).tick(0.0))
    np.testing.assert_allclose(picture[8, 4], [204.0, 76.5, 25.5], atol=0.5)
    np.testing.assert_allclose(picture[8, 20], [204.0, 204.0, 216.75], atol=1.0)
    # every pixel of each region alike: the chain covers the region exactly
    assert (picture[:, :16] == picture[8, 4]).all() and (picture[:, 16:] == picture[8, 20]).all()


def test_a_filter_is_named_after_its_file_made_a_parameter_name(tmp_path):
    write_show(tmp_path, "")
    (tmp_path / "shaders" / "Bad TV-2.fs").write_text(INVERT)
    (tmp_path / "shaders" / "3d.fs").write_text(INVERT)
    toml = tmp_path / "show.toml"
    toml.write_text(
        toml.read_text()
        + LAYER
        + 'filters = [{ shader = "shaders/Bad TV-2.fs" }, { shader = "shaders/3d.fs" }]\n'
    )
    layer = load_show(tmp_path).layer("wash")
    assert [f.name for f in layer.filters] == ["Bad_TV_2", "_3d"]
    assert set(layer.params) == {"Bad_TV_2.amount", "_3d.amount"}


def test_a_colour_input_set_in_the_show_file_reaches_the_filter(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = "#ffffff"
            [[layers.filters]]
            shader = "shaders/tint.fs"
            name = "grade"
            params = { color = [0.0, 1.0, 0.5] }
            """,
        )
    )
    assert show.layer("wash").filters[0].params == {"color": (0.0, 1.0, 0.5, 1.0)}
    np.testing.assert_allclose(
        canvas(ctx, show, CueEngine(show).tick(0.0))[8, 8], [0.0, 255.0, 127.5], atol=0.5
    )


def plain_and_inverted(ctx, tmp_path, file: str, size: tuple[int, int]):
    """The clip ``file`` drawn twice side by side, the right one through the invert filter:
    the canvas's left and right halves."""
    w, h = size
    show = load_show(
        write_show(
            tmp_path,
            f"""
            [[layers]]
            name = "plain"
            kind = "video"
            file = "{file}"
            region = [0, 0, {w}, {h}]
            [[layers]]
            name = "inverted"
            kind = "video"
            file = "{file}"
            region = [{w}, 0, {w}, {h}]
            filters = [{{ shader = "shaders/invert.fs" }}]
            """,
            size=(2 * w, h),
        )
    )
    picture = canvas(ctx, show, CueEngine(show).tick(0.0), offline=True)
    return picture[:, :w], picture[:, w:]


def test_a_filter_on_a_video_layer_takes_its_yuv_picture(ctx, tmp_path):
    write_timed_clip(tmp_path / "clip.mkv", [0], 1000, numbers=[0b10110010])
    plain, inverted = plain_and_inverted(ctx, tmp_path, "clip.mkv", (64, 48))
    assert plain.max() > 200 and plain.min() < 50  # the bars are there
    np.testing.assert_allclose(inverted, 255.0 - plain, atol=1.0)


def test_a_filter_on_a_hap_q_layer_takes_its_ycocg_picture(ctx, tmp_path):
    from tests.hapkit import encode_hap

    encode_hap(tmp_path / "clip.mov", "hap_q", size=(64, 32), frames=1)
    plain, inverted = plain_and_inverted(ctx, tmp_path, "clip.mov", (64, 32))
    assert plain.std() > 30  # testsrc2's bars and text are there
    np.testing.assert_allclose(inverted, 255.0 - plain, atol=1.0)


def test_a_filter_on_an_image_layer(ctx, tmp_path):
    from tests.showkit import write_png

    image = np.zeros((16, 32, 4), np.uint8)
    image[..., 0] = np.arange(32, dtype=np.uint8)[None, :] * 8
    image[..., 1] = 200
    image[..., 3] = 255
    write_png(tmp_path / "ramp.png", image)
    show = load_show(
        write_show(
            tmp_path,
            """
            [[layers]]
            name = "ramp"
            kind = "image"
            file = "ramp.png"
            filters = [{ shader = "shaders/invert.fs" }]
            """,
        )
    )
    picture = canvas(ctx, show, CueEngine(show).tick(0.0))
    np.testing.assert_array_equal(picture, 255.0 - image[..., :3])


SWAP = """
[[layers]]
name = "wash"
kind = "solid"
color = "#ff0000"
{filters}
[[cues]]
name = "to-blue"
fade = 2.0
curve = "{curve}"
{transition}
[cues.layers.wash]
color = "#0000ff"
"""
RED, BLUE = np.array([255.0, 0.0, 0.0]), np.array([0.0, 0.0, 255.0])


def swap_show(tmp_path: Path, transition: bool, filters: str = "", curve: str = "linear"):
    text = SWAP.format(
        filters=filters,
        curve=curve,
        transition='transition = "shaders/wipe.fs"' if transition else "",
    )
    return load_show(write_show(tmp_path, text))


def wiped(columns_new: int) -> np.ndarray:
    expected = np.empty((16, 32, 3))
    expected[:, :columns_new] = BLUE
    expected[:, columns_new:] = RED
    return expected


def test_a_wipe_transition_at_progress_0_half_and_1(ctx, tmp_path):
    show = swap_show(tmp_path, transition=True)
    engine = CueEngine(show)
    engine.go(0.0)
    start = engine.tick(0.0)
    assert start.layers[0].previous is not None
    assert start.layers[0].previous.transition == show.cues[0].transition
    np.testing.assert_array_equal(canvas(ctx, show, start), wiped(0))
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(1.0)), wiped(16))
    # progress exactly 1, still through the transition (the frame of the fade's end)
    last = engine.tick(1.0)
    lf = last.layers[0]
    assert lf.previous is not None
    at_one = dataclasses.replace(lf, previous=dataclasses.replace(lf.previous, weight=0.0))
    frame = dataclasses.replace(last, layers=(at_one,))
    np.testing.assert_array_equal(canvas(ctx, show, frame), wiped(32))
    done = engine.tick(2.0)
    assert done.layers[0].previous is None
    np.testing.assert_array_equal(canvas(ctx, show, done), wiped(32))


def test_the_transition_progress_follows_the_cue_curve(ctx, tmp_path):
    show = swap_show(tmp_path, transition=True, curve="ease-in")
    engine = CueEngine(show)
    engine.go(0.0)  # at 1 s of 2 the eased progress is 0.5² = 0.25: 8 columns of 32
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(1.0)), wiped(8))


def test_without_a_transition_the_plain_crossfade_is_unchanged(ctx, tmp_path):
    show = swap_show(tmp_path, transition=False)
    engine = CueEngine(show)
    engine.go(0.0)
    frame = engine.tick(1.0)
    assert frame.layers[0].previous == PreviousContent((1.0, 0.0, 0.0, 1.0), 1.0, 0.5, None)
    picture = canvas(ctx, show, frame)
    np.testing.assert_allclose(picture[8, 8], [127.5, 0.0, 127.5], atol=0.5)


def test_a_filtered_layer_crossfades_first_then_filters(ctx, tmp_path):
    show = swap_show(
        tmp_path, transition=False, filters='filters = [{ shader = "shaders/invert.fs" }]'
    )
    engine = CueEngine(show)
    engine.go(0.0)
    picture = canvas(ctx, show, engine.tick(1.0))
    np.testing.assert_allclose(picture[8, 8], [127.5, 255.0, 127.5], atol=0.5)
    show = swap_show(
        tmp_path, transition=True, filters='filters = [{ shader = "shaders/invert.fs" }]'
    )
    engine = CueEngine(show)
    engine.go(0.0)
    np.testing.assert_array_equal(canvas(ctx, show, engine.tick(1.0)), 255.0 - wiped(16))


def test_a_filter_that_does_not_compile_is_reported_and_skipped(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            """
            [[layers]]
            name = "wash"
            kind = "solid"
            color = "#336699"
            filters = [{ shader = "shaders/broken.fs" }, { shader = "shaders/invert.fs" }]
            """,
        )
    )
    renderer = Renderer(ctx, show)
    try:
        assert "broken.fs" in renderer.errors["wash"]  # compiled with the show, not at a cue
        renderer.render(CueEngine(show).tick(0.0))
        picture = renderer.read_canvas()[..., :3].astype(float)
        error = renderer.errors["wash"]
    finally:
        renderer.release()
    np.testing.assert_array_equal(picture[8, 8], 255.0 - BASE)  # the other filter ran
    assert "broken.fs" in error and f":{BROKEN_LINE}" in error and "undefinedThing" in error


def problems_of(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(ValidationError) as info:
        load_show(write_show(tmp_path, body))
    return [f"{p.key_path}: {p.message}" for p in info.value.problems]


LAYER = """
[[layers]]
name = "wash"
kind = "solid"
color = "#336699"
"""


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            '[{ shader = "shaders/nothing.fs" }]',
            "layers[0].filters[0].shader: file not found: shaders/nothing.fs",
        ),
        (
            '[{ shader = "shaders/gen.fs" }]',
            "layers[0].filters[0].shader: shaders/gen.fs: an ISF generator, not a filter "
            "(a filter has an image input named inputImage)",
        ),
        (
            '[{ shader = "shaders/wipe.fs" }]',
            "layers[0].filters[0].shader: shaders/wipe.fs: an ISF transition, not a filter",
        ),
        (
            '[{ shadr = "shaders/invert.fs" }]',
            "layers[0].filters[0].shadr: unknown key (did you mean 'shader'?)",
        ),
        (
            '[{ shader = "shaders/invert.fs", params = { amout = 0.5 } }]',
            "layers[0].filters[0].params.amout: invert.fs has no input 'amout' "
            "(did you mean 'amount'?)",
        ),
        (
            '[{ shader = "shaders/invert.fs", params = { amount = 2.0 } }]',
            "layers[0].filters[0].params.amount: expected a number in 0..1, got 2 "
            "(as shaders/invert.fs declares)",
        ),
        (
            '[{ shader = "shaders/tint.fs", params = { color = 3 } }]',
            "layers[0].filters[0].params.color: expected a colour",
        ),
        (
            '[{ shader = "shaders/invert.fs" }, { shader = "shaders/invert.fs" }]',
            "layers[0].filters[1].name: two filters named 'invert' on this layer",
        ),
        ('"shaders/invert.fs"', "layers[0].filters: expected an array of filters"),
        (
            '[{ shader = "shaders/invert.fs", name = "my blur" }]',
            "layers[0].filters[0].name: expected a filter name of letters, digits and '_'",
        ),
    ],
)
def test_bad_filters_name_the_file_and_the_key_path(tmp_path, filters, expected):
    problems = problems_of(tmp_path, LAYER + f"filters = {filters}\n")
    assert any(p.startswith(expected) for p in problems), problems


def test_a_cue_may_only_fade_filter_inputs_the_layer_has(tmp_path):
    problems = problems_of(
        tmp_path,
        LAYER
        + """filters = [{ shader = "shaders/invert.fs" }]
[[cues]]
name = "x"
[cues.layers.wash]
params.invert.amont = 0.5
""",
    )
    assert any(
        p.startswith("cues[0].layers.wash.params.invert.amont: layer 'wash' declares no parameter")
        and "did you mean 'invert.amount'?" in p
        for p in problems
    ), problems


@pytest.mark.parametrize(
    ("cue", "expected"),
    [
        (
            'transition = "shaders/invert.fs"',
            "cues[0].transition: shaders/invert.fs: an ISF filter, not a transition",
        ),
        (
            "transition_params = { progress = 0.5 }",
            "cues[0].transition_params: transition_params without a transition",
        ),
        (
            'transition = "shaders/wipe.fs"\ntransition_params = { progress = 0.5 }',
            "cues[0].transition_params.progress: wipe.fs's input 'progress' is set by the show",
        ),
        (
            '[cues.layers.wash]\ntransition = "shaders/gen.fs"',
            "cues[0].layers.wash.transition: shaders/gen.fs: an ISF generator, not a transition",
        ),
        (
            '[cues.layers.wash]\ntransiton = "shaders/wipe.fs"',
            "cues[0].layers.wash.transiton: unknown key (did you mean 'transition'?)",
        ),
    ],
)
def test_bad_transitions_name_the_file_and_the_key_path(tmp_path, cue, expected):
    problems = problems_of(tmp_path, LAYER + '[[cues]]\nname = "x"\n' + cue + "\n")
    assert any(p.startswith(expected) for p in problems), problems


def test_a_layer_transition_overrides_the_cue_one(tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            LAYER
            + """
[[layers]]
name = "other"
kind = "solid"
color = "#000000"
[[cues]]
name = "x"
fade = 1.0
transition = "shaders/wipe.fs"
[cues.layers.wash]
color = "#ffffff"
[cues.layers.other]
color = "#ffffff"
transition = "shaders/wipe.fs"
""",
        )
    )
    wipe = (tmp_path / "shaders" / "wipe.fs").resolve()
    assert show.cues[0].transition.file == wipe
    assert show.cues[0].layers["other"].transition.file == wipe
    assert show.cues[0].layers["wash"].transition is None  # the cue's applies
    engine = CueEngine(show)
    engine.go(0.0)
    frame = engine.tick(0.5)
    assert all(lf.previous.transition.file == wipe for lf in frame.layers)


def test_check_compiles_filters_and_names_the_file_line_and_key_path(ctx, tmp_path):
    from mapping.check import check_show
    from mapping.gl.context import create_headless_context

    write_show(
        tmp_path,
        LAYER + 'filters = [{ shader = "shaders/invert.fs" }, { shader = "shaders/broken.fs" }]\n',
    )
    report = check_show(tmp_path, create_headless_context)
    broken = (tmp_path / "shaders" / "broken.fs").resolve()
    assert {(p.file.resolve(), p.key_path, p.line) for p in report.problems} == {
        (broken, "layers[0].filters[1].shader", BROKEN_LINE)
    }


MOVING = """/*{ "ISFVSN": "2", "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ] }*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage) * (0.5 + 0.5 * sin(TIME)); }
"""


def test_a_layer_is_redrawn_by_itself_only_when_a_filter_reads_time(ctx, tmp_path):
    (tmp_path / "shaders").mkdir()
    (tmp_path / "shaders" / "moving.fs").write_text(MOVING)
    show = load_show(
        write_show(
            tmp_path,
            LAYER
            + 'filters = [{ shader = "shaders/invert.fs" }]\n'
            + '[[layers]]\nname = "pulse"\nkind = "solid"\ncolor = "#ffffff"\n'
            + 'filters = [{ shader = "shaders/moving.fs" }]\n',
        )
    )
    frame = CueEngine(show).tick(0.0)
    renderer = Renderer(ctx, show)
    try:
        renderer.render(frame)
        still = dataclasses.replace(frame, layers=frame.layers[:1])
        assert not renderer.animating(still)  # a still colour through invert: drawn once
        assert renderer.animating(frame)  # the pulse reads TIME
    finally:
        renderer.release()


def test_a_colour_input_of_a_filter_fades_in_a_cue(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            LAYER.replace("#336699", "#ffffff")
            + 'filters = [{ shader = "shaders/tint.fs" }]\n'
            + '[[cues]]\nname = "green"\nfade = 2.0\n[cues.layers.wash]\n'
            + "params.tint.color = [0.0, 1.0, 0.0]\n",
        )
    )
    assert show.layer("wash").param_spec("tint.color").type == "color"
    engine = CueEngine(show)
    engine.go(0.0)  # (1, 0.5, 0.25) → (0, 1, 0) over 2 s: halfway at 1 s
    picture = canvas(ctx, show, engine.tick(1.0))
    np.testing.assert_allclose(picture[8, 8], [127.5, 191.25, 31.875], atol=0.5)


def test_the_layers_params_table_may_start_a_filter_input(ctx, tmp_path):
    show = load_show(
        write_show(
            tmp_path,
            LAYER
            + 'filters = [{ shader = "shaders/invert.fs", params = { amount = 1.0 } }]\n'
            + "params.invert.amount = 0.0\n",  # the layer's table wins over the filter's
        )
    )
    assert show.layer("wash").params["invert.amount"] == 0.0
    np.testing.assert_array_equal(canvas(ctx, show, CueEngine(show).tick(0.0))[8, 8], BASE)
