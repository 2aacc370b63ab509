"""The command registry: typed arguments, results for the sender, time tags, lock, undo.

These are the rules every adapter (keys, OSC, OSCQuery, the schedule, the panel) relies on,
tested on the built-in registry and a live demo show, without GL.
"""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest

from mapping.commands import (
    Arg,
    Command,
    CommandError,
    CommandProcessor,
    CommandQueue,
    CommandSpec,
    Registry,
)
from mapping.control.builtin import SPECS, build_registry
from mapping.live import LiveShow, ShowLibrary
from mapping.show import load_show
from tests.conftest import REPO


@pytest.fixture
def registry() -> Registry:
    return build_registry()


@pytest.fixture
def live() -> LiveShow:
    return LiveShow(load_show(REPO / "shows" / "demo"), library=ShowLibrary(REPO / "shows"))


@pytest.fixture
def processor(registry, live) -> CommandProcessor:
    return CommandProcessor(registry, live)


def run(processor, registry, name, *values, t=0.0, **kw):
    return processor.apply(registry.make(name, values, **kw), t)


# --- declaring and making commands ----------------------------------------------------------


def test_every_builtin_command_has_a_description_and_an_address_from_its_name():
    for spec in SPECS:
        assert spec.description and spec.address.startswith("/")
        assert spec.signature().startswith(spec.address)


def test_the_issue_addresses_exist_with_their_type_tags(registry):
    signatures = {spec.signature() for spec in registry}
    for expected in (
        "/go s",
        "/back s",
        "/stop",
        "/panic f",
        "/cue/{cue}/start",
        "/cue/{cue}/load",
        "/master ff",
        "/blackout i",
        "/layer/{layer}/opacity ff",
        "/layer/{layer}/param/{param} ff",
        "/surface/{surface}/visible i",
        "/output/{output}/testpattern s",
        "/show/load s",
    ):
        assert expected in signatures


def test_a_registry_refuses_an_address_that_disagrees_with_its_arguments():
    spec = CommandSpec("x", "/x/{a}", "bad", lambda t, a, s: None, (Arg("b", str, in_path=True),))
    with pytest.raises(ValueError, match="address and arguments disagree"):
        Registry([spec])


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("master", ("loud",), "master: argument 'level': expected a number in [0, 1], got 'loud'"),
        ("master", (1.5,), "master: argument 'level': expected a number in [0, 1], got 1.5"),
        ("master", (math.nan,), "master: argument 'level': expected a finite number, got nan"),
        ("master", (math.inf,), "master: argument 'level': expected a finite number, got inf"),
        ("master", (), "master: missing argument 'level' (a number in [0, 1]); expected level"),
        ("master", (0.5, 1.0, 2.0), "master: expected at most 2 argument(s)"),
        ("blackout", (2,), "blackout: argument 'on': expected 0 or 1 (true/false), got 2"),
        ("panic", (-1.0,), "panic: argument 'fade': expected a number in [0, 60], got -1"),
        ("nope", (), "unknown command 'nope'"),
        ("mastr", (), "unknown command 'mastr' (did you mean 'master'?)"),
    ],
)
def test_bad_values_are_refused_with_the_argument_and_what_was_expected(
    registry, name, values, message
):
    with pytest.raises(CommandError) as err:
        registry.make(name, values)
    assert str(err.value).startswith(message)


def test_values_are_converted_to_their_declared_types(registry):
    assert registry.make("master", ("0.25",)).args == {"level": 0.25, "fade": 0.0}
    assert registry.make("blackout", (1,)).args == {"on": True}
    assert registry.make("blackout", ("false",)).args == {"on": False}
    assert registry.make("go").args == {"cue_list": ""}


def test_a_concrete_address_matches_its_template_with_the_path_values(registry):
    spec, path = registry.match("/layer/logo/opacity")
    assert spec.name == "layer.opacity" and path == {"layer": "logo"}
    assert registry.match("/layer//opacity") is None
    assert registry.match("/layer/logo/opacity/extra") is None


