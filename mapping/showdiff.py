"""What a reload changed, in words: two versions of a show (and of its folder) compared.

This module owns the sentences a reload is logged with, e.g. ``show.toml: layer 'clip'
region changed; cue 'emblem' added; media/new.mp4 added; calibration
../calibrations/venue.toml: surface 'right-wing' homography changed``.

* :func:`diff_shows` compares two :class:`~mapping.show.Show` models (pure): outputs,
  surfaces, layers and cues by name (added, removed, which properties changed), the
  canvas, blending, control and span; a surface whose mapping comes from a calibration
  file is reported under that file.
* :func:`diff_files` compares two snapshots of the show folder (pure): media and shaders
  added, removed or changed (the files the model diff already describes are left out).
* :func:`folder_snapshot` takes such a snapshot (reads the disk: names, sizes and
  modification times only, never contents).
* :func:`describe_reload` joins the changes into one log line, grouped by file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mapping.cues import match_cues
from mapping.kinds import LAYER_KINDS
from mapping.show import SHOW_FILE, Layer, Show, Surface

Stamp = tuple[int, int]
"""A file's size and modification time (ns): changed stamp, changed file."""

_LAYER_WORDS = {
    "region_canvas_px": "region",
    "in_s": "in point",
    "out_s": "out point",
    "params": "parameters",
    "blend": "blend mode",
}
_SURFACE_WORDS = {
    "polygon_canvas_px": "polygon",
    "H_canvas_to_projector": "homography",
    "calibration_file": "calibration file",
    "calibration_entry": "calibration entry",
    "mesh": "mesh warp",
    "mapping": "mapping kind",
}
_OUTPUT_WORDS = {"color": "colour correction"}
_CUE_WORDS = {
    "fade_s": "fade",
    "prewait_s": "pre-wait",
    "postwait_s": "post-wait",
    "cue_list": "cue list",
    "layers": "layer changes",
    "surfaces": "surface changes",
    "outputs": "output changes",
}


@dataclass(frozen=True)
class Change:
    """One change: where it was made (``show.toml``, ``calibration <file>``, or ``""`` for
    a file of the folder itself) and what it was."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


def same(a: Any, b: Any) -> bool:
    """Equality that also holds for numpy arrays and dataclasses holding them."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and bool(np.array_equal(a, b))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if type(a) is not type(b):
            return False
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _changed_fields(
    a: Any, b: Any, words: Mapping[str, str], skip: Iterable[str] = ()
) -> list[str]:
    return [
        words.get(f.name, f.name)
        for f in dataclasses.fields(a)
        if f.name not in skip and not same(getattr(a, f.name), getattr(b, f.name))
    ]


def _changed(fields: Sequence[str]) -> str:
    return f"{', '.join(fields)} changed"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


def _by_name(items: Iterable[Any]) -> dict[str, Any]:
    return {item.name: item for item in items}


def _layer_fields(old: Layer, new: Layer) -> list[str]:
    fields = _changed_fields(old, new, _LAYER_WORDS, skip=("content",))
    if not same(old.content, new.content):
        fields.insert(
            0, LAYER_KINDS[new.kind].content_key if new.kind in LAYER_KINDS else "content"
        )
    return fields


def _surface_changes(old: Surface, new: Surface, root: Path) -> list[Change]:
    fields = _changed_fields(old, new, _SURFACE_WORDS)
    if not fields:
        return []
    from_calibration = (
        old.mapping == new.mapping == "calibration"
        and old.calibration_file == new.calibration_file
        and new.calibration_file is not None
    )
    calibrated = {"homography", "mesh warp"}
    if from_calibration and calibrated.issuperset(fields):
        where = f"calibration {_rel(new.calibration_file, root)}"  # type: ignore[arg-type]
        return [Change(where, f"surface '{new.name}' {_changed(fields)}")]
    if new.mapping == "corners" and "homography" in fields:
        fields[fields.index("homography")] = "corners"
    return [Change(SHOW_FILE, f"surface '{new.name}' {_changed(fields)}")]


def _named(
    kind: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    fields_of: Any,
) -> list[Change]:
    changes = [Change(SHOW_FILE, f"{kind} '{n}' removed") for n in old if n not in new]
    for name, item in new.items():
        if name not in old:
            changes.append(Change(SHOW_FILE, f"{kind} '{name}' added"))
        elif fields := fields_of(old[name], item):
            changes.append(Change(SHOW_FILE, f"{kind} '{name}' {_changed(fields)}"))
    return changes


