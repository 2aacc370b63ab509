"""The OSCQuery namespace of a live show, generated from the command registry (pure).

This module owns how registry commands appear to OSCQuery clients (no sockets, no GL):

* :func:`snapshot` reads, on the render thread, every concrete address the live show answers
  to (``Registry.addresses``: every layer, cue, surface, output expanded) and the current
  value of each readable one, into a :class:`Snapshot`.
* :func:`build_tree` turns a snapshot into the JSON tree the OSCQuery proposal describes
  (FULL_PATH, CONTENTS, TYPE, RANGE, VALUE, ACCESS, DESCRIPTION, TAGS); :func:`find_node`
  looks a path up in it.
* :func:`value_array` and :func:`common_path` are shared with the server for pushed values
  and PATH_CHANGED notifications.

How a command maps onto a node:

* TYPE is the OSC type tag string of the command's value arguments (``/master`` → ``ff``:
  level, fade); a command without value arguments (``/stop``) has no TYPE.
* RANGE has one object per value argument: ``{"MIN", "MAX"}`` from the argument's bounds,
  ``{"VALS": [...]}`` for choices, ``{}`` otherwise; booleans are ``i`` in ``[0, 1]``.
* A command is *readable* when it has a query and its first value argument is required: the
  query then answers with the current value of that argument (``/master``: the level). Its
  VALUE is that value followed by the defaults of the other value arguments, so VALUE sent
  back as a message reproduces the current state (``/master 0.5 0.0``). Commands whose
  arguments are all optional (``/go [cue_list]``) are write-only: their query describes
  show state, not an argument.
* A layer parameter (``/layer/{layer}/param/{param}``) is typed by its content: its TYPE,
  RANGE and VALUE come from its :class:`~mapping.params.ParamSpec` alone
  (``CommandSpec.value_type``: ``f`` with MIN/MAX, ``i`` with VALS for a menu, ``T`` for a
  bool, ``N`` for an event, ``ffff`` for a colour, ``ff`` for a point), then the fade ``f``.
* ACCESS is 3 for readable commands, 2 for other commands with value arguments, 0 for
  triggers without arguments (``/go`` is 2, ``/stop`` is 0).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mapping.commands import Arg, CommandSpec, Registry

log = logging.getLogger(__name__)

ACCESS_NONE, ACCESS_READ, ACCESS_WRITE, ACCESS_READ_WRITE = 0, 1, 2, 3


@dataclass(frozen=True)
class Method:
    """One concrete address of the live show and the command it calls."""

    address: str
    spec: CommandSpec
    path_values: Mapping[str, str]
    typed: tuple[str, list[dict[str, Any]]] | None = None
    """TYPE tags and RANGE of the first value argument where the live show types it."""


@dataclass(frozen=True)
class Snapshot:
    """The namespace and current values of the live show at one frame."""

    generation: int
    show_name: str
    methods: tuple[Method, ...]
    values: Mapping[str, list[Any]]
    """VALUE arrays of the readable addresses (missing when their query failed)."""

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(m.address for m in self.methods)


def readable(spec: CommandSpec) -> bool:
    """Whether the command's query answers with the value of its first value argument."""
    values = spec.value_args
    return spec.query is not None and bool(values) and values[0].required


def access(spec: CommandSpec) -> int:
    if readable(spec):
        return ACCESS_READ_WRITE
    return ACCESS_WRITE if spec.value_args else ACCESS_NONE


def type_tags(spec: CommandSpec) -> str:
    """The OSC type tags of the command's value arguments (from ``CommandSpec.signature``)."""
    return spec.signature()[len(spec.address) :].strip()


def arg_range(arg: Arg) -> dict[str, Any]:
    if arg.choices is not None:
        return {"VALS": list(arg.choices)}
    if arg.type is bool:
        return {"MIN": 0, "MAX": 1}
    out: dict[str, Any] = {}
    if arg.minimum is not None:
        out["MIN"] = _json_number(arg.type, arg.minimum)
    if arg.maximum is not None:
        out["MAX"] = _json_number(arg.type, arg.maximum)
    return out


def value_array(spec: CommandSpec, current: Any) -> list[Any]:
    """VALUE of a readable command: the queried value, then the other arguments' defaults."""
    first, *rest = spec.value_args
    head = list(current) if first.type is tuple and isinstance(current, tuple) else [current]
    return [
        *(_as_json(first, v) for v in head),
        *(None if a.required else _as_json(a, a.default) for a in rest),
    ]


def read_value(spec: CommandSpec, target: Any, path_values: Mapping[str, str]) -> list[Any] | None:
    """The VALUE array of one readable address now (render thread), or None if it fails."""
    assert spec.query is not None
    try:
        args = {a.name: a.convert(path_values[a.name], spec.name) for a in spec.path_args}
        return value_array(spec, spec.query(target, args))
    except Exception:  # a query that fails leaves the value out; the namespace still serves
        log.debug("query of %s failed", spec.address_for(path_values), exc_info=True)
        return None