def test_addresses_are_expanded_for_the_live_show(registry, live):
    addresses = {address for address, _, _ in registry.addresses(live)}
    assert "/layer/warm-wash/opacity" in addresses
    assert {f"/cue/{n}/start" for n in ("1", "2", "3", "4")} <= addresses
    assert "/output/left/testpattern" in addresses and "/surface/pier-left/visible" in addresses
    assert not any("{" in a for a in addresses)


# --- applying them ---------------------------------------------------------------------------


def test_applying_returns_ok_and_the_new_value_or_the_error_text(processor, registry, live):
    result = run(processor, registry, "master", 0.5)
    assert result.ok and result.value == 0.5 and live.master_level(0.0) == 0.5
    result = run(processor, registry, "cue.start", path={"cue": "99"})
    assert not result.ok and result.message == "cue.start: unknown cue '99'"


def test_query_and_relative_changes_clamp_to_the_range(processor, registry):
    run(processor, registry, "master", 0.9)
    assert run(processor, registry, "master", mode="query").value == 0.9
    assert run(processor, registry, "master", 0.3, mode="add").value == 1.0  # clamped
    assert run(processor, registry, "master", 0.25, mode="sub").value == 0.75
    path = {"layer": "logo"}
    run(processor, registry, "layer.opacity", 0.5, path=path, mode="add")
    assert run(processor, registry, "layer.opacity", path=path, mode="query").value == 0.5
    with pytest.raises(CommandError, match="relative changes"):
        registry.make("go", ("main",), mode="add")


def test_the_show_lock_refuses_editing_but_not_playback(processor, registry, live):
    run(processor, registry, "lock", 1)
    refused = run(processor, registry, "output.testpattern", "grid", path={"output": "left"})
    assert not refused.ok and "locked" in refused.message
    assert live.patterns["left"] is None
    assert run(processor, registry, "go").ok
    assert not run(processor, registry, "show.load", "demo").ok
    # the keyboard at the machine itself is not a remote controller
    assert run(processor, registry, "testpattern.cycle", source="key").ok
    run(processor, registry, "lock", 0)
    assert run(processor, registry, "output.testpattern", "grid", path={"output": "left"}).ok


def test_edits_undo_and_redo_in_order(processor, registry, live):
    run(processor, registry, "layer.opacity", 0.3, path={"layer": "logo"})
    run(processor, registry, "output.level", 0.5, path={"output": "left"})
    run(processor, registry, "master", 0.2)  # a performance level, not an edit
    assert run(processor, registry, "undo").ok and live.engine.level("left", 0.0) == 1.0
    assert run(processor, registry, "undo").ok and live.engine.opacity("logo", 0.0) == 0.0
    assert run(processor, registry, "undo").message == "undo: nothing to undo"
    assert run(processor, registry, "redo").ok and live.engine.opacity("logo", 0.0) == 0.3
    assert run(processor, registry, "redo").ok and live.engine.level("left", 0.0) == 0.5
    assert run(processor, registry, "redo").message == "redo: nothing to redo"
    assert live.master_level(0.0) == 0.2
    run(processor, registry, "undo")
    run(processor, registry, "surface.visible", 0, path={"surface": "pier-left"})
    assert not run(processor, registry, "redo").ok  # a new edit cleared what was left


def test_show_load_names_only_shows_inside_the_shows_folder(processor, registry):
    for name, reason in (
        ("../demo", "no paths"),
        ("/etc", "no paths"),
        ("nothing-here", "no show named 'nothing-here'"),
        ("calibrations", "expected calibrations/show.toml"),
    ):
        result = run(processor, registry, "show.load", name)
        assert not result.ok and reason in result.message


def test_show_load_refuses_a_symlink_leading_out_of_the_shows_folder(tmp_path, registry):
    shows = tmp_path / "shows"
    shows.mkdir()
    (shows / "outside").symlink_to(REPO / "shows" / "demo")
    live = LiveShow(load_show(REPO / "shows" / "demo"), library=ShowLibrary(shows))
    result = CommandProcessor(registry, live).apply(registry.make("show.load", ("outside",)), 0)
    assert not result.ok and "leads outside the shows folder" in result.message
    assert live.library is not None and live.library.names() == []


