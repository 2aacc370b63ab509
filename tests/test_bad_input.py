"""No input stops the picture (issue 10): numbers, arguments, encodings, odd files, nesting.

* Every number of the show format has a finite range; a show at the edges of every range
  renders (in a child process, so a native abort would fail the test, not end pytest),
  one step beyond each edge, NaN and ±inf are refused with file, key path and line.
* Command-line numbers are argument errors (exit 2) with a message.
* Encodings (Latin-1 byte, BOM, UTF-16) are named the same way, with the line, by the
  show, calibration, schedule and marks loaders.
* A folder, a FIFO or a symlink loop where a file is expected, a file that cannot be read,
  and nesting 100,000 deep are ordinary problems; the other problems are kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import run_show
from mapping.errors import ValidationError
from mapping.show import load_show
from tests.render_kit import render_in_child

REPO = Path(__file__).resolve().parents[1]

SHADER = """\
uniform float speed;
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(fract(fragCoord / iResolution.xy + iTime * speed * 1e-9), 0.5, 1.0);
}
"""

# One show using every numeric key of the format; show_text(**values) fills them in.
DEFAULTS = {
    "cw": "64", "ch": "48", "ow": "32", "oh": "24", "display": "0", "px": "0", "py": "0",
    "osc_port": "0", "reply_port": "0", "oscquery_port": "0",
    "polygon": "[[0, 0], [64, 0], [64, 48], [0, 48]]",
    "corners": "[[0, 0], [32, 0], [32, 24], [0, 24]]",
    "pins": "[[0, 0], [64, 0], [64, 48], [0, 48]]",
    "rx": "4", "ry": "4", "rw": "40", "rh": "30", "ix": "0", "iy": "0", "iw": "16", "ih": "16",
    "opacity": "1.0", "param": "1.0", "colour": "0.5",
    "fade": "0.5", "prewait": "0.0", "postwait": "0.0", "layer_fade": "0.5", "level": "1.0",
    "cue_opacity": "0.8", "cue_param": "2.0",
}  # fmt: skip

TEMPLATE = """\
schema_version = 1
name = "edges"

[canvas]
size = [{cw}, {ch}]

[control]
osc_port = {osc_port}
reply_port = {reply_port}
oscquery_port = {oscquery_port}

[[outputs]]
name = "out"
resolution = [{ow}, {oh}]
display = {display}
position = [{px}, {py}]

[[surfaces]]
name = "s"
output = "out"
polygon = {polygon}
corners = {corners}
pins = {pins}

[[layers]]
name = "gen"
kind = "shader"
shader = "gen.glsl"
region = [{rx}, {ry}, {rw}, {rh}]
opacity = {opacity}
params = {{ speed = {param} }}

[[layers]]
name = "pic"
kind = "image"
file = "pic.png"
region = [{ix}, {iy}, {iw}, {ih}]

[[layers]]
name = "wash"
kind = "solid"
color = [{colour}, {colour}, {colour}, {colour}]
blend = "multiply"

