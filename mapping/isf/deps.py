"""What an ISF file pulls in: its vertex shader and its IMPORTED images (pure, no GL).

An ISF program is made of more than its ``.fs`` file: the ``.vs`` (or ``.vert``) of the same
name beside it and the images its header ``IMPORTED``. :func:`isf_dependencies` lists those
files so that the identity of ISF content (:class:`mapping.kinds.ContentId`) and the
show's watched files (``Show.watched_files``) cover them: saving only the ``.vs`` or
replacing an imported image is new content, as saving the ``.fs`` is.

It is cheap enough to call on every identity check: the header is read only when the
``.fs`` file itself changed (cached by path, size and modification time); otherwise the
answer is the cached list. Both vertex-shader names are always listed, present or not, so
that a ``.vs`` written later is seen too. A file that cannot be read, or whose header is
not valid JSON, depends on its vertex shaders only (``parse_isf`` reports the problem).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

_cache: dict[Path, tuple[tuple[int, int], tuple[Path, ...]]] = {}
_lock = threading.Lock()
_CACHE_LIMIT = 4096


def _imported_paths(file: Path) -> tuple[Path, ...]:
    """The IMPORTED image paths of the header (resolved against the file's folder)."""
    from mapping.isf.document import split_isf

    try:
        text = file.read_bytes().decode("utf-8-sig")
        blob = json.loads(split_isf(text)[0] or "{}")
    except (OSError, UnicodeDecodeError, ValueError):
        return ()
    raw = blob.get("IMPORTED") if isinstance(blob, dict) else None
    entries = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else ()
    out: list[Path] = []
    for desc in entries:
        path = desc.get("PATH") if isinstance(desc, dict) else None
        if isinstance(path, str) and path:
            out.append(file.parent / path)
    return tuple(dict.fromkeys(out))


def isf_dependencies(path: Path | str) -> tuple[Path, ...]:
    """The files an ISF file's program is built from besides itself: ``<name>.vs`` and
    ``<name>.vert`` (listed whether they exist or not) and its IMPORTED images."""
    file = Path(path)
    vertex = (file.with_suffix(".vs"), file.with_suffix(".vert"))
    try:
        st = os.stat(file)
    except OSError:
        return vertex
    stamp = (st.st_size, st.st_mtime_ns)
    with _lock:
        cached = _cache.get(file)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    deps = vertex + _imported_paths(file)
    with _lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[file] = (stamp, deps)
    return deps


def dependency_stamps(path: Path | str) -> tuple[tuple[str, int, int], ...]:
    """``(name, size, mtime_ns)`` of each of :func:`isf_dependencies` (``-1, -1`` for a file
    that is not there): stat only, part of the content's identity."""
    out = []
    for dep in isf_dependencies(path):
        try:
            st = os.stat(dep)
        except OSError:
            out.append((str(dep), -1, -1))
        else:
            out.append((str(dep), st.st_size, st.st_mtime_ns))
    return tuple(out)


def isf_watched_files(show: Any) -> set[Path]:
    """The files a show's ISF content pulls in, for ``Show.watched_files``: the existing
    ``.vs`` and IMPORTED images of every ISF layer, filter and transition file (the image
    files of ``image`` parameters are content files: :func:`isf_image_files`)."""
    isf_files: set[Path] = set()
    for layer in show.layers:
        if isinstance(layer.content, Path) and layer.content.suffix.lower() in (".fs", ".isf"):
            isf_files.add(layer.content)
    for cue in show.cues:
        for change in cue.layers.values():
            if isinstance(change.content, Path) and change.content.suffix.lower() in (
                ".fs",
                ".isf",
            ):
                isf_files.add(change.content)
    isf_files |= {path for _, path, _ in show.isf_files()}
    out: set[Path] = set()
    for file in isf_files:
        out.update(isf_dependencies(file))
    return {path for path in out if path.is_file()}  # a .vs that is not there is no file


def isf_image_files(show: Any) -> list[tuple[str, Path, str]]:
    """Every ``(key path, file, "image")`` an ISF ``image`` parameter of the show names:
    layers' start values (their own and their filters', ``layers[0].params.mask``,
    ``layers[0].params.blur.mask``), transitions' ``transition_params`` and cues'
    ``params``; for ``Show.content_files`` (so ``check`` probes them, ``media`` lists them
    as used and the watcher sees them)."""
    root = Path(show.file).parent
    out: list[tuple[str, Path, str]] = []
    images: dict[str, set[str]] = {}
    for i, layer in enumerate(show.layers):
        # a file's declared inputs (the layer's own, or its filters' "<filter>.<input>"),
        # not types guessed from the values when the layer's file cannot be read
        names = images[layer.name] = {
            s.name
            for s in layer.param_specs
            if s.type == "image" and (layer.declared_by is not None or "." in s.name)
        }
        for key in sorted(names):
            value = layer.params.get(key)
            if isinstance(value, str) and value:
                out.append((f"layers[{i}].params.{key}", root / value, "image"))
    for i, cue in enumerate(show.cues):
        changes = [(f"cues[{i}]", cue.transition)] + [
            (f"cues[{i}].layers.{name}", change.transition) for name, change in cue.layers.items()
        ]
        for where, transition in changes:
            if transition is None:
                continue
            for key, value in sorted(transition.params.items()):
                if isinstance(value, str) and value:
                    out.append((f"{where}.transition_params.{key}", root / value, "image"))
        for name, change in cue.layers.items():
            for key, value in sorted(change.params.items()):
                if key in images.get(name, ()) and isinstance(value, str) and value:
                    out.append((f"cues[{i}].layers.{name}.params.{key}", root / value, "image"))
    return out


def image_param_problem(root: Path, name: str) -> str | None:
    """What is wrong with ``name`` as the value of an ISF ``image`` parameter (a file in
    the show folder ``root``, or absolute): ``None`` when it is an image file OpenCV reads."""
    import cv2  # the image reader the renderer uses (mapping.media.image)

    from mapping import validate

    path = root / name
    problem = validate.file_problem(path)
    if problem == "file not found":
        return f"image not found: {name} (looked for {path})"
    if problem:
        return f"{name}: {problem}"
    try:
        readable = cv2.haveImageReader(str(path))
    except cv2.error:
        readable = False
    if not readable:
        return f"{name}: not an image file (PNG, JPEG, TIFF, WebP, …)"
    return None