def snapshot(registry: Registry, target: Any, *, values: bool = True, under: str = "/") -> Snapshot:
    """Every address of ``target`` and the current values (render thread: a consistent view).

    Only the values at or below the path ``under`` are read (the node a client asked for):
    queries cost render-thread time, address names do not.
    """
    methods = tuple(Method(a, s, v, _typed(s, target, v)) for a, s, v in registry.addresses(target))
    prefix = under.rstrip("/") + "/"
    read: dict[str, list[Any]] = {}
    if values:
        for m in methods:
            if readable(m.spec) and (m.address == under or m.address.startswith(prefix)):
                value = read_value(m.spec, target, m.path_values)
                if value is not None:
                    read[m.address] = value
    show = getattr(target, "show", None)
    return Snapshot(getattr(target, "generation", 0), getattr(show, "name", ""), methods, read)


def method_node(method: Method, value: list[Any] | None) -> dict[str, Any]:
    spec = method.spec
    node: dict[str, Any] = {"FULL_PATH": method.address, "DESCRIPTION": spec.description}
    tags = type_tags(spec)
    if method.typed is not None:
        first_tags, first_range = method.typed
        node["TYPE"] = first_tags + "".join(_TAGS[a.type] for a in spec.value_args[1:])
        node["RANGE"] = [*first_range, *(arg_range(a) for a in spec.value_args[1:])]
    elif tags:
        node["TYPE"] = tags
        node["RANGE"] = [arg_range(a) for a in spec.value_args]
    node["ACCESS"] = access(spec)
    if value is not None:
        node["VALUE"] = value
    node["TAGS"] = [spec.group]
    return node


def build_tree(snap: Snapshot) -> dict[str, Any]:
    """The OSCQuery JSON tree of a snapshot: the root container with nested CONTENTS."""
    root: dict[str, Any] = {
        "FULL_PATH": "/",
        "DESCRIPTION": f"facade-mapper show '{snap.show_name}'",
        "ACCESS": ACCESS_NONE,
        "CONTENTS": {},
    }
    for method in snap.methods:
        segments = method.address.strip("/").split("/")
        template = method.spec.address.strip("/").split("/")
        node = root
        for depth, segment in enumerate(segments[:-1]):
            contents = node.setdefault("CONTENTS", {})
            child = contents.get(segment)
            if child is None:
                child = {
                    "FULL_PATH": "/" + "/".join(segments[: depth + 1]),
                    "ACCESS": ACCESS_NONE,
                    "CONTENTS": {},
                }
                if template[depth].startswith("{"):  # a name: "layer 'logo'"
                    child["DESCRIPTION"] = f"{template[depth][1:-1]} '{segment}'"
                contents[segment] = child
            node = child
        leaf = method_node(method, snap.values.get(method.address))
        contents = node.setdefault("CONTENTS", {})
        existing = contents.get(segments[-1])
        if existing is not None and "CONTENTS" in existing:  # a method that is also a container
            leaf["CONTENTS"] = existing["CONTENTS"]
        contents[segments[-1]] = leaf
    return root


def find_node(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at OSC ``path`` (``/`` is the root), or None."""
    node = root
    for segment in (s for s in path.split("/") if s):
        child = node.get("CONTENTS", {}).get(segment)
        if child is None:
            return None
        node = child
    return node


def common_path(paths: Iterable[str]) -> str:
    """The deepest container holding every path (``/layer/a/x``, ``/layer/b`` → ``/layer``)."""
    split = [p.strip("/").split("/") for p in paths]
    if not split:
        return "/"
    prefix: list[str] = []
    for parts in zip(*[s[:-1] for s in split], strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return "/" + "/".join(prefix)


_TAGS = {float: "f", int: "i", bool: "i", str: "s", tuple: "f"}


def _typed(
    spec: CommandSpec, target: Any, path_values: Mapping[str, str]
) -> tuple[str, list[dict[str, Any]]] | None:
    if spec.value_type is None:
        return None
    try:
        return spec.value_type(target, path_values)
    except Exception:  # no spec for this address: the registry's generic type stands
        log.debug("type of %s failed", spec.address_for(path_values), exc_info=True)
        return None


def _as_json(arg: Arg, value: Any) -> Any:
    if value is None:
        return None
    if arg.type is tuple:  # a typed parameter value: bool, int, float or text as it is
        return value if isinstance(value, bool | int | float | str) else str(value)
    if arg.type is float:
        return float(value)
    if arg.type in (int, bool):
        return int(value)
    return str(value)


def _json_number(kind: type, value: float) -> float | int:
    return int(value) if kind is int else float(value)
