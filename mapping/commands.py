"""The command registry: the one typed API through which anything changes a running show.

This module owns what a command *is* (pure, no GL, no sockets):

* :class:`CommandSpec` — a command's name, its address template (``/layer/{layer}/opacity``),
  its typed arguments with ranges (:class:`Arg`), a one-line description, its effect on the
  live show, an optional query (the current value, for ``?``, relative changes and OSCQuery),
  whether it is an *edit* (undoable) and whether the show lock refuses it.
* :class:`Registry` — every spec, looked up by name or by concrete address. Key bindings,
  OSC addresses, OSCQuery, the schedule, the web panel and ``docs/osc.md`` are generated from
  it or routed through it; nothing controls the show around it.
* :class:`Command` — one validated call: spec name, typed arguments, mode (set, add,
  subtract, query), the show time at which it takes effect (``None``: the next frame) and who
  sent it. :meth:`Registry.make` builds one from raw values (strings, OSC arguments) and
  raises :class:`CommandError` with a message naming the argument and what was expected.
* :class:`Result` — what the sender gets back: ok, or an error text; and a value for queries.
* :class:`CommandProcessor` — applies commands to a target (:class:`mapping.live.LiveShow`)
  on the render thread, at the start of a frame, and keeps the undo/redo history of edits.
* :class:`CommandQueue` — thread-safe, bounded; holds commands with a future show time until
  that frame; each submission gets a :class:`Ticket` whose result arrives when it was applied.

The commands themselves (GO, BACK, master, …) are declared in :mod:`mapping.control.builtin`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mapping.errors import did_you_mean

Mode = Literal["set", "add", "sub", "query"]
Undo = Callable[[], None]
"""An edit's effect returns one of these: calling it restores the state before the edit."""

_REQUIRED: Any = object()
_TYPE_NAMES = {
    float: "a number",
    int: "an integer",
    bool: "0 or 1 (true/false)",
    str: "a text",
    tuple: "a value of the parameter's type",
}


class CommandError(ValueError):
    """A command that cannot be made or applied; the message is for the operator."""


@dataclass(frozen=True)
class Arg:
    """One typed argument of a command.

    ``in_path`` arguments are segments of the address (``{layer}`` in
    ``/layer/{layer}/opacity``); the others are the message's values, in order.
    ``names(target, path_values)`` returns, for a live show, the values a path argument can
    take (layer names, cue numbers, the parameters of the layer named before it, …): the
    processor checks them and OSC expands address patterns against them.

    An argument of type ``tuple`` is typed by the live show (a layer parameter: a number,
    a colour of 3–4 numbers, a point of 2): given positionally it takes *every* remaining
    value, as a tuple, and the spec's ``resolve`` splits and types them when the command
    is applied; by name it takes one value or a list.
    """

    name: str
    type: type
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    names: Callable[[Any, Mapping[str, Any]], Sequence[str]] | None = None
    in_path: bool = False
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def expected(self) -> str:
        text = _TYPE_NAMES[self.type]
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        if self.minimum is not None and self.maximum is not None:
            text += f" in [{_num(self.minimum)}, {_num(self.maximum)}]"
        elif self.minimum is not None:
            text += f" ≥ {_num(self.minimum)}"
        return text

    def convert(self, raw: Any, command: str) -> Any:
        """``raw`` (a string, OSC value, JSON value) as this argument's type, or CommandError."""
        where = f"{command}: argument '{self.name}'"
        value: Any
        if self.type is tuple:
            if isinstance(raw, bytes | bytearray):
                raise CommandError(f"{where}: expected {self.expected()}, got binary data")
            return tuple(raw) if isinstance(raw, list | tuple) else (raw,)
        if self.type is bool:
            if isinstance(raw, bool):
                value = raw
            elif isinstance(raw, int | float) and raw in (0, 1):
                value = bool(raw)
            elif isinstance(raw, str) and raw.lower() in ("0", "1", "true", "false", "on", "off"):
                value = raw.lower() in ("1", "true", "on")
            else:
                raise CommandError(f"{where}: expected {self.expected()}, got {_show(raw)}")
        elif self.type is int:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise CommandError(f"{where}: expected {self.expected()}, got {_show(raw)}")
            try:
                number = float(raw)
            except ValueError:
                raise CommandError(
                    f"{where}: expected {self.expected()}, got {_show(raw)}"
                ) from None
            if not math.isfinite(number) or number != int(number):
                raise CommandError(f"{where}: expected {self.expected()}, got {_show(raw)}")
            value = int(number)
        elif self.type is float:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise CommandError(f"{where}: expected {self.expected()}, got {_show(raw)}")
            try:
                value = float(raw)
            except ValueError:
                raise CommandError(
                    f"{where}: expected {self.expected()}, got {_show(raw)}"
                ) from None
            if not math.isfinite(value):
                raise CommandError(f"{where}: expected a finite number, got {_show(raw)}")
        else:
            if isinstance(raw, bytes | bytearray):
                raise CommandError(f"{where}: expected {self.expected()}, got binary data")
            value = (
                raw if isinstance(raw, str) else _num(raw) if isinstance(raw, float) else str(raw)
            )
        self.check_range(value, where)
        return value

    def check_range(self, value: Any, where: str) -> None:
        if self.choices is not None and value not in self.choices:
            hint = did_you_mean(value, self.choices)
            raise CommandError(
                f"{where}: expected one of {', '.join(self.choices)}, got {_show(value)}{hint}"
            )
        if self.type in (int, float):
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise CommandError(f"{where}: expected {self.expected()}, got {_num(value)}")