def test_a_failing_effect_is_an_error_result_never_an_exception(registry, live):
    def boom(target, args, t):
        raise RuntimeError("disk on fire")

    reg = Registry([CommandSpec("boom", "/boom", "fails", boom)])
    result = CommandProcessor(reg, live).apply(reg.make("boom"), 0.0)
    assert not result.ok and result.message == "boom failed: disk on fire"


# --- the queue ------------------------------------------------------------------------------


def test_commands_wait_for_their_show_time_and_keep_arrival_order(registry):
    queue = CommandQueue()
    late = queue.submit(registry.make("master", (0.1,), at_show_time_s=5.0))
    first = queue.submit(registry.make("go"))
    second = queue.submit(registry.make("back"))
    due = queue.due(1.0)
    assert [t.command.name for t in due] == ["go", "back"] and [first, second] == due
    assert queue.due(4.999) == []
    assert queue.due(5.0) == [late]
    assert queue.next_due() is None


def test_a_full_queue_answers_at_once_instead_of_growing(registry):
    queue = CommandQueue(capacity=2)
    tickets = [queue.submit(registry.make("go")) for _ in range(3)]
    assert tickets[2].result is not None and "queue full" in tickets[2].result.message
    assert len(queue) == 2 and queue.refused == 1


def test_a_ticket_carries_the_result_to_another_thread(registry, processor):
    queue = CommandQueue()
    ticket = queue.submit(registry.make("master", (0.4,)))
    got = []
    waiter = threading.Thread(target=lambda: got.append(ticket.wait(5.0)))
    waiter.start()
    for t in queue.due(0.0):
        t.resolve(processor.apply(t.command, 0.0))
    waiter.join(5.0)
    assert got and got[0].ok and got[0].value == 0.4


# --- reloading the show folder ----------------------------------------------------------------


@pytest.fixture
def live_copy(show_dir) -> LiveShow:
    return LiveShow(load_show(show_dir))


def test_a_calibration_change_is_picked_up_and_the_cues_carry_on(show_dir, live_copy, registry):
    processor = CommandProcessor(registry, live_copy)
    live_copy.engine.go(0.0)
    live_copy.engine.go(1.0)  # cue 2, fading for 2 s
    venue = show_dir.parent / "calibrations" / "demo-venue.toml"
    venue.write_text(venue.read_text().replace("-1073.693598163", "-1063.693598163"))
    result = processor.apply(registry.make("show.reload"), 1.5)
    assert result.ok, result.message
    H = live_copy.show.surface("right-wing").H_canvas_to_projector
    assert H[0, 2] == -1063.693598163
    assert live_copy.engine.current_cue().label == "2 clip"
    assert live_copy.engine.opacity("clip", 2.0) == pytest.approx(0.5)  # the fade went on


def test_an_invalid_edit_is_refused_and_the_show_keeps_its_last_good_state(
    show_dir, live_copy, registry
):
    processor = CommandProcessor(registry, live_copy)
    before = live_copy.show
    (show_dir / "show.toml").write_text(
        (show_dir / "show.toml").read_text().replace("opacity = 0.4", "opacity = 4")
    )
    result = processor.apply(registry.make("show.reload"), 0.0)
    assert not result.ok
    assert result.message.startswith("show.reload: the show keeps running as it was; ")
    assert "cues[0].layers.sky.opacity" in result.message and "show.toml:" in result.message
    assert live_copy.show is before


def test_a_cue_edit_restarts_in_the_cue_that_was_running(show_dir, live_copy, registry):
    processor = CommandProcessor(registry, live_copy)
    live_copy.engine.goto("3", 0.0, fade_s=0.0)
    (show_dir / "show.toml").write_text(
        (show_dir / "show.toml").read_text().replace("opacity = 0.6", "opacity = 0.3")
    )
    assert processor.apply(registry.make("show.reload"), 5.0).ok
    assert live_copy.engine.current_cue().label == "3 emblem"
    assert live_copy.engine.opacity("warm-wash", 5.0) == 0.3


