"""ISF filters on layers and ISF transitions on cues, as the show file gives them.

``filters = [...]`` on a layer, the filters' inputs as layer parameters ``<filter>.<input>``,
a cue's (or a cue layer's) ``transition`` and ``transition_params``: what ``load_show``
builds and every problem it reports, written out literally from the ISF and show texts of
each test. Pure: ``mapping.isf`` parses the files, nothing is compiled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.params import ParamSpec
from mapping.show import Filter, Show, Transition, load_show

INVERT = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "inputImage", "TYPE": "image" },
        { "NAME": "amount", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "on", "TYPE": "bool", "DEFAULT": true }
    ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(mix(c.rgb, 1.0 - c.rgb, amount), c.a);
}
"""

WIPE = """/*{
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "startImage", "TYPE": "image" },
        { "NAME": "endImage", "TYPE": "image" },
        { "NAME": "progress", "TYPE": "float", "DEFAULT": 0.0, "MIN": 0.0, "MAX": 1.0 },
        { "NAME": "soft", "TYPE": "float", "DEFAULT": 0.1, "MIN": 0.0, "MAX": 0.5 }
    ]
}*/
void main() {
    vec2 uv = isf_FragNormCoord;
    gl_FragColor = uv.x < progress ? IMG_NORM_PIXEL(endImage, uv) : IMG_NORM_PIXEL(startImage, uv);
}
"""

HEAD = """\
schema_version = 1
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
[[layers]]
name = "c"
kind = "solid"
color = "#ff0000"
"""
"""Ten lines: the layer's own keys follow on line 11."""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shaders = tmp_path / "shaders"
    shaders.mkdir()
    for name in ("invert.fs", "Bad TV.fs", "9lives.fs"):
        (shaders / name).write_text(INVERT, encoding="utf-8")
    (shaders / "wipe.fs").write_text(WIPE, encoding="utf-8")
    return tmp_path


def load(folder: Path, extra: str) -> Show:
    (folder / "show.toml").write_text(HEAD + extra, encoding="utf-8")
    return load_show(folder)


def problems(folder: Path, extra: str) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationError) as info:
        load(folder, extra)
    return [(p.key_path, p.message, p.line) for p in info.value.problems]


def test_filters_their_names_and_their_inputs_as_layer_parameters(folder: Path) -> None:
    extra = (
        'filters = [{ shader = "shaders/invert.fs" }, '
        '{ shader = "shaders/invert.fs", name = "inv2", params = { amount = 0.25 } }, '
        '{ shader = "shaders/Bad TV.fs" }, { shader = "shaders/9lives.fs" }]\n'
        'params = { invert = { amount = 0.5 }, "inv2.on" = false }\n'
    )
    layer = load(folder, extra).layers[0]
    shaders = folder / "shaders"
    assert layer.filters == (
        Filter("invert", shaders / "invert.fs", {}),
        Filter("inv2", shaders / "invert.fs", {"amount": 0.25}),
        Filter("Bad_TV", shaders / "Bad TV.fs", {}),
        Filter("_9lives", shaders / "9lives.fs", {}),
    )
    assert layer.params == {
        "invert.amount": 0.5,
        "invert.on": True,
        "inv2.amount": 0.25,
        "inv2.on": False,
        "Bad_TV.amount": 1.0,
        "Bad_TV.on": True,
        "_9lives.amount": 1.0,
        "_9lives.on": True,
    }
    assert layer.param_specs[:4] == (
        ParamSpec("invert.amount", "float", 0.5, 0.0, 1.0),
        ParamSpec("invert.on", "bool", True),
        ParamSpec("inv2.amount", "float", 0.25, 0.0, 1.0),
        ParamSpec("inv2.on", "bool", False),
    )
    assert layer.declared_by is None


def test_a_filters_files_are_listed_for_check_and_the_watcher(folder: Path) -> None:
    show = load(folder, 'filters = [{ shader = "shaders/invert.fs" }]\n')
    entry = ("layers[0].filters[0].shader", folder / "shaders" / "invert.fs", "isf")
    assert show.isf_files() == [entry]
    assert show.content_files() == [entry]
    assert show.media_files() == [entry[:2]]
    assert (folder / "shaders" / "invert.fs") in show.watched_files()


