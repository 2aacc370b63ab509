"""The show file's smaller sections, key by key: ``[cluster]``, ``[[nodes]]`` and an output's
``node``, a ``live`` layer's ``device``, ``[span]``, ``[blend]`` and the rest of
``[control]``.

Each test writes a minimal show folder and checks what ``load_show`` builds, or every
problem it reports: (key path, message, line) written out literally from the show text of
the test and docs/show-format.md. Pure: no GL, no media.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapping.errors import ValidationError
from mapping.show import ClusterSettings, LiveDevice, Node, Show, load_show

HEAD = """\
schema_version = 1
[canvas]
size = [32, 16]
[[outputs]]
name = "out"
resolution = [32, 16]
"""
"""Six lines; a section appended after it starts on line 7."""

TWO_OUTPUTS = HEAD + '[[outputs]]\nname = "o2"\nresolution = [8, 8]\ndisplay = 1\n'
"""Ten lines: ``out`` on display 0 (line 4), ``o2`` on display 1 (line 7)."""


def write(folder: Path, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "show.toml").write_text(text, encoding="utf-8")
    return folder


def load(folder: Path, extra: str, head: str = HEAD) -> Show:
    return load_show(write(folder, head + extra))


def problems(folder: Path, extra: str, head: str = HEAD) -> list[tuple[str, str, int | None]]:
    with pytest.raises(ValidationError) as info:
        load(folder, extra, head)
    for p in info.value.problems:
        assert p.file == folder / "show.toml"
    return [(p.key_path, p.message, p.line) for p in info.value.problems]


# --- [cluster] -----------------------------------------------------------------------------


def test_no_cluster_table_leaves_every_setting_to_the_command_line(tmp_path: Path) -> None:
    assert load(tmp_path, "").cluster == ClusterSettings(None, None, None)


def test_a_cluster_table_is_read(tmp_path: Path) -> None:
    show = load(
        tmp_path, '[cluster]\nclock = "chrony"\nlead_frames = 600\nshow_mismatch = "refuse"\n'
    )
    assert show.cluster == ClusterSettings(clock="chrony", lead_frames=600, show_mismatch="refuse")
    show = load(tmp_path, "[cluster]\nlead_frames = 1\n")
    assert show.cluster == ClusterSettings(clock=None, lead_frames=1, show_mismatch=None)
    show = load(tmp_path, '[cluster]\nclock = "ptp"\nshow_mismatch = "warn"\n')
    assert show.cluster == ClusterSettings(clock="ptp", lead_frames=None, show_mismatch="warn")


def test_every_bad_cluster_key_is_reported(tmp_path: Path) -> None:
    extra = '[cluster]\nclock = "ptpp"\nshow_mismatch = 3\nlead_frames = 0\nleed = 1\n'
    assert problems(tmp_path, extra) == [
        ("cluster.leed", "unknown key; expected one of: clock, lead_frames, show_mismatch", 11),
        (
            "cluster.clock",
            "expected one of: auto, ptp, chrony, system; got string 'ptpp' (did you mean 'ptp'?)",
            8,
        ),
        ("cluster.show_mismatch", "expected one of: refuse, warn; got number 3", 9),
        ("cluster.lead_frames", "expected an integer 1..600, got number 0 (frames)", 10),
    ]


@pytest.mark.parametrize(("value", "got"), [("601", "number 601"), ("true", "boolean true")])
def test_lead_frames_outside_1_to_600(tmp_path: Path, value: str, got: str) -> None:
    assert problems(tmp_path, f"[cluster]\nlead_frames = {value}\n") == [
        ("cluster.lead_frames", f"expected an integer 1..600, got {got} (frames)", 8)
    ]


def test_sections_of_the_wrong_type(tmp_path: Path) -> None:
    top = "cluster = 5\nspan = 2\nblend = 1\ncontrol = 2\nnodes = 3\n"
    assert problems(tmp_path, "", top + HEAD) == [
        ("control", "expected a table, got number 2", 4),
        ("blend", "expected a table, got number 1", 3),
        ("span", "expected a table, got number 2", 2),
        ("nodes", "expected an array of tables ([[nodes]]), got number 3", 5),
        ("cluster", "expected a table, got number 5", 1),
    ]


# --- [[nodes]] and an output's node --------------------------------------------------------


def test_nodes_are_read_with_their_host_and_port(tmp_path: Path) -> None:
    extra = (
        '[[nodes]]\nname = "n1"\naddress = " [::1]:9100 "\n'
        '[[nodes]]\nname = "n2"\naddress = "host.lan:65535"\n'
        '[[nodes]]\nname = "n3"\naddress = "h:1"\n'
    )
    show = load(tmp_path, extra)
    assert show.nodes == (
        Node("n1", "::1", 9100),
        Node("n2", "host.lan", 65535),
        Node("n3", "h", 1),
    )
    assert [n.address for n in show.nodes] == ["::1:9100", "host.lan:65535", "h:1"]
    assert load(tmp_path, "").nodes == ()


def test_bad_nodes(tmp_path: Path) -> None:
    tables = [
        ("a", "h"),  # no port
        ("a", ":9"),  # duplicate name; no host
        ("b", "h:0"),
        ("c", "h:65536"),
        ("d", "h:x"),
        ("e", "[]:5"),  # an empty IPv6 host
    ]
    extra = "".join(f'[[nodes]]\nname = "{n}"\naddress = "{a}"\n' for n, a in tables)
    extra += '[[nodes]]\nname = "f"\nhost = "x"\n'
    extra += '[[nodes]]\naddress = "h:5"\n'  # no name

    def bad(a: str) -> str:
        return f"expected \"host:port\" with a port 1..65535, got '{a}'"

    assert problems(tmp_path, extra) == [
        ("nodes[0].address", bad("h"), 9),
        ("nodes[1].name", "duplicate node name 'a'", 11),
        ("nodes[1].address", bad(":9"), 12),
        ("nodes[2].address", bad("h:0"), 15),
        ("nodes[3].address", bad("h:65536"), 18),
        ("nodes[4].address", bad("h:x"), 21),
        ("nodes[5].address", bad("[]:5"), 24),
        ("nodes[6].host", "unknown key; expected one of: name, address", 27),
        ("nodes[6].address", "missing (required)", 25),
        ("nodes[7].name", "missing (required)", 28),
    ]


NODES = '[[nodes]]\nname = "n1"\naddress = "a:1"\n[[nodes]]\nname = "n2"\naddress = "b:2"\n'


def head_with_node(node: str) -> str:
    return HEAD + f"node = {node}\n"


def test_an_output_names_its_node(tmp_path: Path) -> None:
    show = load(tmp_path, NODES, head_with_node('"n2"'))
    assert [o.node for o in show.outputs] == ["n2"]
    assert load(tmp_path, "").outputs[0].node is None


def test_an_output_naming_an_unknown_node(tmp_path: Path) -> None:
    assert problems(tmp_path, NODES, head_with_node('"n3"')) == [
        ("outputs[0].node", "unknown node 'n3'", 7)
    ]
    stage = '[[nodes]]\nname = "stage"\naddress = "a:1"\n'
    assert problems(tmp_path, stage, head_with_node('"stagee"')) == [
        ("outputs[0].node", "unknown node 'stagee' (did you mean 'stage'?)", 7)
    ]
    assert problems(tmp_path, "", head_with_node('"n2"')) == [
        ("outputs[0].node", "unknown node 'n2': the show declares no [[nodes]]", 7)
    ]
    assert problems(tmp_path, NODES, head_with_node("3")) == [
        ("outputs[0].node", "expected a non-empty string, got number 3", 7)
    ]


# --- a live layer's device -----------------------------------------------------------------

LIVE = '[[layers]]\nname = "cam"\nkind = "live"\n'


def test_a_device_path_alone(tmp_path: Path) -> None:
    show = load(tmp_path, LIVE + 'device = "/dev/video2"\n')
    assert show.layers[0].content == LiveDevice("/dev/video2", "v4l2", ())
    show = load(tmp_path, LIVE + 'device = { path = "/dev/video0" }\n')
    assert show.layers[0].content == LiveDevice("/dev/video0", "v4l2", ())


def test_a_device_table_becomes_sorted_ffmpeg_options(tmp_path: Path) -> None:
    device = (
        'device = { path = "testsrc", format = "lavfi", size = [64, 48], fps = 29.97, '
        'input_format = "mjpeg", options = { b = 2, a = "x", c = 1.5 } }\n'
    )
    show = load(tmp_path, LIVE + device)
    assert show.layers[0].content == LiveDevice(
        "testsrc",
        "lavfi",
        (
            ("a", "x"),
            ("b", "2"),
            ("c", "1.5"),
            ("framerate", "29.97"),
            ("input_format", "mjpeg"),
            ("video_size", "64x48"),
        ),
    )
    show = load(tmp_path, LIVE + 'device = { path = "p", fps = 0.001 }\n')
    assert show.layers[0].content == LiveDevice("p", "v4l2", (("framerate", "0.001"),))


@pytest.mark.parametrize(
    ("device", "key_path", "message"),
    [
        (
            "3",
            "layers[0].device",
            'expected a device path ("/dev/video0") or a table { path = ..., format = ..., '
            "size = [w, h], fps = ..., input_format = ..., options = {...} }, got number 3",
        ),
        ('{ format = "p" }', "layers[0].device.path", "missing (required)"),
        ('{ path = "" }', "layers[0].device.path", "expected a non-empty string, got string ''"),
        (
            '{ path = "p", format = "" }',
            "layers[0].device.format",
            "expected a non-empty string, got string ''",
        ),
        (
            '{ path = "p", input_format = "" }',
            "layers[0].device.input_format",
            "expected a non-empty string, got string ''",
        ),
        (
            '{ path = "p", fps = 1000.5 }',
            "layers[0].device.fps",
            "expected a number between 0.001 and 1000.0, got 1000.5",
        ),
        (
            '{ path = "p", size = [0, 1] }',
            "layers[0].device.size",
            "expected [width, height] in pixels (integers 1..16384), got array [0, 1]",
        ),
        (
            '{ path = "p", options = 5 }',
            "layers[0].device.options",
            "expected a table of FFmpeg input options (strings or numbers), got number 5",
        ),
        (
            '{ path = "p", options = { a = true } }',
            "layers[0].device.options",
            "expected a table of FFmpeg input options (strings or numbers), got a table",
        ),
    ],
)
def test_bad_device(tmp_path: Path, device: str, key_path: str, message: str) -> None:
    assert problems(tmp_path, LIVE + f"device = {device}\n") == [(key_path, message, 10)]


def test_an_unknown_device_key(tmp_path: Path) -> None:
    assert problems(tmp_path, LIVE + 'device = { path = "p", formt = "x" }\n') == [
        (
            "layers[0].device.formt",
            "unknown key (did you mean 'format'?); expected one of: "
            "path, format, size, fps, input_format, options",
            10,
        )
    ]


# --- [span] --------------------------------------------------------------------------------

SPAN_MESSAGE = "expected a list of display numbers like [0, 1] (different, 0..63), got array "


def test_a_span_over_two_displays(tmp_path: Path) -> None:
    assert load(tmp_path, "[span]\ndisplays = [1, 0]\n", TWO_OUTPUTS).span == (1, 0)
    assert load(tmp_path, "", TWO_OUTPUTS).span == ()


@pytest.mark.parametrize(
    ("displays", "expected"),
    [
        ("[]", [("span.displays", SPAN_MESSAGE + "[]", 12)]),
        ("[0, 0]", [("span.displays", SPAN_MESSAGE + "[0, 0]", 12)]),
        ("[0, 64]", [("span.displays", SPAN_MESSAGE + "[0, 64]", 12)]),
        ("[1]", [("outputs[0].display", "output 'out' is on display 0, outside the span [1]", 4)]),
        (
            "[0, 63]",
            [("outputs[1].display", "output 'o2' is on display 1, outside the span [0, 63]", 10)],
        ),
    ],
)
def test_bad_span(tmp_path: Path, displays: str, expected: list) -> None:
    assert problems(tmp_path, f"[span]\ndisplays = {displays}\n", TWO_OUTPUTS) == expected


def test_a_span_without_displays(tmp_path: Path) -> None:
    assert problems(tmp_path, "[span]\n", TWO_OUTPUTS) == [
        ("span.displays", "missing (required)", 11)
    ]
    assert problems(tmp_path, "[span]\ndisplay = [0, 1]\n", TWO_OUTPUTS) == [
        ("span.display", "unknown key (did you mean 'displays'?); expected one of: displays", 12),
        ("span.displays", "missing (required)", 11),
    ]


# --- [blend] and [control] -----------------------------------------------------------------


def test_blend_defaults_to_the_show_folders_calibration_toml(tmp_path: Path) -> None:
    blend = load(tmp_path, "[blend]\nenabled = true\n").blend
    assert (blend.enabled, blend.calibration_file) == (True, tmp_path / "calibration.toml")
    blend = load(tmp_path, "").blend
    assert (blend.enabled, blend.calibration_file) == (False, tmp_path / "calibration.toml")


def test_bad_blend_table(tmp_path: Path) -> None:
    assert problems(tmp_path, "[blend]\nenabled = 1\ncalibrate = 2\n") == [
        (
            "blend.calibrate",
            "unknown key (did you mean 'calibration'?); expected one of: enabled, calibration",
            9,
        ),
        ("blend.enabled", "expected true or false, got number 1", 8),
    ]
    assert problems(tmp_path, '[blend]\ncalibration = "nope.toml"\n') == [
        ("blend.calibration", f"file not found: nope.toml (looked for {tmp_path / 'nope.toml'})", 8)
    ]


def test_control_ports(tmp_path: Path) -> None:
    control = load(
        tmp_path, "[control]\npanel_port = 8080\nreply_port = 9001\noscquery_port = 9002\n"
    ).control
    assert (control.osc_port, control.reply_port, control.oscquery_port, control.panel_port) == (
        0,
        9001,
        9002,
        8080,
    )
    assert (control.bind, control.allow, control.locked) == (
        "127.0.0.1",
        ("127.0.0.1/32", "::1/128"),
        False,
    )
    assert load(tmp_path, "").control.panel_port is None
    unset = load(tmp_path, "[control]\n").control  # every port left to the command line
    assert (unset.osc_port, unset.reply_port, unset.oscquery_port) == (0, 0, 0)
    assert load(tmp_path, "[control]\npanel_port = 0\n").control.panel_port == 0
    allow = load(tmp_path, '[control]\nallow = ["10.1.2.3/8", "::1"]\n').control.allow
    assert allow == ("10.0.0.0/8", "::1/128")


def test_every_bad_control_key_is_reported(tmp_path: Path) -> None:
    extra = (
        "[control]\npanel_port = -1\nreply_port = 65536\noscquery_port = true\n"
        'bind = ""\nallow = "x"\n'
    )
    assert problems(tmp_path, extra) == [
        ("control.reply_port", "expected a port number 0..65535, got number 65536", 9),
        ("control.oscquery_port", "expected a port number 0..65535, got boolean true", 10),
        ("control.panel_port", "expected a port number 0..65535, got number -1", 8),
        ("control.bind", "expected a non-empty string, got string ''", 11),
        ("control.allow", "expected an array of addresses or networks, got string 'x'", 12),
    ]
    assert problems(tmp_path, '[control]\nlocked = "yes"\n') == [
        ("control.locked", "expected true or false, got string 'yes'", 8)
    ]
    assert problems(tmp_path, '[control]\nallow = ["10.0.0.1", "bad", "::1"]\n') == [
        (
            "control.allow[1]",
            "expected an address or network like 192.168.1.0/24, got string 'bad'",
            8,
        )
    ]


# --- an output's colour correction ---------------------------------------------------------


def head_with_color(keys: str) -> str:
    """HEAD with ``[outputs.color]`` (line 7) and ``keys`` from line 8."""
    return HEAD + "[outputs.color]\n" + keys + "\n"


def test_an_outputs_colour_correction_is_read(tmp_path: Path) -> None:
    keys = "brightness = 0.1\ncontrast = 1.2\ngamma = 0.9\ngains = [0.5, 1, 2]"
    color = load(tmp_path, "", head_with_color(keys)).outputs[0].color
    assert (color.brightness, color.contrast, color.gamma, color.gains, color.lut) == (
        0.1,
        1.2,
        0.9,
        (0.5, 1.0, 2.0),
        None,
    )
    color = load(tmp_path, "").outputs[0].color
    assert (color.brightness, color.contrast, color.gamma, color.gains, color.lut) == (
        0.0,
        1.0,
        1.0,
        (1.0, 1.0, 1.0),
        None,
    )


def test_a_lut_is_read_and_watched(tmp_path: Path) -> None:
    write(tmp_path, "")
    rows = ["0 0 0", "1 0 0", "0 1 0", "1 1 0", "0 0 1", "1 0 1", "0 1 1", "1 1 1"]
    (tmp_path / "id.cube").write_text("LUT_3D_SIZE 2\n" + "\n".join(rows) + "\n")
    show = load(tmp_path, "", head_with_color('lut = "id.cube"'))
    lut = show.outputs[0].color.lut
    assert lut is not None and lut.path == tmp_path / "id.cube"
    assert show.watched_files() == frozenset({tmp_path / "show.toml", tmp_path / "id.cube"})


def test_a_broken_lut_is_reported_in_its_own_file(tmp_path: Path) -> None:
    write(tmp_path, "")
    (tmp_path / "bad.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n")
    (tmp_path / "show.toml").write_text(head_with_color('lut = "bad.cube"'))
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [(p.file, p.key_path, p.message, p.line) for p in info.value.problems] == [
        (tmp_path / "bad.cube", "", "LUT_3D_SIZE 2 needs 8 rows of three numbers, found 1", 2)
    ]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            "gains = [1, 1]",
            [
                (
                    "outputs[0].color.gains",
                    "expected [r, g, b] numbers 0.0..4.0, got array [1, 1]",
                    8,
                )
            ],
        ),
        (
            "gains = 3",
            [("outputs[0].color.gains", "expected [r, g, b] numbers 0.0..4.0, got number 3", 8)],
        ),
        (
            "gains = [1, -1, 9]",
            [
                ("outputs[0].color.gains[1]", "expected a number between 0.0 and 4.0, got -1", 8),
                ("outputs[0].color.gains[2]", "expected a number between 0.0 and 4.0, got 9", 8),
            ],
        ),
        (
            "brightness = -1.5\ncontrast = 4.5\ngamma = 0.1\nfoo = 1",
            [
                (
                    "outputs[0].color.foo",
                    "unknown key; expected one of: brightness, contrast, gamma, gains, lut",
                    11,
                ),
                (
                    "outputs[0].color.brightness",
                    "expected a number between -1.0 and 1.0, got -1.5",
                    8,
                ),
                ("outputs[0].color.contrast", "expected a number between 0.0 and 4.0, got 4.5", 9),
                ("outputs[0].color.gamma", "expected a number between 0.2 and 5.0, got 0.1", 10),
            ],
        ),
        (
            "gamma = 5.5",
            [("outputs[0].color.gamma", "expected a number between 0.2 and 5.0, got 5.5", 8)],
        ),
    ],
)
def test_bad_colour_correction(tmp_path: Path, keys: str, expected: list) -> None:
    assert problems(tmp_path, "", head_with_color(keys)) == expected


def test_a_colour_correction_that_is_not_a_table(tmp_path: Path) -> None:
    assert problems(tmp_path, "", HEAD + "color = 3\n") == [
        ("outputs[0].color", "expected a table, got number 3", 7)
    ]


def test_an_address_or_device_that_is_no_string(tmp_path: Path) -> None:
    assert problems(tmp_path, '[[nodes]]\nname = "a"\naddress = 5\n') == [
        ("nodes[0].address", "expected a non-empty string, got number 5", 9)
    ]
    assert problems(tmp_path, LIVE + 'device = "  "\n') == [
        ("layers[0].device", "expected a non-empty string, got string '  '", 10)
    ]


def test_only_a_host_in_both_brackets_loses_them(tmp_path: Path) -> None:
    show = load(tmp_path, '[[nodes]]\nname = "a"\naddress = "[::1:9100"\n')
    assert show.nodes == (Node("a", "[::1", 9100),)
    show = load(tmp_path, '[[nodes]]\nname = "a"\naddress = "::1]:9100"\n')
    assert show.nodes == (Node("a", "::1]", 9100),)