[[cues]]
name = "a"
fade = {fade}
prewait = {prewait}
postwait = {postwait}
[cues.layers.gen]
opacity = {cue_opacity}
fade = {layer_fade}
params = {{ speed = {cue_param} }}
[cues.outputs.out]
level = {level}
"""

# Where each key is in TEMPLATE (with DEFAULTS): key → (key path, line)
LOCATION = {
    "cw": ("canvas.size", 5), "ch": ("canvas.size", 5),
    "osc_port": ("control.osc_port", 8), "reply_port": ("control.reply_port", 9),
    "oscquery_port": ("control.oscquery_port", 10),
    "ow": ("outputs[0].resolution", 14), "oh": ("outputs[0].resolution", 14),
    "display": ("outputs[0].display", 15), "px": ("outputs[0].position", 16),
    "py": ("outputs[0].position", 16),
    "polygon": ("surfaces[0].polygon", 21), "corners": ("surfaces[0].corners", 22),
    "pins": ("surfaces[0].pins", 23),
    "rx": ("layers[0].region", 29), "ry": ("layers[0].region", 29),
    "rw": ("layers[0].region", 29), "rh": ("layers[0].region", 29),
    "opacity": ("layers[0].opacity", 30), "param": ("layers[0].params.speed", 31),
    "ix": ("layers[1].region", 37), "iy": ("layers[1].region", 37),
    "iw": ("layers[1].region", 37), "ih": ("layers[1].region", 37),
    "colour": ("layers[2].color", 42),
    "fade": ("cues[0].fade", 47), "prewait": ("cues[0].prewait", 48),
    "postwait": ("cues[0].postwait", 49), "cue_opacity": ("cues[0].layers.gen.opacity", 51),
    "layer_fade": ("cues[0].layers.gen.fade", 52),
    "cue_param": ("cues[0].layers.gen.params.speed", 53),
    "level": ("cues[0].outputs.out.level", 55),
}  # fmt: skip


def show_text(**values: str) -> str:
    return TEMPLATE.format(**{**DEFAULTS, **values})


def write_show(folder: Path, **values: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "show.toml").write_text(show_text(**values), encoding="utf-8")
    (folder / "gen.glsl").write_text(SHADER, encoding="utf-8")
    if not (folder / "pic.png").exists():
        pic = np.zeros((8, 8, 3), np.uint8)
        pic[::2, ::2] = (0, 200, 255)
        cv2.imwrite(str(folder / "pic.png"), pic)
    return folder


def test_the_template_is_a_valid_show_and_the_locations_are_right(tmp_path: Path):
    show = load_show(write_show(tmp_path))
    assert [layer.name for layer in show.layers] == ["gen", "pic", "wash"]
    lines = show_text().splitlines()
    for key, (key_path, line) in LOCATION.items():
        assert DEFAULTS[key].split(",")[0].strip("[") in lines[line - 1], (key, lines[line - 1])
        assert key_path.split(".")[-1].split("[")[0] in lines[line - 1] or key in ("cw", "ch")


# --- the edges of every range ---------------------------------------------------------------

BIG = "1000000"
# Shows at the edges of the accepted ranges (each must load and render).
EDGE_SHOWS: dict[str, dict[str, str]] = {
    "lowest": dict(
        cw="1", ch="1", ow="1", oh="1", display="0", px="-16384", py="-16384",
        polygon=f"[[-{BIG}, -{BIG}], [{BIG}, -{BIG}], [{BIG}, {BIG}], [-{BIG}, {BIG}]]",
        corners=f"[[-{BIG}, -{BIG}], [{BIG}, -{BIG}], [{BIG}, {BIG}], [-{BIG}, {BIG}]]",
        pins=f"[[-{BIG}, -{BIG}], [{BIG}, -{BIG}], [{BIG}, {BIG}], [-{BIG}, {BIG}]]",
        rx="-65536", ry="-65536", rw="0.01", rh="0.01", ix="-65536", iy="-65536",
        iw="0.01", ih="0.01", opacity="0.0", param="-1e9", colour="0.0", fade="0.0",
        prewait="0.0", postwait="0.0", layer_fade="0.0", level="0.0", cue_opacity="0.0",
        cue_param="-1e9",
    ),
    "highest": dict(
        cw="64", ch="48", ow="64", oh="48", display="63", px="16384", py="16384",
        osc_port="65535", reply_port="65535", oscquery_port="65535",
        rx="65536", ry="65536", rw="16384", rh="0.01", ix="65536", iy="65536",
        iw="16384", ih="16384", opacity="1.0", param="1e9", colour="1.0", fade="86400",
        prewait="86400", postwait="86400", layer_fade="86400", level="1.0",
        cue_opacity="1.0", cue_param="1e9",
    ),
    "covering": dict(  # the largest regions drawn over the whole canvas, no pre-wait
        rx="-65536", ry="-65536", rw="0.01", rh="16384", ix="-16384", iy="-16384",
        iw="16384", ih="16384", fade="0.0", layer_fade="0.0", param="1e9", cue_param="1e9",
    ),
    "wide": dict(cw="16384", ch="1", ow="16384", oh="1",
                 polygon="[[0, 0], [16384, 0], [16384, 1], [0, 1]]",
                 corners="[[0, 0], [16384, 0], [16384, 1], [0, 1]]"),
    "tall": dict(cw="1", ch="16384", ow="1", oh="16384",
                 polygon="[[0, 0], [1, 0], [1, 16384], [0, 16384]]",
                 corners="[[0, 0], [1, 0], [1, 16384], [0, 16384]]"),
}  # fmt: skip

# One step beyond an edge, and non-finite values: each refused at its key and line.
BEYOND: list[tuple[str, str, str]] = [
    ("cw", "0", "integers 1..16384"), ("ch", "16385", "integers 1..16384"),
    ("ow", "16385", "integers 1..16384"), ("oh", "0", "integers 1..16384"),
    ("display", "64", "integer 0..63"), ("display", "-1", "integer 0..63"),
    ("px", "16385", "integers -16384..16384"), ("py", "-16385", "integers -16384..16384"),
    ("osc_port", "65536", "port number 0..65535"), ("reply_port", "-1", "0..65535"),
    ("oscquery_port", "1e3", "0..65535"),
    ("polygon", "[[0, 0], [1000001, 0], [64, 48]]", "between -1000000 and 1000000"),
    ("corners", "[[0, 0], [32, 0], [32, -1000001], [0, 24]]", "between -1000000 and 1000000"),
    ("pins", "[[0, 0], [64, 0], [64, 48], [0, 1e7]]", "between -1000000 and 1000000"),
    ("rx", "65537", "x and y -65536..65536"), ("ry", "-65537", "x and y -65536..65536"),
    ("rw", "16385", "width and height 0.01..16384"), ("rh", "0.009", "width and height 0.01"),
    ("rw", "1e9", "width and height 0.01..16384"), ("iw", "0", "width and height 0.01..16384"),
    ("opacity", "1.01", "between 0.0 and 1.0"), ("param", "1.1e9", "-1000000000.0 and"),
    ("colour", "1.5", "values 0..1"), ("fade", "86401", "between 0.0 and 86400.0 s"),
    ("prewait", "-0.5", "between 0.0 and 86400.0 s"), ("postwait", "1e12", "86400.0 s"),
    ("layer_fade", "90000", "86400.0 s"), ("level", "-0.1", "between 0.0 and 1.0"),
    ("cue_opacity", "2", "between 0.0 and 1.0"), ("cue_param", "-2e9", "1000000000.0"),
]  # fmt: skip
NON_FINITE_KEYS = [
    "rx", "ry", "rw", "rh", "iw", "opacity", "param", "colour", "fade", "prewait",
    "postwait", "layer_fade", "level", "cue_opacity", "cue_param",
]  # fmt: skip


def test_shows_at_the_edges_of_every_range_load_and_render(tmp_path: Path):
    folders = [write_show(tmp_path / name, **values) for name, values in EDGE_SHOWS.items()]
    for folder in folders:
        load_show(folder)  # accepted
    outcomes = render_in_child(folders)
    assert outcomes == {folder: "ok" for folder in folders}
    for folder in folders:
        png = cv2.imread(str(folder / "out" / "out" / "000000.png"))
        assert png is not None and png.size > 0


@pytest.mark.parametrize(("key", "value", "expected"), BEYOND)
def test_one_step_beyond_an_edge_is_refused_at_its_key_and_line(tmp_path, key, value, expected):
    write_show(tmp_path, **{key: value})
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    key_path, line = LOCATION[key]
    found = [(p.key_path, p.line) for p in info.value.problems]
    assert (key_path, line) in found, info.value
    problem = info.value.problems[found.index((key_path, line))]
    assert expected in problem.message and problem.file == tmp_path / "show.toml"


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e999", "1" + "0" * 400])
@pytest.mark.parametrize("key", NON_FINITE_KEYS)
def test_nan_and_infinities_are_refused_everywhere(tmp_path, key, bad):
    write_show(tmp_path, **{key: bad})
    with pytest.raises(ValidationError) as info:
        load_show(tmp_path)
    assert [(p.key_path, p.line) for p in info.value.problems] == [LOCATION[key]]
    assert "expected" in info.value.problems[0].message


def test_the_issues_regions_are_refused(tmp_path: Path):
    """[0, 0, 1e9, 1e9] aborted natively, [0, 0, inf, 100] raised OverflowError, NaN passed."""
    for region, shown in (
        ("[0, 0, 1e9, 1e9]", "[0, 0, 1000000000.0, 1000000000.0]"),
        ("[0, 0, inf, 100]", "[0, 0, inf, 100]"),
        ("[nan, 0, 100, 100]", "[nan, 0, 100, 100]"),
    ):
        write_show(tmp_path)
        text = show_text().replace("region = [4, 4, 40, 30]", f"region = {region}")
        (tmp_path / "show.toml").write_text(text, encoding="utf-8")
        with pytest.raises(ValidationError) as info:
            load_show(tmp_path)
        [problem] = info.value.problems
        assert (problem.key_path, problem.line) == ("layers[0].region", 29)
        assert problem.message.endswith(f"width and height 0.01..16384, got array {shown}")


# --- command-line numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "option", "expected"),
    [
        (["run", "shows/demo", "--fps", "0"], "--fps", "greater than 0"),
        (["run", "shows/demo", "--fps", "-5"], "--fps", "greater than 0"),
        (["run", "shows/demo", "--fps", "nan"], "--fps", "not finite"),
        (["shows/demo", "--fps", "1e6"], "--fps", "at most 1000"),
        (["run", "shows/demo", "--duration", "nan"], "--duration", "not finite"),
        (["run", "shows/demo", "--duration", "inf"], "--duration", "not finite"),
        (["run", "shows/demo", "--duration", "0"], "--duration", "greater than 0"),
        (["run", "shows/demo", "--osc-port", "65536"], "--osc-port", "0 to 65535"),
        (["run", "shows/demo", "--oscquery-port", "-1"], "--oscquery-port", "0 to 65535"),
        (["render", "shows/demo", "--out", "x", "--start", "inf"], "--start", "not finite"),
        (["render", "shows/demo", "--out", "x", "--start", "-1"], "--start", "from 0"),
        (["render", "shows/demo", "--out", "x", "--fps", "nan"], "--fps", "not finite"),
        (["render", "shows/demo", "--out", "x", "--fps", "0"], "--fps", "greater than 0"),
        (["render", "shows/demo", "--out", "x", "--frames", "0"], "--frames", "from 1"),
        (["render", "shows/demo", "--out", "x", "--frames", "2.5"], "--frames", "whole number"),
        (["schedule", "f.toml", "--run", "--fps", "0"], "--fps", "greater than 0"),
        (["schedule", "f.toml", "--run", "--duration", "-1"], "--duration", "greater than 0"),
        (["calibrate", "capture", "--projector", "0x0", "--out", "x", "--simulate"],
         "--projector", "each side 2 to 16384"),
        (["calibrate", "capture", "--projector", "64x48", "--out", "x", "--simulate",
          "--settle", "nan"], "--settle", "not finite"),
        (["calibrate", "capture", "--projector", "64x48", "--out", "x", "--simulate",
          "--retries", "-1"], "--retries", "from 0"),
        (["calibrate", "capture", "--projector", "64x48", "--out", "x", "--simulate",
          "--display", "99"], "--display", "0 to 63"),
        (["calibrate", "capture", "--projector", "64x48", "--out", "x", "--simulate",
          "--camera-size", "99999x48"], "--camera-size", "each side 2 to 16384"),
        (["calibrate", "fit", "p.toml", "--surface", "s", "--output", "o", "--file", "c.toml",
          "--threshold", "inf"], "--threshold", "not finite"),
    ],
)  # fmt: skip
def test_command_line_numbers_are_argument_errors(argv, option, expected, capsys):
    with pytest.raises(SystemExit) as info:
        run_show.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected" in err and expected in err, err
    assert "Traceback" not in err


def test_the_issues_arguments_are_argument_errors_from_the_real_command(tmp_path: Path):
    for args in (["--fps", "0"], ["--duration", "nan"]):
        result = subprocess.run(
            [sys.executable, "run_show.py", "shows/demo", "--headless", *args],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert f"argument {args[0]}: expected" in result.stderr
        assert "Traceback" not in result.stderr


# --- encodings --------------------------------------------------------------------------------


def _encoding_problem(load, path: Path) -> tuple[int | None, str]:
    """(line, message) of the one problem a loader reports for ``path``."""
    from calibration.errors import CalibrationError

    try:
        load(path)
    except ValidationError as exc:
        [problem] = exc.problems
        assert problem.file == path
        return problem.line, problem.message
    except CalibrationError as exc:  # the marks loader: "FILE:LINE: message"
        where, _, message = str(exc).partition(": ")
        assert where.startswith(str(path))
        return int(where.rsplit(":", 1)[1]), message
    raise AssertionError(f"{path} was accepted")


ENCODINGS = {
    "latin-1": (lambda text: text.replace("# top", "# café").encode("latin-1"), 1,
                "not UTF-8 text: byte 0xe9 at column 6 is not valid UTF-8"),
    "bom": (lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), 1,
            "the file is UTF-8 with a byte-order mark (BOM); expected UTF-8 without"),
    "utf-16": (lambda text: text.encode("utf-16"), 1, "the file is UTF-16; expected UTF-8"),
    "utf-16-no-bom": (lambda text: text.encode("utf-16-le"), 1,
                      "looks like UTF-16 or UTF-32 text"),
    "utf-32": (lambda text: text.encode("utf-32"), 1, "the file is UTF-32; expected UTF-8"),
}  # fmt: skip


def _loaders(tmp_path: Path) -> dict[str, tuple]:
    from calibration.marks import load_marks
    from calibration.store import load_calibration
    from mapping.control.schedule import load_schedule

    show = tmp_path / "show"
    write_show(show)
    return {
        "show": (lambda p: load_show(p.parent), show / "show.toml",
                 "# top\n" + show_text()),
        "calibration": (load_calibration, tmp_path / "cal.toml",
                        "# top\nschema_version = 1\n"),
        "schedule": (lambda p: load_schedule(p, check_shows=False), tmp_path / "evening.toml",
                     (REPO / "shows" / "evening.toml").read_text().replace("\n", "\n# top\n", 1)),
        "marks": (load_marks, tmp_path / "marks.toml", "# top\n[outputs.a]\n"),
    }  # fmt: skip


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_loader_names_an_encoding_problem_the_same_way_with_its_line(tmp_path, encoding):
    encode, _, expected = ENCODINGS[encoding]
    said = {}
    for name, (load, path, text) in _loaders(tmp_path).items():
        data = encode(text)
        path.write_bytes(data)
        line, message = _encoding_problem(load, path)
        if encoding == "latin-1":
            assert line == data[: data.index(b"\xe9")].count(b"\n") + 1
        else:
            assert line == 1
        assert message.startswith(expected) or expected in message, (name, message)
        said[name] = message
    assert len(set(said.values())) == 1, said


# --- odd files --------------------------------------------------------------------------------


def check(folder: Path, capsys: pytest.CaptureFixture[str]) -> subprocess.CompletedProcess[str]:
    """``run_show.py check FOLDER`` in this process: exit status and output."""
    capsys.readouterr()
    status = run_show.main(["check", str(folder)])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["check"], status, out, err)


def _with_other_problem(folder: Path) -> None:
    """A second, ordinary problem in the show: it must still be reported."""
    toml = folder / "show.toml"
    toml.write_text(toml.read_text().replace('blend = "multiply"', 'blend = "overlay"'))


def _make_odd(path: Path, what: str) -> None:
    path.unlink(missing_ok=True)
    if what == "folder":
        path.mkdir()
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "loop":
        path.symlink_to(path.name)
    elif what == "dangling":
        path.symlink_to("nowhere.png")


ODD = {
    "folder": "is a folder, expected a file",
    "fifo": "is a named pipe (FIFO), expected a file",
    "loop": "a symlink loop",
    "dangling": "is a symlink to a missing file",
}


@pytest.mark.parametrize("what", sorted(ODD))
def test_an_odd_media_file_is_a_problem_at_its_key_and_the_others_are_kept(tmp_path, what, capsys):
    folder = write_show(tmp_path / "show")
    _with_other_problem(folder)
    _make_odd(folder / "pic.png", what)
    result = check(folder, capsys)
    assert result.returncode == 2, result.stderr
    [line] = [x for x in result.stderr.splitlines() if "layers[1].file" in x]
    assert line.startswith(f"{folder / 'show.toml'}:36: layers[1].file: pic.png: ")
    assert ODD[what] in line
    assert "layers[2].blend: unknown blend mode 'overlay'" in result.stderr
    assert "2 problem(s)" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("what", sorted(ODD))
def test_an_odd_show_file_is_one_problem_not_a_crash_or_a_hang(tmp_path, what, capsys):
    folder = tmp_path / "show"
    folder.mkdir()
    _make_odd(folder / "show.toml", what)
    result = check(folder, capsys)
    assert result.returncode == 2, result.stderr
    expected = ODD[what].replace("expected a file", "expected a show file")
    if what == "dangling":
        expected = "show file not found"
    assert f"{folder / 'show.toml'}: " in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_an_odd_calibration_file_is_a_problem_at_the_surface(tmp_path: Path):
    folder = write_show(tmp_path / "show")
    _make_odd(tmp_path / "cal.toml", "fifo")
    toml = folder / "show.toml"
    toml.write_text(
        toml.read_text().replace(
            "corners = [[0, 0], [32, 0], [32, 24], [0, 24]]\npins = [[0, 0], [64, 0], [64, 48], "
            "[0, 48]]",
            'calibration = { file = "../cal.toml" }',
        )
    )
    with pytest.raises(ValidationError) as info:
        load_show(folder)
    [problem] = info.value.problems
    assert problem.key_path == "surfaces[0].calibration.file"
    assert problem.message == "../cal.toml: is a named pipe (FIFO), expected a file"


PERMISSION_PROBE = """
import sys
from mapping.errors import ValidationError
from mapping.show import load_show
try:
    load_show(sys.argv[1])