def test_every_bad_filter_is_reported(folder: Path) -> None:
    extra = (
        'filters = [3, { shader = "shaders/wipe.fs" }, '
        '{ shader = "shaders/invert.fs", name = "1x" }, '
        '{ shader = "shaders/invert.fs", name = "a" }, '
        '{ shader = "shaders/invert.fs", name = "a" }, '
        '{ shader = "shaders/invert.fs", shadr = 1, '
        "params = { inputImage = 1, amt = 2, amount = 2 } }, "
        '{ shader = "shaders/invert.fs", name = "b", params = 4 }]\n'
    )
    assert problems(folder, extra) == [
        (
            "layers[0].filters[0]",
            'expected a table like { shader = "shaders/blur.fs" }, got number 3',
            11,
        ),
        (
            "layers[0].filters[1].shader",
            "shaders/wipe.fs: an ISF transition, not a filter "
            "(a filter has an image input named inputImage)",
            11,
        ),
        (
            "layers[0].filters[2].name",
            "expected a filter name of letters, digits and '_' (not first), got '1x'",
            11,
        ),
        ("layers[0].filters[4].name", "two filters named 'a' on this layer: give each a name", 11),
        (
            "layers[0].filters[5].shadr",
            "unknown key (did you mean 'shader'?); expected one of: shader, name, params",
            11,
        ),
        (
            "layers[0].filters[5].params.inputImage",
            "invert.fs's input 'inputImage' is set by the show itself "
            "(the layer's picture, or the fade's progress)",
            11,
        ),
        (
            "layers[0].filters[5].params.amt",
            "invert.fs has no input 'amt' (did you mean 'amount'?); its inputs: amount, on",
            11,
        ),
        (
            "layers[0].filters[5].params.amount",
            "expected a number in 0..1, got 2 (as shaders/invert.fs declares)",
            11,
        ),
        ("layers[0].filters[6].params", "expected a table like { amount = 0.5 }, got number 4", 11),
    ]


def test_filters_that_are_not_an_array(folder: Path) -> None:
    assert problems(folder, "filters = 3\n") == [
        (
            "layers[0].filters",
            'expected an array of filters like [{ shader = "shaders/blur.fs" }], got number 3',
            11,
        )
    ]


def test_bad_filter_inputs_in_the_layers_params(folder: Path) -> None:
    extra = (
        'filters = [{ shader = "shaders/invert.fs" }]\n'
        "params = { invert = { amt = 1, amount = 3 } }\n"
    )
    assert problems(folder, extra) == [
        (
            "layers[0].params.invert.amt",
            "invert.fs has no input 'amt' (did you mean 'amount'?); its inputs: amount, on",
            12,
        ),
        (
            "layers[0].params.invert.amount",
            "expected a number in 0..1, got 3 (as shaders/invert.fs declares)",
            12,
        ),
    ]


CUE = '[[cues]]\nname = "q"\n'


def test_transitions_of_a_cue_and_of_a_cue_layer(folder: Path) -> None:
    extra = (
        CUE + 'transition = "shaders/wipe.fs"\ntransition_params = { soft = 0.25 }\n'
        '[cues.layers.c]\ncolor = "#00ff00"\ntransition = "shaders/wipe.fs"\n'
    )
    show = load(folder, extra)
    wipe = folder / "shaders" / "wipe.fs"
    assert show.cues[0].transition == Transition(wipe, {"soft": 0.25})
    assert show.cues[0].layers["c"].transition == Transition(wipe, {})
    assert show.isf_files() == [
        ("cues[0].transition", wipe, "isf"),
        ("cues[0].layers.c.transition", wipe, "isf"),
    ]
    assert load(folder, CUE).cues[0].transition is None