# --- values as controllers send them (text from keys and scripts, numbers from OSC) --------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True), ("0", False), ("true", True), ("False", False), ("ON", True),
        ("off", False), (1, True), (0.0, False), (True, True),
    ],
)  # fmt: skip
def test_a_switch_accepts_the_spellings_controllers_send(registry, raw, expected):
    assert registry.make("blackout", (raw,)).args == {"on": expected}


@pytest.mark.parametrize("raw", ["yes", "2", 0.5, b"\x01", None])
def test_a_switch_refuses_anything_else_and_shows_it(registry, raw):
    with pytest.raises(CommandError) as err:
        registry.make("blackout", (raw,))
    assert str(err.value) == (f"blackout: argument 'on': expected 0 or 1 (true/false), got {raw!r}")


@pytest.mark.parametrize(("raw", "value"), [("2", 2), (3.0, 3), (" 4 ", 4), (-1, -1)])
def test_an_integer_accepts_whole_numbers_in_any_form(raw, value):
    arg = Arg("n", int, "a count", minimum=-5, maximum=5)
    assert arg.convert(raw, "c") == value and type(arg.convert(raw, "c")) is int


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("2.5", "'2.5'"), (2.5, "2.5"), (True, "True"), (math.inf, "inf"), ("x", "'x'")],
)
def test_an_integer_refuses_fractions_and_non_numbers_naming_them(raw, shown):
    with pytest.raises(CommandError) as err:
        Arg("n", int, "a count").convert(raw, "c")
    assert str(err.value) == f"c: argument 'n': expected an integer, got {shown}"


@pytest.mark.parametrize(("raw", "value"), [(1, "1"), (2.5, "2.5"), (1.0, "1"), ("ok", "ok")])
def test_a_text_argument_takes_numbers_as_their_shortest_text(raw, value):
    assert Arg("s", str).convert(raw, "c") == value


def test_a_text_argument_refuses_binary_data():
    with pytest.raises(CommandError, match=r"^c: argument 's': expected a text, got binary data$"):
        Arg("s", str).convert(b"\x00\x01", "c")


def test_a_float_refuses_booleans_and_blobs():
    for raw in (True, b"1", None, [1.0]):
        with pytest.raises(CommandError, match=r"^c: argument 'f': expected a number, got "):
            Arg("f", float).convert(raw, "c")


def test_range_messages_name_the_bounds_that_exist():
    assert Arg("a", float, minimum=0.0).expected() == "a number ≥ 0"
    assert Arg("a", float, minimum=0.0, maximum=2.5).expected() == "a number in [0, 2.5]"
    assert Arg("a", str, choices=("x", "y")).expected() == "one of x, y"
    with pytest.raises(CommandError, match=r"expected a number ≥ 0, got -0.5$"):
        Arg("a", float, minimum=0.0).convert(-0.5, "c")
    with pytest.raises(CommandError, match=r"expected one of x, y, got 'z'$"):
        Arg("a", str, choices=("x", "y")).convert("z", "c")
    assert Arg("a", float, minimum=0.0, maximum=1.0).convert(1.0, "c") == 1.0  # bounds inclusive
    assert Arg("a", float, minimum=0.0, maximum=1.0).convert(0.0, "c") == 0.0


def test_a_command_describes_itself_for_undo_and_logs(registry):
    assert registry.make("master", (0.5,)).describe() == "master level=0.5 fade=0.0"
    assert registry.make("master", (0.1,), mode="add").describe() == "master + level=0.1 fade=0.0"
    assert registry.make("master", (0.1,), mode="sub").describe() == "master - level=0.1 fade=0.0"
    assert registry.make("master", mode="query").describe() == "master ?"
    assert registry.make("stop").describe() == "stop"