def diff_shows(old: Show, new: Show) -> list[Change]:
    """Everything that differs between two versions of a show, in words (pure)."""
    root = new.root
    changes: list[Change] = []
    if old.name != new.name:
        changes.append(Change(SHOW_FILE, f"name changed to '{new.name}'"))
    if fields := _changed_fields(old.canvas, new.canvas, {"size_px": "size"}):
        changes.append(Change(SHOW_FILE, f"canvas {_changed(fields)}"))
    changes += _named(
        "output",
        _by_name(old.outputs),
        _by_name(new.outputs),
        lambda a, b: _changed_fields(a, b, _OUTPUT_WORDS),
    )
    if [o.name for o in old.outputs if o.name in _by_name(new.outputs)] != [
        o.name for o in new.outputs if o.name in _by_name(old.outputs)
    ]:
        changes.append(Change(SHOW_FILE, "outputs reordered"))
    old_surfaces, new_surfaces = _by_name(old.surfaces), _by_name(new.surfaces)
    changes += [
        Change(SHOW_FILE, f"surface '{n}' removed") for n in old_surfaces if n not in new_surfaces
    ]
    for name, surface in new_surfaces.items():
        if name not in old_surfaces:
            changes.append(Change(SHOW_FILE, f"surface '{name}' added"))
        else:
            changes += _surface_changes(old_surfaces[name], surface, root)
    old_layers, new_layers = _by_name(old.layers), _by_name(new.layers)
    changes += _named("layer", old_layers, new_layers, _layer_fields)
    if [n for n in old_layers if n in new_layers] != [n for n in new_layers if n in old_layers]:
        changes.append(Change(SHOW_FILE, "layers reordered"))
    remap = match_cues(old.cues, new.cues)
    matched = {j: i for i, j in remap.items() if j is not None}
    changes += [
        Change(SHOW_FILE, f"cue '{c.name}' removed")
        for i, c in enumerate(old.cues)
        if remap[i] is None
    ]
    for j, cue in enumerate(new.cues):
        if j not in matched:
            changes.append(Change(SHOW_FILE, f"cue '{cue.name}' added"))
        elif fields := _changed_fields(old.cues[matched[j]], cue, _CUE_WORDS, skip=("number",)):
            changes.append(Change(SHOW_FILE, f"cue '{cue.name}' {_changed(fields)}"))
    kept = [j for j in remap.values() if j is not None]
    if kept != sorted(kept):
        changes.append(Change(SHOW_FILE, "cues reordered"))
    if not same(old.blend, new.blend):
        file = new.blend.calibration_file
        only_file_values = old.blend.enabled == new.blend.enabled and (
            old.blend.calibration_file == file
        )
        if only_file_values and file is not None:
            changes.append(Change(f"calibration {_rel(file, root)}", "blend adjustments changed"))
        else:
            changes.append(Change(SHOW_FILE, "blend changed"))
    if not same(old.control, new.control):
        changes.append(Change(SHOW_FILE, "control changed"))
    if old.span != new.span:
        changes.append(Change(SHOW_FILE, "span changed"))
    return changes


def diff_files(
    root: Path,
    old: Mapping[Path, Stamp],
    new: Mapping[Path, Stamp],
    described: Iterable[Path] = (),
) -> list[Change]:
    """Files of the show folder added, removed or changed between two snapshots (pure).

    ``show.toml`` and ``described`` files (calibration files, whose effect the model diff
    reports) are left out.
    """
    skip = {root / SHOW_FILE, *described}
    changes: list[Change] = []
    for path in sorted(set(old) | set(new)):
        if path in skip or path.suffix == ".toml":
            continue
        name = _rel(path, root)
        if path not in old:
            changes.append(Change("", f"{name} added"))
        elif path not in new:
            changes.append(Change("", f"{name} removed"))
        elif old[path] != new[path]:
            changes.append(Change("", f"{name} changed"))
    return changes


def folder_snapshot(root: Path, extra: Iterable[Path] = ()) -> dict[Path, Stamp]:
    """Size and modification time of every file under ``root`` (hidden and partial names
    left out, as the watcher leaves them out) and of ``extra`` files (reads the disk)."""
    from mapping.watch import ignored_name

    snapshot: dict[Path, Stamp] = {}

    def add(path: Path) -> None:
        try:
            st = path.stat()
        except OSError:
            return
        snapshot[path] = (st.st_size, st.st_mtime_ns)

    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder)
        for name in files:
            path = base / name
            if not ignored_name(path.relative_to(root)):
                add(path)
    for path in extra:
        if path not in snapshot:
            add(path)
    return snapshot


def describe_reload(changes: Sequence[Change]) -> str:
    """One log line: ``show reloaded: show.toml: a; b; media/x.png added; calibration …``."""
    if not changes:
        return "show reloaded: nothing changed"
    parts: list[str] = []
    where = None
    for change in changes:
        if change.where and change.where != where:
            parts.append(f"{change.where}: {change.what}")
        else:
            parts.append(change.what)
        where = change.where
    return "show reloaded: " + "; ".join(parts)
