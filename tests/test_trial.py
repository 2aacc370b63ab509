"""A shader is admitted only after a trial frame drawn in a separate process (issue 8).

An endless loop really stops llvmpipe: it caps each loop at 65535 iterations, which at
320×240 with a sine and a cosine per iteration is a frame of about a minute on this
machine — drawn in the show's own process it would block the render thread inside the
driver. Here it is killed after its trial's timeout: ``check`` names the file and the time,
the live show keeps drawing its other layers and reports the error, ``render`` leaves on
Ctrl-C. A slow shader is reported with its frame time; a good one is tried once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import moderngl
import pytest

from mapping.check import check_show
from mapping.gl.renderer import Renderer
from mapping.gl.trial import FAILED, OK, TIMEOUT, ShaderTrials, TrialBudget, trial_size
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.showkit import ctrl_c_works

REPO = Path(__file__).resolve().parents[1]

ENDLESS = """\
// never finishes: the loop's exit is never taken (|x| stays below 3)
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = iTime + fragCoord.x;
    for (;;) {
        x = sin(x) * 1.5 + cos(x * 1.3);
        if (x > 1000.0) break;
    }
    fragColor = vec4(x);
}
"""

SLOW = """\
// finishes, slowly: 400 sines per pixel
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float x = iTime + fragCoord.x * 0.01;
    for (int i = 0; i < 400; i++) {
        x = sin(x + float(i) * 0.001);
    }
    fragColor = vec4(vec3(0.5 + 0.5 * x), 1.0);
}
"""

GOOD = """\
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(fragCoord / iResolution.xy, 0.25, 1.0);
}
"""

SHOW = """\
schema_version = 1
name = "trial"

[canvas]
size = [320, 240]

[[outputs]]
name = "out"
resolution = [160, 120]

[[surfaces]]
name = "s"
output = "out"
polygon = [[0, 0], [320, 0], [320, 240], [0, 240]]
corners = [[0, 0], [160, 0], [160, 120], [0, 120]]

[[layers]]
name = "gen"
kind = "shader"
shader = "gen.glsl"