@dataclass(frozen=True)
class CommandSpec:
    """The declaration of one command (see the module docstring)."""

    name: str
    address: str
    description: str
    effect: Callable[[Any, Mapping[str, Any], float], Undo | None]
    args: tuple[Arg, ...] = ()
    query: Callable[[Any, Mapping[str, Any]], Any] | None = None
    edit: bool = False
    locked_in_show: bool = False
    keys: tuple[str, ...] = ()
    group: str = "show"
    resolve: Callable[[Any, dict[str, Any], bool], dict[str, Any]] | None = None
    """``resolve(target, args, relative)``: the arguments typed by the live show (a layer
    parameter's value by its spec), called when the command is applied, before the
    effect; raises CommandError. ``relative``: a ``+``/``-`` result, to clamp in range."""
    value_type: Callable[[Any, Mapping[str, Any]], tuple[str, list[dict[str, Any]]]] | None = None
    """``value_type(target, path_values)``: the OSC type tags and OSCQuery RANGE of the value
    at one concrete address, when they depend on the live show (a parameter's spec)."""

    # cached: make() and the processor read them for every command (OSC floods included)
    @functools.cached_property
    def path_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.in_path)

    @functools.cached_property
    def value_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.in_path)

    @functools.cached_property
    def relative_arg(self) -> Arg | None:
        """The numeric value argument that ``+``/``-`` change (the first), if there is a query."""
        values = self.value_args
        if self.query is not None and values and values[0].type in (int, float, tuple):
            return values[0]
        return None

    def address_for(self, path_values: Mapping[str, Any]) -> str:
        return self.address.format(**{k: str(v) for k, v in path_values.items()})

    def signature(self) -> str:
        """``/layer/{layer}/opacity f`` — the OSC type tags of the value arguments."""
        # a live-typed value (tuple) is written "f", its usual type; OSCQuery publishes the
        # type of each concrete address (value_type)
        tags = "".join(
            {float: "f", int: "i", bool: "i", str: "s", tuple: "f"}[a.type] for a in self.value_args
        )
        return f"{self.address} {tags}".rstrip()


