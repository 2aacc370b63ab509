"""A multi-machine show beyond ``run`` (issue 11): the evening schedule as controller, the
show file's ``[cluster]`` table, a compacted command log for rejoining nodes, the nodes'
GPU load and thumbnails on the panel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mapping.cluster.node import RenderNode
from mapping.errors import ValidationError
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.clusterkit import ReferenceClock, write_cluster_show
from tests.test_cluster import RenderNodePort

FPS = 30.0


def free_port() -> tuple[str, int]:
    probe = RenderNodePort()
    address = probe.address
    probe.close()
    return address


# -- the evening schedule drives the nodes


def test_the_evening_schedule_runs_a_multi_machine_show_as_controller(
    tmp_path: Path, ctx, monkeypatch
) -> None:
    """``schedule FILE --run`` on a show with ``[[nodes]]``: the schedule's commands
    (show.load, then joining its cue) go to the node, tagged, and it reaches the cue."""
    import run_show

    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    listen = free_port()
    shows = tmp_path / "shows"
    write_cluster_show(shows / "facade", {"a": f"{listen[0]}:{listen[1]}"}, controller_outputs=1)
    # a venue whose local time is early evening now, far from noon and midnight
    utc = dt.datetime.now(dt.UTC)
    shift = (18 - utc.hour + 12) % 24 - 12  # UTC+shift, -12..+11
    tz = f"Etc/GMT{-shift:+d}" if shift else "UTC"
    local = utc + dt.timedelta(hours=shift) - dt.timedelta(minutes=1)
    schedule = shows / "evening.toml"
    schedule.write_text(
        f'[venue]\nname = "test"\nlatitude = 45.0\nlongitude = 5.0\ntimezone = "{tz}"\n\n'
        f'[[entries]]\nshow = "facade"\nstart = "{local:%H:%M}"\ncue = "2"\nduration = "30m"\n'
    )
    node = RenderNode(load_show(shows / "facade"), "a", listen, clock=ReferenceClock()).start()
    player = None
    try:
        args = ["schedule", str(schedule), "--run", "--headless", "--duration", "1.5"]
        args += ["--fps", "30", "--no-audio", "--panel-port", "0", "--clock", "system"]
        assert run_show.main(args) == 0
        hello = node.hello
        assert hello is not None and hello.fps == FPS and hello.show == "cluster"
        assert node.received == hello.last_seq >= 2  # every command arrived, in order
        sent = [(c.name, c.source) for c in node._ready]
        assert sent[:2] == [("show.load", "schedule"), ("schedule.join", "schedule")], sent
        player = ShowPlayer(
            load_show(shows / "facade"), HeadlessOutputs(ctx), start_cue=hello.start_cue
        )
        node.attach(player)
        player.step(player.clock())
        assert player.status.cue == "2 green"  # joined 60 s in: the fade is long over
        assert player.renderer.output_names() == ["out-a"]  # after show.load: still its own
    finally:
        node.close()
        if player is not None:
            player.close()


# -- [cluster] in the show file


def _show_with(tmp_path: Path, cluster: str) -> Path:
    root = write_cluster_show(tmp_path / "s", {"a": "127.0.0.1:9100"})
    with (root / "show.toml").open("a") as f:
        f.write("[cluster]\n" + cluster)
    return root


def _problems(root: Path) -> list:
    with pytest.raises(ValidationError) as info:
        load_show(root)
    return info.value.problems


def test_cluster_settings_load(tmp_path: Path) -> None:
    root = _show_with(tmp_path, 'clock = "chrony"\nlead_frames = 6\nshow_mismatch = "warn"\n')
    settings = load_show(root).cluster
    assert (settings.clock, settings.lead_frames, settings.show_mismatch) == ("chrony", 6, "warn")
    plain = load_show(write_cluster_show(tmp_path / "p", {"a": "127.0.0.1:9100"})).cluster
    assert (plain.clock, plain.lead_frames, plain.show_mismatch) == (None, None, None)


def test_cluster_settings_problems_name_file_key_and_what_was_expected(tmp_path: Path) -> None:
    root = _show_with(
        tmp_path, 'clok = "ptp"\nclock = "ntp"\nlead_frames = 0\nshow_mismatch = "refuze"\n'
    )
    problems = {p.key_path: p for p in _problems(root)}
    assert set(problems) == {
        "cluster.clok",
        "cluster.clock",
        "cluster.lead_frames",
        "cluster.show_mismatch",
    }
    assert all(p.file == root / "show.toml" and p.line is not None for p in problems.values())
    assert "did you mean 'clock'" in problems["cluster.clok"].message
    assert "expected one of: auto, ptp, chrony, system" in problems["cluster.clock"].message
    assert "'ntp'" in problems["cluster.clock"].message
    assert "1..600" in problems["cluster.lead_frames"].message
    assert "did you mean 'refuse'" in problems["cluster.show_mismatch"].message
    root = _show_with(tmp_path / "t", "lead_frames = 2.5\n")
    (problem,) = _problems(root)
    assert problem.key_path == "cluster.lead_frames" and "2.5" in problem.message


def test_the_command_line_overrides_the_show_files_cluster_settings(tmp_path: Path) -> None:
    import run_show
    from mapping.cluster.clockchoice import resolve_choice
    from mapping.cluster.controller import settings

    show = load_show(
        _show_with(tmp_path, 'clock = "system"\nlead_frames = 7\nshow_mismatch = "warn"\n')
    )
    assert settings(None, None, show.cluster) == (7, "warn")  # the show file's
    assert settings(3, "refuse", show.cluster) == (3, "refuse")  # the command line's
    assert settings(None, None, load_show(tmp_path / "s").cluster.__class__()) == (4, "refuse")
    assert resolve_choice(None, show.cluster.clock) == "system"
    assert resolve_choice("ptp", show.cluster.clock) == "ptp"
    # and through the real command line: the controller gets what run_show parsed
    parser = run_show._parser()
    args = parser.parse_args(["run", str(tmp_path / "s"), "--headless"])
    assert (args.lead_frames, args.show_mismatch, args.clock) == (None, None, None)
    args = parser.parse_args(
        ["run", str(tmp_path / "s"), "--lead-frames", "9", "--clock", "chrony"]
    )
    assert settings(args.lead_frames, args.show_mismatch, show.cluster) == (9, "warn")
    assert (
        run_show._cluster_clock(
            parser.parse_args(["run", str(tmp_path / "s")]), show
        ).__class__.__name__
        == "SystemClock"
    )