except ValidationError as exc:
    print("\\n".join(str(p) for p in exc.problems))
"""


def test_a_file_that_cannot_be_read_is_a_problem(tmp_path: Path):
    """As root (CI) the child process drops the capabilities that let root read anything
    (setpriv --bounding-set -dac_override,-dac_read_search), so the permission is real."""
    folder = write_show(tmp_path / "show")
    (folder / "pic.png").chmod(0)
    (tmp_path / "unreadable").mkdir()
    command = [sys.executable, "-c", PERMISSION_PROBE, str(folder)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "layers[1].file: pic.png: cannot read file: permission denied" in result.stdout
    (folder / "show.toml").chmod(0)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert f"{folder / 'show.toml'}: cannot read show file: permission denied" in result.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a = " + "[" * 100_000 + "]" * 100_000, "arrays or inline tables nested more than 32"),
        (
            "a = " + "{ b = " * 100_000 + "1" + " }" * 100_000,
            "arrays or inline tables nested more than 32",
        ),
        ("a" + ".b" * 100_000 + " = 1", "a dotted key or table name with more than 32 parts"),
        ("[" + "t." * 100_000 + "u]\nk = 1", "a dotted key or table name with more than 32"),
    ],
    ids=["arrays", "inline-tables", "dotted-key", "table-header"],
)
def test_nesting_100000_deep_is_a_problem_at_its_line(tmp_path, body, expected, capsys):
    folder = write_show(tmp_path / "show")
    (folder / "show.toml").write_text(show_text() + "\n" + body + "\n")
    line = show_text().count("\n") + 2
    result = check(folder, capsys)
    assert result.returncode == 2, result.stderr
    assert f"{folder / 'show.toml'}:{line}: {expected}" in result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


def test_shallow_nesting_is_fine(tmp_path: Path):
    folder = write_show(tmp_path / "show")
    toml = folder / "show.toml"
    toml.write_text(toml.read_text().replace('name = "edges"', 'name = "a.b.c.d.e.f.g.h.i"'))
    assert load_show(folder).name == "a.b.c.d.e.f.g.h.i"


def test_a_calibration_update_refuses_a_fifo_instead_of_blocking_on_it(tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text(
        "canvas_x,canvas_y,projector_x,projector_y\n0,0,0,0\n10,0,10,0\n10,10,10,10\n0,10,0,10\n"
    )
    fifo = tmp_path / "cal.toml"
    os.mkfifo(fifo)
    argv = ["calibrate", "fit", str(points), "--surface", "s", "--output", "o", "--file"]
    assert run_show.main([*argv, str(fifo)]) == 2
    assert f"{fifo}: is a named pipe (FIFO), expected a calibration file" in capsys.readouterr().err