[[layers]]
name = "wash"
kind = "solid"
color = [0.0, 1.0, 0.0, 1.0]
region = [0, 0, 160, 240]
"""


def write_show(folder: Path, shader: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "show.toml").write_text(SHOW)
    (folder / "gen.glsl").write_text(shader)
    return folder


@pytest.fixture
def trials():
    service = ShaderTrials(TrialBudget(timeout_s=1.0))
    yield service
    service.close()


def test_check_names_an_endless_loop_and_the_time_it_was_given(tmp_path: Path):
    show = write_show(tmp_path / "show", ENDLESS)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "run_show.py", "check", str(show), "--trial-timeout", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"{show / 'gen.glsl'}: layers[0].shader: did not finish within 1 s" in result.stderr, (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_the_live_show_draws_its_other_layers_and_reports_the_endless_loop(
    ctx: moderngl.Context, tmp_path: Path, trials: ShaderTrials
):
    show = load_show(write_show(tmp_path / "show", ENDLESS))
    player = ShowPlayer(show, HeadlessOutputs(ctx), trials=trials)
    try:
        steps: list[float] = []
        deadline = time.monotonic() + 30
        t = 0.0
        while "gen" not in player.renderer.errors and time.monotonic() < deadline:
            started = time.monotonic()
            player.step(t)
            steps.append(time.monotonic() - started)
            if len(steps) == 1:
                first = player.renderer.read_output("out").copy()
            t += 1 / 30
            time.sleep(0.02)
        error = player.renderer.errors.get("gen", "")
        assert f"{show.root / 'gen.glsl'}: did not finish within 1 s" in error
        assert len(steps) > 10 and max(steps) < 0.5, max(steps)  # never waited for the trial
        # from the first frame on, the wash is drawn and the untried shader is not
        assert (first[:, :80] == (0, 255, 0, 255)).all()
        assert (first[:, 80:] == (0, 0, 0, 255)).all()
        player.step(t)
        after = player.renderer.read_output("out")
        assert (after[:, :80] == (0, 255, 0, 255)).all()
        assert after[:, 80:, :3].any(), "the placeholder says what is wrong"
    finally:
        player.close()
    assert not trials.worker.alive or trials.worker.spawns == 1


def test_render_leaves_on_ctrl_c_while_a_trial_hangs(tmp_path: Path):
    show = write_show(tmp_path / "show", ENDLESS)
    process = subprocess.Popen(
        [sys.executable, "run_show.py", "--log-level", "DEBUG", "render", str(show),
         "--out", str(tmp_path / "out"), "--trial-timeout", "120"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=ctrl_c_works,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        worker = None
        for line in process.stderr:
            if m := re.search(r"trial worker (\d+) started", line):
                worker = int(m.group(1))
                break
        assert worker is not None, "the render started no trial"
        time.sleep(0.5)  # the trial frame is being drawn, and will not finish
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        rest = process.stderr.read()
        assert process.wait(timeout=10) == 130
        assert time.monotonic() - interrupted < 5
        assert "interrupted (Ctrl-C)" in rest and "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):  # the worker went with it
        os.kill(worker, 0)


def test_a_slow_shader_is_reported_with_its_frame_time(tmp_path: Path):
    show = write_show(tmp_path / "show", SLOW)
    report = check_show(show, budget=TrialBudget(timeout_s=30.0, slow_s=0.002))
    assert report.ok, report.problems  # slow is worth knowing, not wrong
    (warning,) = report.warnings
    assert warning.file == show / "gen.glsl" and warning.key_path == "layers[0].shader"
    m = re.match(
        r"too slow: frame ([\d.]+) ms at 320×240, compile [\d.]+ ms; "
        r"one frame at the show's rate is 2\.0 ms",
        warning.message,
    )
    assert m, warning.message
    (trial,) = report.trials
    assert float(m.group(1)) == pytest.approx(trial.frame_s * 1e3, abs=0.06)
    assert trial.frame_s > 0.002


def test_a_good_shader_is_tried_once_and_a_broken_one_names_its_line(
    ctx: moderngl.Context, tmp_path: Path, trials: ShaderTrials
):
    good = tmp_path / "good.glsl"
    good.write_text(GOOD)
    key = trials.key("shader", good, (1920, 1080))
    result = trials.run(key)
    assert result.outcome == OK and result.admitted
    assert result.trial_size_px == trial_size((1920, 1080)) == (320, 180)
    assert result.estimate_s == pytest.approx(result.frame_s * 36.0)  # 1920·1080 / 320·180
    assert (trials.worker.spawns, trials.worker.jobs) == (1, 1)
    assert trials.run(trials.key("shader", good, (1920, 1080))) is result
    assert trials.request(key) is result and trials.request(key) is result  # never queued
    assert (trials.worker.spawns, trials.worker.jobs) == (1, 1)  # cached: no work

    broken = tmp_path / "broken.glsl"
    broken.write_text("void mainImage(out vec4 c, in vec2 p) {\n    c = vec4(nope);\n}\n")
    failed = trials.run(trials.key("shader", broken, (64, 48)))
    assert failed.outcome == FAILED
    assert (failed.errors[0].file, failed.errors[0].line) == (broken, 2)
    assert failed.message.startswith(f"{broken}:2: ")
    assert (trials.worker.spawns, trials.worker.jobs) == (1, 2)  # the same worker

    endless = tmp_path / "endless.glsl"
    endless.write_text(ENDLESS)
    assert trials.run(trials.key("shader", endless, (320, 240))).outcome == TIMEOUT
    good.write_text(GOOD + "// saved again\n")  # a new file identity: tried again
    again = trials.run(trials.key("shader", good, (1920, 1080)))
    assert again.outcome == OK and again is not result
    assert (trials.worker.spawns, trials.worker.jobs) == (2, 4)  # restarted after the kill

    # offline (render) the renderer waits for the trial, then draws the shader
    show = load_show(write_show(tmp_path / "show", GOOD))
    renderer = Renderer(ctx, show, offline=True, trials=trials)
    try:
        from mapping.cues import CueEngine

        renderer.render(CueEngine(show).tick(0.0))
        out = renderer.read_output("out")
        assert out[:, 80:, 2].min() > 50  # the shader's blue 0.25, not black
    finally:
        renderer.release()


def _render_until(renderer: Renderer, frame, done, timeout_s: float = 20.0):
    """Render live frames until ``done()``; return the frames' durations."""
    steps = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        renderer.render(frame)
        steps.append(time.monotonic() - started)
        if done():
            return steps
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_an_edit_that_breaks_a_live_shader_keeps_the_last_good_picture(
    ctx: moderngl.Context, tmp_path: Path, trials: ShaderTrials
):
    from mapping.cues import CueEngine

    folder = write_show(tmp_path / "show", GOOD)
    shader = folder / "gen.glsl"
    show = load_show(folder)
    frame = CueEngine(show).tick(0.0)
    renderer = Renderer(ctx, show, trials=trials)  # live: never waits for a trial
    try:
        _render_until(renderer, frame, lambda: renderer.read_output("out")[:, 80:, 2].min() > 50)
        good = renderer.read_output("out").copy()

        def edit(text: str) -> None:
            before = shader.stat().st_mtime_ns
            shader.write_text(text)
            os.utime(shader, ns=(before + 10**9, before + 10**9))  # a new file identity
            renderer.set_show(load_show(folder))  # what a reload does

        edit("void mainImage(out vec4 c, in vec2 p) {\n    c = vec4(nope);\n}\n")
        renderer.render(frame)  # the new file's trial is running: the old picture stays
        assert (renderer.read_output("out") == good).all()
        _render_until(renderer, frame, lambda: "gen" in renderer.errors)
        assert renderer.errors["gen"].startswith(f"{shader}:2: ")
        renderer.render(frame)
        assert (renderer.read_output("out") == good).all(), "the last good shader is kept"

        edit(GOOD.replace("0.25", "0.75"))  # fixed: tried, then drawn
        _render_until(renderer, frame, lambda: renderer.read_output("out")[:, 80:, 2].min() > 150)
        assert "gen" not in renderer.errors
    finally:
        renderer.release()