@dataclass(frozen=True)
class Command:
    """One validated call of a registered command."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    mode: Mode = "set"
    at_show_time_s: float | None = None
    source: str = ""

    def describe(self) -> str:
        values = " ".join(f"{k}={v}" for k, v in self.args.items())
        prefix = {"set": "", "add": "+", "sub": "-", "query": "?"}[self.mode]
        return f"{self.name}{' ' + prefix if prefix else ''}{' ' + values if values else ''}"


@dataclass(frozen=True)
class Result:
    """The answer to one command: ``ok`` or an error text; ``value`` for queries."""

    ok: bool
    command: str
    message: str = ""
    value: Any = None

    @classmethod
    def error(cls, command: str, message: str) -> Result:
        return cls(False, command, message)


class Registry:
    """Every command the show understands, by name and by address."""

    def __init__(self, specs: Sequence[CommandSpec] = ()) -> None:
        self._specs: dict[str, CommandSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: CommandSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"command '{spec.name}' is registered twice")
        names = [a.name for a in spec.args]
        placeholders = [seg[1:-1] for seg in spec.address.split("/") if seg.startswith("{")]
        if placeholders != [a.name for a in spec.path_args] or len(set(names)) != len(names):
            raise ValueError(f"command '{spec.name}': address and arguments disagree")
        self._specs[spec.name] = spec

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def spec(self, name: str) -> CommandSpec:
        try:
            return self._specs[name]
        except KeyError:
            hint = did_you_mean(name, list(self._specs))
            raise CommandError(f"unknown command '{name}'{hint}") from None

    def match(self, address: str) -> tuple[CommandSpec, dict[str, str]] | None:
        """The spec whose template matches a concrete ``address``, with its path values."""
        segments = address.split("/")
        for spec in self._specs.values():
            template = spec.address.split("/")
            if len(template) != len(segments):
                continue
            values: dict[str, str] = {}
            for t, s in zip(template, segments, strict=True):
                if t.startswith("{"):
                    if not s:
                        break
                    values[t[1:-1]] = s
                elif t != s:
                    break
            else:
                return spec, values
        return None

    def addresses(self, target: Any) -> Iterator[tuple[str, CommandSpec, dict[str, str]]]:
        """Every concrete address the live ``target`` answers to (path names expanded)."""
        for spec in self._specs.values():
            for values in _expand(spec.path_args, target, {}):
                yield spec.address_for(values), spec, values

    def make(
        self,
        name: str,
        values: Sequence[Any] | Mapping[str, Any] = (),
        *,
        path: Mapping[str, Any] | None = None,
        mode: Mode = "set",
        at_show_time_s: float | None = None,
        source: str = "",
    ) -> Command:
        """A validated :class:`Command` from raw values (positional or by name)."""
        spec = self.spec(name)
        args: dict[str, Any] = {}
        for arg in spec.path_args:
            if path is None or arg.name not in path:
                raise CommandError(f"{name}: missing '{arg.name}' in the address {spec.address}")
            args[arg.name] = arg.convert(path[arg.name], name)
        value_args = spec.value_args
        if mode == "query":
            if spec.query is None:
                raise CommandError(f"{name}: has no value to query")
            return Command(name, args, mode, at_show_time_s, source)
        if mode in ("add", "sub"):
            rel = spec.relative_arg
            if rel is None:
                raise CommandError(f"{name}: relative changes (+/-) take a numeric value command")
            # the delta: unbounded here, the result is clamped to the range when applied
            value_args = (Arg(rel.name, rel.type, rel.description), *value_args[1:])
        if isinstance(values, Mapping):
            unknown = [k for k in values if k not in {a.name for a in value_args}]
            if unknown:
                hint = did_you_mean(unknown[0], [a.name for a in value_args])
                raise CommandError(f"{name}: unknown argument '{unknown[0]}'{hint}")
            given = dict(values)
        else:
            rest = next((i for i, a in enumerate(value_args) if a.type is tuple), None)
            if rest is not None and len(values) > rest:  # the live-typed value takes the rest
                values = [*values[:rest], tuple(values[rest:])]
            if len(values) > len(value_args):
                raise CommandError(
                    f"{name}: expected at most {len(value_args)} argument(s) "
                    f"({_arg_list(value_args)}), got {len(values)}"
                )
            given = {a.name: v for a, v in zip(value_args, values, strict=False)}
        for arg in value_args:
            if arg.name in given:
                args[arg.name] = arg.convert(given[arg.name], name)
            elif arg.type is tuple and mode == "set":  # typed when applied: an event fires
                args[arg.name] = ()  # with no value; the other types say what they need
            elif arg.required:
                raise CommandError(
                    f"{name}: missing argument '{arg.name}' ({arg.expected()}); "
                    f"expected {_arg_list(value_args)}"
                )
            else:
                args[arg.name] = arg.default
        return Command(name, args, mode, at_show_time_s, source)


class CommandProcessor:
    """Applies commands to a live show and keeps the undo/redo history of edits.

    Only the render thread calls :meth:`apply`, at the start of a frame.
    """

    def __init__(self, registry: Registry, target: Any, history: int = 200) -> None:
        self.registry = registry
        self.target = target
        self.history = history
        self._undo: list[tuple[Command, Undo]] = []
        self._redo: list[Command] = []
        self.listeners: list[Callable[[Command, Result], None]] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def apply(self, command: Command, show_time_s: float) -> Result:
        """Apply one command now; never raises (errors come back as the result)."""
        try:
            result = self._apply(command, show_time_s)
        except CommandError as exc:
            result = Result.error(command.name, str(exc))
        except Exception as exc:  # the show goes on: a failing effect is an error reply
            result = Result.error(command.name, f"{command.name} failed: {exc}")
        for listener in self.listeners:
            listener(command, result)
        return result

    def _apply(self, command: Command, show_time_s: float) -> Result:
        if command.name == "undo":
            return self._undo_last(show_time_s)
        if command.name == "redo":
            return self._redo_last(show_time_s)
        spec = self.registry.spec(command.name)
        self._check_names(spec, command)
        if command.mode == "query":
            assert spec.query is not None
            return Result(True, command.name, value=spec.query(self.target, command.args))
        # the keyboard at the machine itself, and the evening schedule configured on it
        local = command.source.startswith(("key", "schedule"))
        if spec.locked_in_show and getattr(self.target, "locked", False) and not local:
            return Result.error(
                command.name, f"{command.name}: refused, the show is locked (send /lock 0 first)"
            )
        args = dict(command.args)
        if command.mode in ("add", "sub"):
            rel = spec.relative_arg
            assert rel is not None and spec.query is not None
            current = spec.query(self.target, args)
            delta = args[rel.name]
            if rel.type is tuple:  # a live-typed value: one number, added to a number
                if (
                    len(delta) != 1
                    or isinstance(current, bool)
                    or not isinstance(current, int | float)
                ):
                    raise CommandError(f"{command.name}: +/- take a number, for a number")
                delta = Arg("delta", float).convert(delta[0], command.name)
            delta = delta if command.mode == "add" else -delta
            value = current + delta
            if rel.minimum is not None:
                value = max(rel.minimum, value)
            if rel.maximum is not None:
                value = min(rel.maximum, value)
            args[rel.name] = (value,) if rel.type is tuple else rel.type(value)
        if spec.resolve is not None:
            args = spec.resolve(self.target, args, command.mode in ("add", "sub"))
        undo = spec.effect(self.target, args, show_time_s)
        if spec.edit and undo is not None:
            self._undo.append((Command(command.name, args, "set", None, command.source), undo))
            del self._undo[: -self.history]
            self._redo.clear()
        value = spec.query(self.target, args) if spec.query is not None else None
        return Result(True, command.name, value=value)

    def _check_names(self, spec: CommandSpec, command: Command) -> None:
        for arg in spec.path_args:
            if arg.names is None:
                continue
            names = list(arg.names(self.target, command.args))
            value = command.args.get(arg.name)
            if str(value) not in names:
                hint = did_you_mean(str(value), names)
                raise CommandError(f"{command.name}: unknown {arg.name} '{value}'{hint}")

    def _undo_last(self, show_time_s: float) -> Result:
        if not self._undo:
            return Result.error("undo", "undo: nothing to undo")
        command, undo = self._undo.pop()
        undo()
        self._redo.append(command)
        return Result(True, "undo", value=command.describe())

    def _redo_last(self, show_time_s: float) -> Result:
        if not self._redo:
            return Result.error("redo", "redo: nothing to redo")
        command = self._redo.pop()
        redo_stack = self._redo
        self._redo = []  # applying the edit again must not clear what is left to redo
        result = self._apply(command, show_time_s)
        self._redo = redo_stack
        return Result(result.ok, "redo", result.message, command.describe())


_TICKET_LOCK = threading.Lock()


class Ticket:
    """The sender's handle on a submitted command: :meth:`wait` for its :class:`Result`."""

    def __init__(self, command: Command, on_result: Callable[[Result], None] | None) -> None:
        self.command = command
        self._on_result = on_result
        self._done: threading.Event | None = None  # made by the first wait(): most never wait
        self.result: Result | None = None

    def resolve(self, result: Result) -> None:
        self.result = result
        done = self._done
        if done is not None:
            done.set()
        if self._on_result is not None:
            self._on_result(result)

    def wait(self, timeout: float | None = None) -> Result | None:
        if self.result is None:
            with _TICKET_LOCK:
                if self._done is None:
                    self._done = threading.Event()
            if self.result is None:  # resolved while the event was being made: no wait
                self._done.wait(timeout)
        return self.result