def test_every_bad_transition_is_reported(folder: Path) -> None:
    extra = (
        CUE + "transition_params = { soft = 0.25 }\n"
        '[[cues]]\nname = "r"\ntransition = "shaders/invert.fs"\n'
        '[[cues]]\nname = "s"\ntransition = "shaders/wipe.fs"\n'
        "transition_params = { progress = 0.5, sfot = 1, soft = 0.6 }\n"
        '[[cues]]\nname = "t"\ntransition = "shaders/wipe.fs"\ntransition_params = 3\n'
        '[[cues]]\nname = "u"\n[cues.layers.c]\ntransition_params = {}\n'
    )
    assert problems(folder, extra) == [
        (
            "cues[0].transition_params",
            "transition_params without a transition: name the transition's file",
            13,
        ),
        (
            "cues[1].transition",
            "shaders/invert.fs: an ISF filter, not a transition "
            "(a transition has the inputs startImage, endImage and progress)",
            16,
        ),
        (
            "cues[2].transition_params.progress",
            "wipe.fs's input 'progress' is set by the show itself "
            "(the layer's picture, or the fade's progress)",
            20,
        ),
        (
            "cues[2].transition_params.sfot",
            "wipe.fs has no input 'sfot' (did you mean 'soft'?); its inputs: soft",
            20,
        ),
        (
            "cues[2].transition_params.soft",
            "expected a number in 0..0.5, got 0.6 (as shaders/wipe.fs declares)",
            20,
        ),
        ("cues[3].transition_params", "expected a table like { amount = 0.5 }, got number 3", 24),
        (
            "cues[4].layers.c.transition_params",
            "transition_params without a transition: name the transition's file",
            28,
        ),
    ]