def test_values_by_name_and_unknown_names(registry):
    assert registry.make("master", {"level": 0.2}).args == {"level": 0.2, "fade": 0.0}
    with pytest.raises(CommandError, match=r"^master: unknown argument 'lvl' \(did you mean"):
        registry.make("master", {"lvl": 0.2})
    with pytest.raises(CommandError, match=r"^layer.opacity: missing 'layer' in the address"):
        registry.make("layer.opacity", (0.5,))
    with pytest.raises(CommandError, match=r"^stop: has no value to query$"):
        registry.make("stop", mode="query")


def test_undo_reports_what_it_undid_and_redo_what_it_redid(processor, registry, live):
    run(processor, registry, "layer.opacity", 0.25, path={"layer": "logo"})
    undone = run(processor, registry, "undo")
    assert undone.value == "layer.opacity layer=logo opacity=0.25 fade=0.0"
    redone = run(processor, registry, "redo")
    assert (redone.ok, redone.command, redone.value) == (True, "redo", undone.value)
    assert processor.can_undo and not processor.can_redo


def test_history_keeps_only_the_newest_edits(registry, live):
    processor = CommandProcessor(registry, live, history=2)
    for value in (0.1, 0.2, 0.3):
        processor.apply(registry.make("layer.opacity", (value,), path={"layer": "logo"}), 0.0)
    assert processor.apply(registry.make("undo"), 0.0).ok
    assert processor.apply(registry.make("undo"), 0.0).ok
    assert live.engine.opacity("logo", 0.0) == 0.1
    assert not processor.apply(registry.make("undo"), 0.0).ok


def test_listeners_hear_every_result(processor, registry):
    heard = []
    processor.listeners.append(lambda command, result: heard.append((command.name, result.ok)))
    run(processor, registry, "master", 0.5)
    run(processor, registry, "cue.start", path={"cue": "99"})
    assert heard == [("master", True), ("cue.start", False)]


def test_the_queue_reports_the_earliest_pending_time(registry):
    queue = CommandQueue()
    assert queue.next_due() is None
    queue.submit(registry.make("go", at_show_time_s=3.0))
    assert queue.next_due() == 3.0
    queue.submit(registry.make("go"))
    assert queue.next_due() == -math.inf
    assert [t.command.at_show_time_s for t in queue.due(10.0, limit=1)] == [None]


# --- edges of the specification (each kills a mutant that survived: docs/testing.md) -------


def tiny_registry() -> tuple[Registry, dict]:
    """A registry of its own (not the built-in one): a level with undo, two value
    arguments, none, and a path argument that takes fixed choices."""
    target = {"level": 0.5}

    def set_level(t, args, show_time_s):
        before = t["level"]
        t["level"] = args["value"]
        return lambda: t.__setitem__("level", before)

    specs = [
        CommandSpec(
            "level",
            "/level",
            "the level",
            set_level,
            (Arg("value", float, minimum=0.0, maximum=1.0),),
            query=lambda t, args: t["level"],
            edit=True,
        ),
        CommandSpec(
            "pair", "/pair", "two values", lambda t, a, s: None, (Arg("a", float), Arg("b", int))
        ),
        CommandSpec("ping", "/ping", "no values", lambda t, a, s: None),
        CommandSpec(
            "pick",
            "/pick/{which}",
            "fixed choices in the path",
            lambda t, a, s: None,
            (Arg("which", str, choices=("one", "two"), in_path=True),),
        ),
        CommandSpec(
            "frames",
            "/frames",
            "a big integer range",
            lambda t, a, s: None,
            (Arg("n", int, minimum=0, maximum=10_000_000),),
        ),
    ]
    return Registry(specs), target


def test_too_many_values_name_every_argument_or_none():
    registry, _ = tiny_registry()
    with pytest.raises(CommandError) as error:
        registry.make("pair", (1.0, 2, 3))
    assert str(error.value) == (
        "pair: expected at most 2 argument(s) (a (a number), b (an integer)), got 3"
    )
    with pytest.raises(CommandError) as error:
        registry.make("ping", (1,))
    assert str(error.value) == "ping: expected at most 0 argument(s) (no arguments), got 1"