def test_a_trial_process_that_dies_refuses_the_shader_and_is_replaced(tmp_path: Path):
    """What a driver crash on a shader looks like: the worker dies mid-trial."""
    trials = ShaderTrials(TrialBudget(timeout_s=60.0))
    try:
        endless = tmp_path / "endless.glsl"
        endless.write_text(ENDLESS)
        key = trials.key("shader", endless, (320, 240))
        assert trials.request(key) is None
        deadline = time.monotonic() + 30
        while trials.worker.jobs == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        pid = trials.worker.pid
        assert pid is not None
        time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        result = trials.run(key)
        assert result.outcome == FAILED
        assert result.message == f"{endless}: the trial process crashed drawing it (exit status -9)"
        good = tmp_path / "good.glsl"
        good.write_text(GOOD)
        assert trials.run(trials.key("shader", good, (64, 48))).admitted
        assert trials.worker.spawns == 2
    finally:
        trials.close()


ENDLESS_FILTER = """/*{
    "ISFVSN": "2",
    "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ]
}*/
// never finishes, like ENDLESS above
void main() {
    float x = TIME + gl_FragCoord.x;
    for (;;) {
        x = sin(x) * 1.5 + cos(x * 1.3);
        if (x > 1000.0) break;
    }
    gl_FragColor = IMG_THIS_PIXEL(inputImage) * x;
}
"""

ENDLESS_TRANSITION = ENDLESS_FILTER.replace(
    '{ "NAME": "inputImage", "TYPE": "image" }',
    '{ "NAME": "startImage", "TYPE": "image" }, { "NAME": "endImage", "TYPE": "image" }, '
    '{ "NAME": "progress", "TYPE": "float" }',
).replace("IMG_THIS_PIXEL(inputImage)", "IMG_THIS_PIXEL(endImage)")

INVERT_FILTER = """/*{
    "ISFVSN": "2",
    "INPUTS": [ { "NAME": "inputImage", "TYPE": "image" } ]
}*/
void main() {
    vec4 c = IMG_THIS_PIXEL(inputImage);
    gl_FragColor = vec4(1.0 - c.rgb, c.a);
}
"""

FILTERED_SHOW = (
    SHOW.split("[[layers]]")[0]
    + """\
[[layers]]
name = "wash"
kind = "solid"
color = [0.0, 1.0, 0.0, 1.0]
region = [0, 0, 160, 240]
filters = [ { shader = "invert.fs" }, { shader = "endless.fs" } ]

[[cues]]
name = "a"
transition = "endless-wipe.fs"
"""
)


def test_filters_and_transitions_are_tried_too(
    ctx: moderngl.Context, tmp_path: Path, trials: ShaderTrials
):
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "show.toml").write_text(FILTERED_SHOW)
    (folder / "invert.fs").write_text(INVERT_FILTER)
    (folder / "endless.fs").write_text(ENDLESS_FILTER)
    (folder / "endless-wipe.fs").write_text(ENDLESS_TRANSITION)
    # check: the endless filter and the cue's transition both named, each with its key path
    report = check_show(folder, trials=trials)
    where = sorted((p.file.name, p.key_path) for p in report.problems)
    assert where == [
        ("endless-wipe.fs", "cues[0].transition"),
        ("endless.fs", "layers[0].filters[1].shader"),
    ], report.problems
    assert all("did not finish within 1 s" in p.message for p in report.problems)
    # live: the layer waits for its filters' trials, then shows inverted (the endless
    # filter refused and skipped): green (0, 255, 0) inverted is magenta
    fresh = ShaderTrials(TrialBudget(timeout_s=1.0))  # nothing cached from the check
    player = ShowPlayer(load_show(folder), HeadlessOutputs(ctx), trials=fresh)
    try:
        player.step(0.0)
        assert (player.renderer.read_output("out")[:, :80, :3] == 0).all()  # not drawn yet
        deadline, t = time.monotonic() + 30, 0.0
        while time.monotonic() < deadline:
            t += 1 / 30
            player.step(t)
            if (player.renderer.read_output("out")[:, :80, :3] == (255, 0, 255)).all():
                break
            time.sleep(0.02)
        assert (player.renderer.read_output("out")[:, :80, :3] == (255, 0, 255)).all()
        assert "endless.fs" in player.renderer.errors.get("wash", "")
    finally:
        player.close()
        fresh.close()