class CommandQueue:
    """Thread-safe queue of commands, drained at the start of each frame by the render thread.

    Commands with a future ``at_show_time_s`` wait until the first frame at or after that
    time; the others apply at the next frame, in arrival order. The queue is bounded: past
    ``capacity`` pending commands a submission is answered at once with an error.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, Ticket]] = []
        self._seq = itertools.count()
        self.refused = 0

    def submit(self, command: Command, on_result: Callable[[Result], None] | None = None) -> Ticket:
        ticket = Ticket(command, on_result)
        with self._lock:
            if len(self._heap) >= self.capacity:
                self.refused += 1
                full = True
            else:
                due = -math.inf if command.at_show_time_s is None else command.at_show_time_s
                heapq.heappush(self._heap, (due, next(self._seq), ticket))
                full = False
        if full:
            ticket.resolve(Result.error(command.name, "command queue full: command dropped"))
        return ticket

    def put(self, command: Command) -> Ticket:
        return self.submit(command)

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)

    def due(self, show_time_s: float, limit: int | None = None) -> list[Ticket]:
        """The tickets due at ``show_time_s``, earliest first (at most ``limit``)."""
        out: list[Ticket] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= show_time_s:
                if limit is not None and len(out) >= limit:
                    break
                out.append(heapq.heappop(self._heap)[2])
        return out

    def next_due(self) -> float | None:
        """Show time of the earliest pending command (``-inf`` for "now"), or None."""
        with self._lock:
            return self._heap[0][0] if self._heap else None


def _expand(args: Sequence[Arg], target: Any, values: dict[str, str]) -> Iterator[dict[str, str]]:
    if not args:
        yield dict(values)
        return
    arg = args[0]
    names = arg.names(target, values) if arg.names is not None else (arg.choices or ())
    for name in names:
        values[arg.name] = str(name)
        yield from _expand(args[1:], target, values)
    values.pop(arg.name, None)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) < 40 else repr(value[:37] + "...")
    if isinstance(value, float):
        return _num(value)
    return repr(value)[:40]


def _arg_list(args: Sequence[Arg]) -> str:
    return ", ".join(f"{a.name} ({a.expected()})" for a in args) or "no arguments"