def test_path_choices_expand_into_addresses():
    registry, target = tiny_registry()
    addresses = [address for address, _spec, _values in registry.addresses(target)]
    assert addresses == ["/level", "/pair", "/ping", "/pick/one", "/pick/two", "/frames"]


def test_integer_bounds_are_written_as_integers():
    registry, _ = tiny_registry()
    with pytest.raises(CommandError) as error:
        registry.make("frames", (20_000_000,))
    assert str(error.value) == (
        "frames: argument 'n': expected an integer in [0, 10000000], got 20000000"
    )


def test_a_refused_value_is_shown_whole_up_to_39_characters_then_cut():
    registry, _ = tiny_registry()
    prefix = "pick: argument 'which': expected one of one, two, got "
    for text, shown in [
        ("x" * 39, "'" + "x" * 39 + "'"),
        ("x" * 40, "'" + "x" * 37 + "...'"),
    ]:
        with pytest.raises(CommandError) as error:
            registry.make("pick", path={"which": text})
        assert str(error.value) == prefix + shown
    with pytest.raises(CommandError) as error:
        registry.make("level", (list(range(30)),))
    assert str(error.value) == (
        "level: argument 'value': expected a number in [0, 1], got " + repr(list(range(30)))[:40]
    )


def test_undo_and_redo_answer_as_themselves():
    registry, target = tiny_registry()
    processor = CommandProcessor(registry, target)
    nothing = processor.apply(Command("undo"), 0.0)
    assert (nothing.ok, nothing.command, nothing.message) == (
        False,
        "undo",
        "undo: nothing to undo",
    )
    nothing = processor.apply(Command("redo"), 0.0)
    assert (nothing.ok, nothing.command, nothing.message) == (
        False,
        "redo",
        "redo: nothing to redo",
    )
    processor.apply(registry.make("level", (0.25,)), 0.0)
    undone = processor.apply(Command("undo"), 0.0)
    assert (undone.ok, undone.command, undone.value) == (True, "undo", "level value=0.25")
    assert target["level"] == 0.5
    redone = processor.apply(Command("redo"), 0.0)
    assert (redone.ok, redone.command, redone.message, redone.value) == (
        True,
        "redo",
        "",
        "level value=0.25",
    )
    assert target["level"] == 0.25


def test_the_signature_and_membership_of_a_registry():
    registry, _ = tiny_registry()
    assert registry.spec("pair").signature() == "/pair fi"
    assert registry.spec("ping").signature() == "/ping"
    assert "pair" in registry and "nothing" not in registry


def test_put_queues_the_command_itself():
    registry, _ = tiny_registry()
    queue = CommandQueue()
    command = registry.make("level", (0.75,))
    ticket = queue.put(command)
    assert ticket.command is command
    assert queue.due(0.0) == [ticket]


class Locked(dict):
    """A target with the show lock on."""

    locked = True


def grid_spec() -> CommandSpec:
    """Two path arguments: the row takes anything, the column's names depend on the row."""
    return CommandSpec(
        "cell",
        "/grid/{row}/{col}",
        "a cell",
        lambda t, a, s: None,
        (
            Arg("row", str, in_path=True),
            Arg(
                "col", str, in_path=True, names=lambda t, v: ("a1", "b1") if v["row"] == "1" else ()
            ),
        ),
    )