PLAIN = """/*{
 "ISFVSN": "2",
 "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ]
}*/
void main() { gl_FragColor = IMG_THIS_PIXEL(inputImage); }
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'filters = [{ shader = "shaders/plain.fs", params = { x = 1 } }]\n',
            [("layers[0].filters[0].params.x", "plain.fs has no input 'x'; its inputs: none", 11)],
        ),
        (
            'filters = [{ shader = "shaders/plain.fs" }]\nparams = { plain = { x = 1 } }\n',
            [("layers[0].params.plain.x", "plain.fs has no input 'x'; its inputs: none", 12)],
        ),
        (
            'filters = [{ shader = "shaders/nope.fs" }]\n',
            [
                (
                    "layers[0].filters[0].shader",
                    "file not found: shaders/nope.fs (looked for {folder}/shaders/nope.fs)",
                    11,
                )
            ],
        ),
        (
            'filters = [{ name = "x" }]\n',
            [("layers[0].filters[0].shader", "missing (required)", 11)],
        ),
        (
            'filters = [{ shader = "shaders/invert.fs", name = "" }]\n',
            [("layers[0].filters[0].name", "expected a non-empty string, got string ''", 11)],
        ),
    ],
)
def test_a_filter_without_inputs_a_missing_file_or_a_bad_name(
    folder: Path, extra: str, expected: list
) -> None:
    (folder / "shaders" / "plain.fs").write_text(PLAIN, encoding="utf-8")
    expected = [(k, m.format(folder=folder), line) for k, m, line in expected]
    assert problems(folder, extra) == expected


def test_a_broken_isf_file_is_reported_once_in_its_own_file(folder: Path) -> None:
    (folder / "shaders" / "broken.fs").write_text('/*{ "INPUTS": [ }*/\nvoid main() {}\n')
    extra = (
        'filters = [{ shader = "shaders/broken.fs" }, '
        '{ shader = "shaders/broken.fs", name = "b2" }]\n'
    )
    (folder / "show.toml").write_text(HEAD + extra, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_show(folder)
    assert [(p.file, p.key_path, p.line) for p in info.value.problems] == [
        (folder / "shaders" / "broken.fs", "", 1)
    ]
    assert info.value.problems[0].message.startswith("the JSON header is not valid JSON")


def test_a_filter_input_given_as_a_dotted_key(folder: Path) -> None:
    extra = (
        'filters = [{ shader = "shaders/invert.fs" }]\n'
        'params = { "invert.amount" = 0.75, other = 2 }\n'
    )
    layer = load(folder, extra).layers[0]
    assert layer.params == {"other": 2.0, "invert.amount": 0.75, "invert.on": True}


def test_every_bad_input_of_one_filter_is_reported(folder: Path) -> None:
    extra = (
        'filters = [{ shader = "shaders/invert.fs" }]\n'
        "params = { invert = { amount = 3, on = 5 } }\n"
    )
    assert [key for key, _, _ in problems(folder, extra)] == [
        "layers[0].params.invert.amount",
        "layers[0].params.invert.on",
    ]


def test_a_filter_named_after_a_file_with_accents_is_ascii(folder: Path) -> None:
    (folder / "shaders" / "dégradé.fs").write_text(INVERT, encoding="utf-8")
    layer = load(folder, 'filters = [{ shader = "shaders/dégradé.fs" }]\n').layers[0]
    assert [f.name for f in layer.filters] == ["d_grad_"]
    assert list(layer.params) == ["d_grad_.amount", "d_grad_.on"]


@pytest.mark.parametrize("bad", ["amt = 2", "amount = 2", "inputImage = 1"])
def test_a_bad_filter_causes_no_follow_on_problems(folder: Path, bad: str) -> None:
    # the filter is invalid: the layer's params for it are not checked against it again
    extra = f'filters = [{{ shader = "shaders/invert.fs", params = {{ {bad} }} }}]\n'
    extra += "params = { invert = { amt = 1 } }\n"
    [(key, _, line)] = problems(folder, extra)
    assert (key, line) == (f"layers[0].filters[0].params.{bad.split()[0]}", 11)


@pytest.mark.parametrize("bad", ["amt = 2", "amount = 2", "on = 3"])
def test_a_layer_with_a_bad_filter_input_is_not_cued(folder: Path, bad: str) -> None:
    # the layer is invalid: a cue's bad value for it is not checked (no follow-on problem)
    extra = 'filters = [{ shader = "shaders/invert.fs" }]\n'
    extra += f"params = {{ invert = {{ {bad} }} }}\n"
    extra += CUE + '[cues.layers.c]\nparams = { "invert.amount" = 5 }\n'
    [(key, _, line)] = problems(folder, extra)
    assert (key, line) == (f"layers[0].params.invert.{bad.split()[0]}", 12)


@pytest.mark.parametrize("filters", ["[3]", '[{ shader = "shaders/wipe.fs" }]'])
def test_a_layer_with_a_bad_filter_is_not_cued(folder: Path, filters: str) -> None:
    # the layer is invalid: a cue's bad opacity for it is not checked (no follow-on problem)
    extra = f"filters = {filters}\n" + CUE + "[cues.layers.c]\nopacity = 5\n"
    [(key, _, line)] = problems(folder, extra)
    assert (key.split(".")[0], line) == ("layers[0]", 11)


@pytest.mark.parametrize(
    "params",
    [
        "params = { invert = { on = false } }",
        'params = { "invert.on" = false }',
        'params = { inv = { on = "yes" } }',
    ],
)
def test_a_bad_filters_inputs_in_the_layers_params_cause_no_follow_on_problem(
    folder: Path, params: str
) -> None:
    # the filter is invalid; its inputs in the layer's params are not the content's
    # parameters (a boolean or text there is no "expected a number" problem)
    filters = (
        'filters = [{ shader = "shaders/invert.fs", params = { on = 3 } }, '
        '{ shader = "shaders/missing.fs", name = "inv" }]\n'
    )
    assert [(key, line) for key, _, line in problems(folder, filters + params + "\n")] == [
        ("layers[0].filters[0].params.on", 11),
        ("layers[0].filters[1].shader", 11),
    ]


def test_filters_that_cannot_be_read_cause_no_follow_on_problem(folder: Path) -> None:
    # a filters value that is no array, or an entry that is no table before a named one
    assert problems(folder, "filters = 3\nparams = { invert = { on = 1 } }\n") == [
        (
            "layers[0].filters",
            'expected an array of filters like [{ shader = "shaders/blur.fs" }], got number 3',
            11,
        )
    ]
    extra = 'filters = [3, { shader = "shaders/missing.fs", name = "inv" }]\n'
    extra += "params = { inv = { on = false } }\n"
    assert [(key, line) for key, _, line in problems(folder, extra)] == [
        ("layers[0].filters[0]", 11),
        ("layers[0].filters[1].shader", 11),
    ]