def test_every_result_names_its_command():
    registry, target = tiny_registry()
    processor = CommandProcessor(registry, target)
    assert processor.apply(registry.make("level", (0.25,)), 0.0).command == "level"
    query = processor.apply(registry.make("level", mode="query"), 0.0)
    assert (query.command, query.value) == ("level", 0.25)
    clamped = processor.apply(Command("level", {"value": 2.0}, "add"), 0.0)
    assert (clamped.ok, clamped.command, clamped.value) == (True, "level", 1.0)

    def broken(t, args, s):
        raise RuntimeError("boom")

    failing = Registry([CommandSpec("fail", "/fail", "fails", broken)])
    result = CommandProcessor(failing, target).apply(failing.make("fail"), 0.0)
    assert (result.ok, result.command, result.message) == (False, "fail", "fail failed: boom")
    unknown = processor.apply(Command("levle"), 0.0)
    assert (unknown.command, unknown.message) == (
        "levle",
        "unknown command 'levle' (did you mean 'level'?)",
    )
    queue = CommandQueue(capacity=0)
    ticket = queue.submit(registry.make("ping"))
    assert (ticket.result.command, ticket.result.message) == (
        "ping",
        "command queue full: command dropped",
    )
    assert CommandQueue().capacity == 100_000


def test_a_target_without_a_lock_is_unlocked_and_local_sources_pass_the_lock():
    registry, target = tiny_registry()
    locked_level = dataclasses.replace(registry.spec("level"), locked_in_show=True)
    registry = Registry([locked_level])
    assert CommandProcessor(registry, target).apply(registry.make("level", (0.1,)), 0.0).ok
    locked = Locked(level=0.5)
    processor = CommandProcessor(registry, locked)
    refused = processor.apply(registry.make("level", (0.2,), source="osc"), 0.0)
    assert (refused.ok, refused.command) == (False, "level")
    assert refused.message == "level: refused, the show is locked (send /lock 0 first)"
    assert processor.apply(registry.make("level", (0.3,), source="schedule:evening"), 0.0).ok
    assert processor.apply(registry.make("level", (0.4,), source="key"), 0.0).ok
    # REDO of an edit made at the keyboard keeps its source: the lock lets it through again
    assert processor.apply(Command("undo"), 0.0).ok and locked["level"] == 0.3
    assert processor.apply(Command("redo"), 0.0).ok and locked["level"] == 0.4


def test_the_history_holds_200_edits_by_default():
    registry, target = tiny_registry()
    processor = CommandProcessor(registry, target)
    for k in range(201):
        processor.apply(registry.make("level", (k / 1000,)), 0.0)
    undone = [processor.apply(Command("undo"), 0.0).ok for _ in range(201)]
    assert undone == [True] * 200 + [False]
    assert target["level"] == 0.0


def test_every_path_name_is_checked_with_the_names_before_it():
    registry = Registry([grid_spec()])
    processor = CommandProcessor(registry, {})
    assert processor.apply(registry.make("cell", path={"row": "1", "col": "a1"}), 0.0).ok
    result = processor.apply(registry.make("cell", path={"row": "1", "col": "c1"}), 0.0)
    assert result.message == "cell: unknown col 'c1'"
    result = processor.apply(registry.make("cell", path={"row": "1", "col": "a"}), 0.0)
    assert result.message == "cell: unknown col 'a' (did you mean 'a1'?)"
    with pytest.raises(CommandError) as error:
        tiny_registry()[0].make("pick", path={"which": "onee"})
    assert str(error.value).endswith("got 'onee' (did you mean 'one'?)")


def test_a_command_keeps_its_time_and_source_in_every_mode():
    registry, _ = tiny_registry()
    for mode in ("set", "query", "add"):
        values = () if mode == "query" else (0.5,)
        command = registry.make("level", values, mode=mode, at_show_time_s=3.0, source="osc")
        assert (command.at_show_time_s, command.source, command.mode) == (3.0, "osc", mode)
    assert registry.make("ping").source == ""


def test_an_empty_path_segment_is_not_a_name_and_the_next_template_can_match():
    pick_all = CommandSpec("pick.all", "/pick/", "an address ending in /", lambda t, a, s: None)
    registry = Registry([tiny_registry()[0].spec("pick"), pick_all])
    spec, values = registry.match("/pick/")
    assert (spec.name, values) == ("pick.all", {})
    assert registry.match("/pick/one")[1] == {"which": "one"}


def test_registering_a_name_twice_says_which():
    registry, _ = tiny_registry()
    with pytest.raises(ValueError, match=r"^command 'ping' is registered twice$"):
        registry.register(registry.spec("ping"))
