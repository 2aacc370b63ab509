"""The show model and show-folder loading: ``shows/<name>/show.toml`` → :class:`Show` (pure).

A show folder holds ``show.toml`` plus ``media/`` and ``shaders/``. Loading parses the
TOML, validates every key and collects *every* problem (file, key path such as
``surfaces[2].corners``, line where it can be found, and what was expected) into one
:class:`~mapping.errors.ValidationError`. A valid file becomes a tree of frozen
dataclasses with no GL in it; the renderer and the cue engine read it, nothing mutates it.

The format is documented key by key in ``docs/show-format.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from calibration.store import CalibrationFile, load_calibration
from mapping import geometry, validate
from mapping.blend import GAMMA_RANGE, BlendSettings
from mapping.color import (
    BRIGHTNESS_RANGE,
    COLOR_GAMMA_RANGE,
    CONTRAST_RANGE,
    GAIN_RANGE,
    OutputColor,
    load_cube,
)
from mapping.errors import Choices, Problem, ValidationError, did_you_mean, listing
from mapping.isf.deps import image_param_problem, isf_image_files, isf_watched_files
from mapping.kinds import CONTENT_KEYS, KIND_NAMES, LAYER_KINDS, kinds_taking, params_function
from mapping.media.errors import MediaError
from mapping.mesh import MeshWarp
from mapping.params import ParamError, ParamSpec, ParamValue, coerce, infer_spec, legacy_spec
from mapping.params import expected as expected_param
from mapping.validate import describe as _describe

SCHEMA_VERSION = 1
SHOW_FILE = "show.toml"
ISF_KIND = "isf"
"""The layer kind of ISF files: filters and transitions are listed under it."""
BLEND_MODES = ("normal", "add", "multiply", "screen")

# --- the range of every number in the format (docs/show-format.md, "Ranges") --------------
# Each is checked by mapping.validate; together they guarantee that a show `check` accepts
# renders: nothing non-finite reaches the renderer, and nothing allocates absurdly.

MAX_RESOLUTION = 16384
"""Largest width or height of a canvas, an output or a layer region, in pixels."""
MAX_REGION_OFFSET = 4 * MAX_RESOLUTION
"""Largest ``|x|``, ``|y|`` of a layer region's top-left corner (canvas pixels)."""
MIN_REGION_SIZE = 0.01
"""Smallest layer region width or height (canvas pixels)."""
MAX_POSITION = MAX_RESOLUTION
"""Largest ``|x|``, ``|y|`` of an output window's position on its display."""
MAX_DISPLAY = 63
"""Largest display number an output may name."""
MAX_POLYGON_VERTICES = 100_000
"""Most vertices a surface polygon may have (checking and triangulating are n log n)."""
MAX_PARAM = 1e9
"""Largest ``|value|`` of a generator parameter (a float32 uniform keeps it)."""
MAX_TIME_S = 86400.0
"""Longest fade, pre-wait or post-wait: one day."""

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
"""A parameter name: a GLSL identifier, or ``filter.input`` for a filter's input."""

SIZE = validate.Range(1, MAX_RESOLUTION, integer=True)
OPACITY = validate.Range(0.0, 1.0)
LEVEL = validate.Range(0.0, 1.0)
COLOUR = validate.Range(0.0, 1.0)
PARAM = validate.Range(-MAX_PARAM, MAX_PARAM)
SECONDS = validate.Range(0.0, MAX_TIME_S, unit="s")
REGION_POSITION = validate.Range(-MAX_REGION_OFFSET, MAX_REGION_OFFSET)
REGION_SIZE = validate.Range(MIN_REGION_SIZE, MAX_RESOLUTION)
POSITION = validate.Range(-MAX_POSITION, MAX_POSITION, integer=True)
DISPLAY = validate.Range(0, MAX_DISPLAY, integer=True)
PORT = validate.Range(0, 65535, integer=True)
LEAD_FRAMES = validate.Range(1, 600, integer=True)
"""``[cluster] lead_frames``: how many frames ahead commands land on every machine."""
CLOCK_CHOICES = ("auto", "ptp", "chrony", "system")
MISMATCH_CHOICES = ("refuse", "warn")
COORDINATE = validate.Range(-validate.MAX_COORDINATE_PX, validate.MAX_COORDINATE_PX)

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class Canvas:
    """The facade template content is authored on."""

    size_px: tuple[int, int]
    reference: Path | None = None


@dataclass(frozen=True)
class Output:
    """One projector output."""

    name: str
    resolution: tuple[int, int]
    display: int = 0
    position: tuple[int, int] = (0, 0)
    gamma: float = 2.2
    """The projector's gamma: how soft-edge blending turns light into its signal."""
    color: OutputColor = field(default_factory=OutputColor)
    """Colour correction in the final pass (``mapping/color.py``)."""
    node: str | None = None
    """The render node that drives this output (``[[nodes]]``); None: the controller."""


@dataclass(frozen=True, eq=False)
class Surface:
    """A facade surface: a polygon in ``canvas_px`` and its mapping into one output."""

    name: str
    output: str
    polygon_canvas_px: np.ndarray
    H_canvas_to_projector: np.ndarray
    mapping: str  # "corners", "homography" or "calibration"
    calibration_file: Path | None = None
    calibration_entry: str | None = None
    """The calibration file's entry this surface uses (its own name unless ``surface = ...``)."""
    mesh: MeshWarp | None = None
    """A mesh warp on top of the homography (``mapping/mesh.py``), from the calibration."""

    @property
    def H_projector_to_canvas(self) -> np.ndarray:
        return np.linalg.inv(self.H_canvas_to_projector)

    @property
    def polygon_projector_px(self) -> np.ndarray:
        return geometry.apply_homography(self.H_canvas_to_projector, self.polygon_canvas_px)


@dataclass(frozen=True)
class LiveDevice:
    """A live video input a ``live`` layer shows: what FFmpeg opens (``path``: a V4L2
    device such as ``/dev/video0``, or a filter graph for ``lavfi``), the input ``format``
    and FFmpeg input options as sorted ``(name, value)`` string pairs (hashable: sources are
    keyed by it)."""

    path: str
    format: str = "v4l2"
    options: tuple[tuple[str, str], ...] = ()


Content = Path | RGBA | LiveDevice
"""What a layer shows: a file (image, video, shader), a solid RGBA colour or a live device."""


@dataclass(frozen=True)
class Filter:
    """An ISF filter on a layer (``filters = [{ shader = "shaders/blur.fs" }]``): the layer's
    picture is its ``inputImage``; filters run in list order, each on the one before.

    Its inputs are parameters of the layer named ``<name>.<input>`` (``blur.amount``), in
    :attr:`Layer.params` and :attr:`Layer.param_specs` (cues and OSC set and fade them);
    ``params`` holds the values the filter's own table gives, the file's defaults apply to
    the rest.
    """

    name: str
    file: Path
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """An ISF transition (``startImage``, ``endImage``, ``progress``) a cue uses instead of
    the plain crossfade when it changes a layer's content, with its other inputs' values."""

    file: Path
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """A layer composited on the canvas, in show-file order (first is at the bottom)."""

    name: str
    kind: str
    content: Content
    opacity: float = 1.0
    blend: str = "normal"
    region_canvas_px: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    loop: bool = True
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    """Every parameter's start value: the content's default unless the show gives one."""
    audio: bool = True
    """Whether the content's sound plays (``audio = false`` mutes a video's own track)."""
    in_s: float | None = None
    """In point of a clip (video, audio), seconds of the file: media time 0 shows it."""
    out_s: float | None = None
    """Out point: the clip loops back to the in point here, or holds its last frame."""
    param_specs: tuple[ParamSpec, ...] = ()
    """One :class:`~mapping.params.ParamSpec` per parameter, in :attr:`params` order: those
    the content declares (a generator's uniforms, an ISF file's inputs), or — for content
    that declares none, or a file that cannot be read — a float per ``params`` key the
    show gives (``params.legacy_spec``)."""
    declared_by: Path | None = None
    """The content file whose declarations :attr:`param_specs` are; ``None`` when the
    show file declared them."""

    filters: tuple[Filter, ...] = ()
    """ISF filters run on the layer's picture, in order, before it is composited. Their
    inputs are parameters of the layer too (``<filter>.<input>``, in :attr:`params` and
    :attr:`param_specs`)."""

    def __post_init__(self) -> None:
        # a layer made in code with params but no specs: each a float, as before specs
        named = {spec.name for spec in self.param_specs}
        missing = [_spec_for(k, v) for k, v in self.params.items() if k not in named]
        if missing:
            object.__setattr__(self, "param_specs", (*self.param_specs, *missing))

    def param_spec(self, name: str) -> ParamSpec:
        """The spec of parameter ``name``; KeyError if the layer has none by that name."""
        for spec in self.param_specs:
            if spec.name == name:
                return spec
        raise KeyError(f"layer '{self.name}' has no parameter '{name}'")


@dataclass(frozen=True)
class LayerChange:
    """What a cue sets on one layer; ``None`` leaves that property as it was (tracking).

    ``fade_s`` and ``curve`` override the cue's own for this layer's changes.
    """

    opacity: float | None = None
    content: Content | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    fade_s: float | None = None
    curve: str | None = None
    transition: Transition | None = None
    """How a content change crossfades on this layer (``None``: the cue's)."""


@dataclass(frozen=True)
class SurfaceChange:
    """What a cue sets on one surface."""

    visible: bool | None = None


@dataclass(frozen=True)
class OutputChange:
    """What a cue sets on one output: its level (0..1, fades with the cue)."""

    level: float | None = None


@dataclass(frozen=True)
class Cue:
    """One cue, numbered the way operators number them (``1``, ``1.5``, ``2``) and named.

    ``prewait_s`` delays its changes after GO. ``follow`` chains the next cue:
    ``"continue"`` fires it ``postwait_s`` after this cue's changes start, ``"follow"`` when
    this cue's fades have finished (plus ``postwait_s``). ``next`` names the cue that GO (or
    the follow) fires after this one instead of the next in the list: that is how loops are
    built.
    """

    name: str
    layers: Mapping[str, LayerChange] = field(default_factory=dict)
    fade_s: float = 0.0
    number: str = ""
    cue_list: str = "main"
    curve: str = "linear"
    prewait_s: float = 0.0
    postwait_s: float = 0.0
    follow: str = "none"
    next: str | None = None
    surfaces: Mapping[str, SurfaceChange] = field(default_factory=dict)
    outputs: Mapping[str, OutputChange] = field(default_factory=dict)
    transition: Transition | None = None
    """The ISF transition of the cue's content changes (``None``: the plain crossfade)."""

    @property
    def label(self) -> str:
        """``"2 emblem"``: how the operator sees the cue."""
        return f"{self.number} {self.name}" if self.number else self.name

    def duration_s(self) -> float:
        """How long the cue's action lasts after its pre-wait: its longest fade."""
        fades = [self.fade_s] + [c.fade_s for c in self.layers.values() if c.fade_s is not None]
        return max(fades)


@dataclass(frozen=True)
class Control:
    """How operators reach the show (``[control]``): OSC ports, interface, allow-list."""

    osc_port: int = 0
    """UDP and TCP port of the OSC server; 0: no OSC unless ``--osc-port`` is given."""
    bind: str = "127.0.0.1"
    allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    reply_port: int = 0
    """Replies and pushed updates go to the sender's address on this port (0: its own port)."""
    oscquery_port: int = 0
    locked: bool = False
    panel_port: int | None = None
    """The web panel's port (``docs/panel.md``); None: the default one, 0: no panel."""


@dataclass(frozen=True)
class Node:
    """A render machine of a multi-machine show (``[[nodes]]``, ``docs/cluster.md``)."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ClusterSettings:
    """A multi-machine show's settings (``[cluster]``, ``docs/cluster.md``); None: not
    given in the show file (the command line's option, else the default, decides)."""

    clock: str | None = None
    """Where the shared time comes from: ``auto``, ``ptp``, ``chrony`` or ``system``."""
    lead_frames: int | None = None
    """Commands land this many frames ahead on every machine."""
    show_mismatch: str | None = None
    """A node with another show folder: ``refuse`` it or ``warn``."""


@dataclass(frozen=True)
class Show:
    root: Path
    name: str
    canvas: Canvas
    outputs: tuple[Output, ...]
    surfaces: tuple[Surface, ...]
    layers: tuple[Layer, ...]
    cues: tuple[Cue, ...]
    control: Control = field(default_factory=Control)
    blend: BlendSettings = field(default_factory=BlendSettings)
    span: tuple[int, ...] = ()
    """Displays one window spans, every output in its own viewport (``[span]``); empty:
    one window per output."""
    nodes: tuple[Node, ...] = ()
    """Render nodes (``[[nodes]]``); empty: a single-machine show."""
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    """``[cluster]``: clock, lead and show-folder mismatch settings."""

    @property
    def file(self) -> Path:
        return self.root / SHOW_FILE

    def output(self, name: str) -> Output:
        for out in self.outputs:
            if out.name == name:
                return out
        raise KeyError(name)

    def surfaces_on(self, output_name: str) -> tuple[Surface, ...]:
        return tuple(s for s in self.surfaces if s.output == output_name)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def cue_index(self, key: str) -> int:
        """The index of the cue with this number, or else this name. Raises KeyError."""
        for i, cue in enumerate(self.cues):
            if cue.number == key:
                return i
        for i, cue in enumerate(self.cues):
            if cue.name == key:
                return i
        raise KeyError(key)

    def cue_lists(self) -> tuple[str, ...]:
        """The names of the cue lists, in the order their first cue appears."""
        return tuple(dict.fromkeys(c.cue_list for c in self.cues))

    def surface(self, name: str) -> Surface:
        for surface in self.surfaces:
            if surface.name == name:
                return surface
        raise KeyError(name)

    def watched_files(self) -> frozenset[Path]:
        """Every file whose change should reload the show: ``show.toml``, the calibration
        files its surfaces use, and its media and shaders (for ``mapping.watch``)."""
        files = {self.file}
        files |= {s.calibration_file for s in self.surfaces if s.calibration_file is not None}
        files |= {o.color.lut.path for o in self.outputs if o.color.lut and o.color.lut.path}
        blend_file = self.blend.calibration_file
        if blend_file is not None and blend_file.is_file():
            files.add(blend_file)
        files |= {path for _, path in self.media_files()}
        files |= isf_watched_files(self)  # ISF: each file's .vs and IMPORTED images
        return frozenset(files)

    def content_files(self) -> list[tuple[str, Path, str]]:
        """Every (key path, file, layer kind) the show needs; the canvas reference is an
        image. For ``check``, the media listing and the folder watcher."""
        files: list[tuple[str, Path, str]] = []
        if self.canvas.reference is not None:
            files.append(("canvas.reference", self.canvas.reference, "image"))
        for i, layer in enumerate(self.layers):
            if isinstance(layer.content, Path):
                key = LAYER_KINDS[layer.kind].content_key
                files.append((f"layers[{i}].{key}", layer.content, layer.kind))
        kinds = {layer.name: layer.kind for layer in self.layers}
        for i, cue in enumerate(self.cues):
            for lname, change in cue.layers.items():
                if isinstance(change.content, Path):
                    kind = kinds[lname]
                    key = LAYER_KINDS[kind].content_key
                    files.append((f"cues[{i}].layers.{lname}.{key}", change.content, kind))
        files.extend(self.isf_files())
        files.extend(isf_image_files(self))  # ISF image parameters' pictures
        return files

    def isf_files(self) -> list[tuple[str, Path, str]]:
        """Every (key path, file, ``"isf"``) of the layers' filters and the cues' transitions."""
        files: list[tuple[str, Path, str]] = []
        for i, layer in enumerate(self.layers):
            for j, f in enumerate(layer.filters):
                files.append((f"layers[{i}].filters[{j}].shader", f.file, ISF_KIND))
        for i, cue in enumerate(self.cues):
            if cue.transition is not None:
                files.append((f"cues[{i}].transition", cue.transition.file, ISF_KIND))
            for lname, change in cue.layers.items():
                if change.transition is not None:
                    path = f"cues[{i}].layers.{lname}.transition"
                    files.append((path, change.transition.file, ISF_KIND))
        return files

    def media_files(self) -> list[tuple[str, Path]]:
        """Every (key path, file) the show needs (:meth:`content_files` without kinds)."""
        return [(key_path, path) for key_path, path, _ in self.content_files()]


def load_show(path: Path | str) -> Show:
    """Load and validate a show folder (or its ``show.toml``). Raises ValidationError."""
    path = Path(path)
    root = path.parent if path.name == SHOW_FILE or _is_file(path) else path
    show_file = root / SHOW_FILE
    if validate.file_problem(show_file) == "file not found":
        raise ValidationError(
            [Problem(show_file, "", "show file not found: expected a folder containing show.toml")]
        )
    _, text, doc = validate.load_toml(show_file, "show file")
    return _ShowParser(root, show_file, text, doc).parse()


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a symlink loop, a name too long: load_toml names it
        return False


# --- parsing and validation ---------------------------------------------------------------


_BAD = object()
"""A field that failed its check (its problem is recorded); the object is not built."""


def _all_ok(*values: Any) -> bool:
    return all(v is not _BAD for v in values)


class _InvalidError(Exception):
    """Internal: a value failed validation (its problem is already recorded)."""


_TOP_KEYS = (
    "schema_version",
    "name",
    "canvas",
    "outputs",
    "surfaces",
    "layers",
    "cues",
    "control",
    "blend",
    "span",
    "nodes",
    "cluster",
)
_CLUSTER_KEYS = ("clock", "lead_frames", "show_mismatch")
_NODE_KEYS = ("name", "address")
_CANVAS_KEYS = ("size", "reference")
_OUTPUT_KEYS = ("name", "resolution", "display", "position", "gamma", "color", "node")
_COLOR_KEYS = ("brightness", "contrast", "gamma", "gains", "lut")
_BLEND_KEYS = ("enabled", "calibration")
_SURFACE_KEYS = ("name", "output", "polygon", "pins", "corners", "homography", "calibration")
_DEVICE_KEYS = ("path", "format", "size", "fps", "input_format", "options")
_LAYER_KEYS = (
    "name",
    "kind",
    *CONTENT_KEYS,
    "opacity",
    "blend",
    "region",
    "loop",
    "params",
    "audio",
    "in",
    "out",
    "filters",
)
_FILTER_KEYS = ("shader", "name", "params")
_TRANSITION_KEYS = ("transition", "transition_params")
_ISF_IMAGE_INPUTS = ("inputImage", "startImage", "endImage", "progress")
"""ISF inputs the host sets itself (the filter's picture, the transition's two and its
progress): never parameters."""
_CUE_KEYS = (
    "number",
    "name",
    "list",
    "fade",
    "curve",
    "prewait",
    "postwait",
    "follow",
    "next",
    "layers",
    "surfaces",
    "outputs",
    "transition",
    "transition_params",
)
_CONTROL_KEYS = (
    "osc_port",
    "bind",
    "allow",
    "reply_port",
    "oscquery_port",
    "locked",
    "panel_port",
)
CURVES = ("linear", "ease-in", "ease-out", "ease-in-out")
FOLLOW_MODES = ("none", "continue", "follow")
_MAPPING_KEYS = ("corners", "homography", "calibration")


class _ShowParser:
    def __init__(self, root: Path, show_file: Path, text: str, doc: dict[str, Any]):
        self.root = root
        self.unread: set[Path] = set()
        """Content files whose declared parameters could not be read."""
        self.file = show_file
        self.line_index = validate.toml_line_index(text)
        self.doc = doc
        self.problems: list[Problem] = []
        self.calibrations: dict[Path, CalibrationFile | None] = {}
        self._choices: dict[str, Choices] = {}
        self._isf: dict[Path, Any] = {}  # parsed ISF files (None: invalid, reported)

    # -- reporting

    def problem(self, key_path: str, message: str, file: Path | None = None) -> None:
        line = self._locate(key_path) if file is None else None
        self.problems.append(Problem(file or self.file, key_path, message, line))

    def _locate(self, key_path: str) -> int | None:
        """Best-effort line of a key path in the TOML text (for messages only)."""
        return validate.find_line(self.line_index, key_path)

    def choices(self, key: str) -> Choices:
        """:meth:`declared_names` ready for "did you mean" hints (indexed once per key)."""
        if key not in self._choices:
            self._choices[key] = Choices(self.declared_names(key))
        return self._choices[key]

    def declared_names(self, key: str) -> list[str]:
        """Names given in ``[[key]]`` tables, valid or not (to avoid follow-on problems)."""
        value = self.doc.get(key)
        if not isinstance(value, list):
            return []
        names = [t.get("name") for t in value if isinstance(t, dict)]
        return list(dict.fromkeys(n for n in names if isinstance(n, str)))

    def unknown_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                where = f"{path}.{key}" if path else key
                self.problem(where, f"unknown key{hint}; expected one of: {', '.join(allowed)}")

    def wrong_content_keys(
        self, table: Mapping[str, Any], kind: str, path: str, layer: str | None = None
    ) -> None:
        """Report content keys of other layer kinds (``file`` on a shader layer, …)."""
        own = LAYER_KINDS[kind].content_key
        for key in CONTENT_KEYS:
            if key in table and key != own:
                names = kinds_taking(key)
                kinds = " and ".join(
                    [", ".join(names[:-1]), names[-1]] if len(names) > 2 else names
                )
                which = f"layer '{layer}' is a {kind} layer and" if layer else f"a {kind} layer"
                message = f"'{key}' is for {kinds} layers; {which} takes '{own}'"
                self.problem(f"{path}.{key}", message)

    # -- typed getters (record a problem and raise _InvalidError on failure)

    @staticmethod
    def attempt(check: Callable[..., Any], *args: Any) -> Any:
        """Run one field's check; ``_BAD`` instead of raising, so later fields are checked too."""
        try:
            return check(*args)
        except _InvalidError:
            return _BAD

    def required(
        self, getter: Callable[[Any, str], Any], table: Mapping[str, Any], key: str, p: str
    ) -> Any:
        """``getter`` applied to the required ``table[key]`` (key path ``p.key``)."""
        return getter(self.require(table, key, p), f"{p}.{key}")

    def require(self, table: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in table:
            self.problem(f"{path}.{key}" if path else key, "missing (required)")
            raise _InvalidError
        return table[key]

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.problem(path, f"expected a non-empty string, got {_describe(value)}")
            raise _InvalidError
        return value

    def number(
        self, value: Any, path: str, lo: float | None = None, hi: float | None = None
    ) -> float:
        if message := validate.number_problem(value, lo, hi):
            self.problem(path, message)
            raise _InvalidError
        return float(value)

    def ranged(self, value: Any, path: str, rng: validate.Range) -> Any:
        """``value`` checked against one of the format's ranges (int or float as given)."""
        if message := rng.problem(value):
            self.problem(path, message)
            raise _InvalidError
        return int(value) if rng.integer else float(value)

    def size(self, value: Any, path: str) -> tuple[int, int]:
        if not (isinstance(value, list) and len(value) == 2 and all(map(SIZE.contains, value))):
            self.problem(
                path,
                f"expected [width, height] in pixels (integers 1..{MAX_RESOLUTION}), "
                f"got {_describe(value)}",
            )
            raise _InvalidError
        return int(value[0]), int(value[1])

    def position(self, value: Any, path: str) -> tuple[int, int]:
        if not (isinstance(value, list) and len(value) == 2 and all(map(POSITION.contains, value))):
            self.problem(path, f"expected [x, y] integers {POSITION.text}, got {_describe(value)}")
            raise _InvalidError
        return value[0], value[1]

    def points(
        self, value: Any, path: str, count: int | None = None, max_count: int | None = None
    ) -> np.ndarray:
        if message := validate.points_problem(value, count, max_count=max_count):
            self.problem(path, message)
            raise _InvalidError
        arr = np.asarray(value, dtype=np.float64).reshape(-1, 2)
        arr.setflags(write=False)
        return arr

    def file_ref(self, value: Any, path: str) -> Path:
        rel = self.string(value, path)
        joined = self.root / rel
        try:
            resolved = joined.resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop (RuntimeError in 3.11)
            resolved = Path(os.path.abspath(joined))
        if message := validate.file_problem(joined):
            if message == "file not found":
                message = f"file not found: {rel} (looked for {resolved})"
            else:
                message = f"{rel}: {message}"
            self.problem(path, message)
            raise _InvalidError
        return resolved

    def color(self, value: Any, path: str) -> RGBA:
        if isinstance(value, str):
            m = re.fullmatch(r"#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?", value)
            if m:
                hexv = m.group(1) + (m.group(2) or "ff")
                r, g, b, a = (int(hexv[i : i + 2], 16) / 255.0 for i in range(0, 8, 2))
                return (r, g, b, a)
        elif isinstance(value, list) and len(value) in (3, 4):
            if not any(COLOUR.problem(c) for c in value):
                rgba = [float(c) for c in value] + [1.0] * (4 - len(value))
                return (rgba[0], rgba[1], rgba[2], rgba[3])
        self.problem(
            path,
            f'expected a colour "#rrggbb" or [r, g, b] with values 0..1, got {_describe(value)}',
        )
        raise _InvalidError

    def table_list(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        value = self.doc.get(key, [])
        if not isinstance(value, list):
            self.problem(key, f"expected an array of tables ([[{key}]]), got {_describe(value)}")
            return []
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.problem(f"{key}[{i}]", f"expected a table, got {_describe(item)}")
            else:
                items.append((i, item))
        return items

    # -- sections

    def parse(self) -> Show:
        doc = self.doc
        self.unknown_keys(doc, _TOP_KEYS, "")
        try:
            version = self.require(doc, "schema_version", "")
            if type(version) is not int or version != SCHEMA_VERSION:
                self.problem(
                    "schema_version",
                    f"unsupported version {version!r}; this program reads version {SCHEMA_VERSION}",
                )
        except _InvalidError:
            pass
        name = doc.get("name", self.root.name)
        if not isinstance(name, str):
            self.problem("name", f"expected a string, got {_describe(name)}")
            name = self.root.name
        canvas = self.parse_canvas()
        outputs = self.parse_outputs()
        surfaces = self.parse_surfaces(outputs)
        layers = self.parse_layers(canvas)
        cues = self.parse_cues(layers)
        control = self.parse_control()
        blend = self.parse_blend(surfaces)
        span = self.parse_span(outputs)
        nodes = self.parse_nodes()
        cluster = self.parse_cluster()
        if self.problems:
            raise ValidationError(self.problems)
        assert canvas is not None
        return Show(
            self.root,
            name,
            canvas,
            outputs,
            surfaces,
            layers,
            cues,
            control,
            blend,
            span,
            nodes,
            cluster,
        )

    def parse_canvas(self) -> Canvas | None:
        table = self.doc.get("canvas")
        if not isinstance(table, dict):
            self.problem("canvas", "missing [canvas] table with size = [width, height]")
            return None
        self.unknown_keys(table, _CANVAS_KEYS, "canvas")
        try:
            size = self.size(self.require(table, "size", "canvas"), "canvas.size")
        except _InvalidError:
            return None
        reference = None
        if "reference" in table:
            try:
                reference = self.file_ref(table["reference"], "canvas.reference")
            except _InvalidError:
                pass
        return Canvas(size, reference)

    def parse_outputs(self) -> tuple[Output, ...]:
        outputs: list[Output] = []
        seen: set[str] = set()
        items = self.table_list("outputs")
        if not items and self.doc.get("outputs", []) == []:  # none, or `outputs = []`
            self.problem("outputs", "missing: a show needs at least one [[outputs]] projector")
        for i, table in items:
            p = f"outputs[{i}]"
            self.unknown_keys(table, _OUTPUT_KEYS, p)
            name = self.attempt(self.required, self.string, table, "name", p)
            if name is not _BAD and name in seen:
                self.problem(f"{p}.name", f"duplicate output name '{name}'")
            if name is not _BAD:
                seen.add(name)
            res = self.attempt(self.required, self.size, table, "resolution", p)
            display = self.attempt(self.ranged, table.get("display", 0), f"{p}.display", DISPLAY)
            pos = self.attempt(self.position, table.get("position", [0, 0]), f"{p}.position")
            gamma = self.attempt(self.number, table.get("gamma", 2.2), f"{p}.gamma", *GAMMA_RANGE)
            color = self.attempt(self.output_color, table.get("color", {}), f"{p}.color")
            node = None
            if "node" in table:
                node = self.attempt(self.node_ref, table["node"], f"{p}.node")
            if _all_ok(name, res, display, pos, gamma, color, node):
                outputs.append(Output(name, res, display, pos, gamma, color, node))
        return tuple(outputs)

    def node_ref(self, value: Any, path: str) -> str:
        """An output's ``node = "name"``: one of the ``[[nodes]]``."""
        name = self.string(value, path)
        declared = self.choices("nodes")
        if name not in self.declared_names("nodes"):
            if not self.declared_names("nodes"):
                self.problem(path, f"unknown node '{name}': the show declares no [[nodes]]")
            else:
                self.problem(path, f"unknown node '{name}'{did_you_mean(name, declared)}")
            raise _InvalidError
        return name

    def parse_cluster(self) -> ClusterSettings:
        """``[cluster]``: ``clock``, ``lead_frames``, ``show_mismatch`` (``docs/cluster.md``)."""
        table = self.doc.get("cluster")
        if table is None:
            return ClusterSettings()
        if not isinstance(table, dict):
            self.problem("cluster", f"expected a table, got {_describe(table)}")
            return ClusterSettings()
        self.unknown_keys(table, _CLUSTER_KEYS, "cluster")
        clock = self.attempt(self.one_of, table.get("clock"), CLOCK_CHOICES, "cluster.clock")
        mismatch = self.attempt(
            self.one_of, table.get("show_mismatch"), MISMATCH_CHOICES, "cluster.show_mismatch"
        )
        lead = table.get("lead_frames")
        if lead is not None and (message := LEAD_FRAMES.problem(lead)):
            self.problem("cluster.lead_frames", f"{message} (frames)")
            lead = _BAD
        if not _all_ok(clock, mismatch, lead):
            return ClusterSettings()
        return ClusterSettings(clock, lead, mismatch)

    def one_of(self, value: Any, choices: tuple[str, ...], path: str) -> str | None:
        """None (not given) or one of ``choices``, with a hint for a near miss."""
        if value is None:
            return None
        if not isinstance(value, str) or value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            self.problem(
                path,
                f"expected one of: {', '.join(choices)}; got {_describe(value)}{hint}",
            )
            raise _InvalidError
        return value

    def parse_nodes(self) -> tuple[Node, ...]:
        """``[[nodes]]``: each render machine's name and ``host:port`` (``docs/cluster.md``)."""
        nodes: list[Node] = []
        seen: set[str] = set()
        for i, table in self.table_list("nodes"):
            p = f"nodes[{i}]"
            self.unknown_keys(table, _NODE_KEYS, p)
            name = self.attempt(self.required, self.string, table, "name", p)
            if name is not _BAD and name in seen:
                self.problem(f"{p}.name", f"duplicate node name '{name}'")
            if name is not _BAD:
                seen.add(name)
            address = self.attempt(self.required, self.host_port, table, "address", p)
            if _all_ok(name, address):
                nodes.append(Node(name, *address))
        return tuple(nodes)

    def host_port(self, value: Any, path: str) -> tuple[str, int]:
        """``"host:port"`` (an IPv6 host in brackets: ``"[::1]:9100"``), port 1..65535."""
        text = self.string(value, path)
        host, sep, port = text.strip().rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            self.problem(path, f'expected "host:port" with a port 1..65535, got {text!r}')
            raise _InvalidError
        return host, int(port)

    def output_color(self, table: Any, p: str) -> OutputColor:
        """``[outputs.color]``: brightness, contrast, gamma, RGB gains and a ``.cube`` LUT."""
        if not isinstance(table, dict):
            self.problem(p, f"expected a table, got {_describe(table)}")
            raise _InvalidError
        self.unknown_keys(table, _COLOR_KEYS, p)
        values = {}
        for key, default, limits in (
            ("brightness", 0.0, BRIGHTNESS_RANGE),
            ("contrast", 1.0, CONTRAST_RANGE),
            ("gamma", 1.0, COLOR_GAMMA_RANGE),
        ):
            values[key] = self.attempt(self.number, table.get(key, default), f"{p}.{key}", *limits)
        gains = table.get("gains", [1.0, 1.0, 1.0])
        lo, hi = GAIN_RANGE
        if not isinstance(gains, list) or len(gains) != 3:
            self.problem(
                f"{p}.gains", f"expected [r, g, b] numbers {lo}..{hi}, got {_describe(gains)}"
            )
            gains = _BAD
        else:
            checked = [
                self.attempt(self.number, g, f"{p}.gains[{i}]", lo, hi) for i, g in enumerate(gains)
            ]
            gains = _BAD if not _all_ok(*checked) else tuple(checked)
        lut = None
        if "lut" in table:
            path = self.attempt(self.file_ref, table["lut"], f"{p}.lut")
            if path is _BAD:
                lut = _BAD
            else:
                try:
                    lut = load_cube(path)
                except ValidationError as exc:
                    self.problems.extend(exc.problems)
                    lut = _BAD
        if not _all_ok(*values.values(), gains, lut):
            raise _InvalidError
        return OutputColor(values["brightness"], values["contrast"], values["gamma"], gains, lut)

    def parse_surfaces(self, outputs: tuple[Output, ...]) -> tuple[Surface, ...]:
        surfaces: list[Surface] = []
        names: set[str] = set()
        output_names = self.choices("outputs")
        for i, table in self.table_list("surfaces"):
            p = f"surfaces[{i}]"
            self.unknown_keys(table, _SURFACE_KEYS, p)
            name = self.attempt(self.required, self.string, table, "name", p)
            if name is not _BAD:
                if name in names:
                    self.problem(f"{p}.name", f"duplicate surface name '{name}'")
                names.add(name)
            output = self.attempt(self.required, self.string, table, "output", p)
            if output is not _BAD and output_names and output not in output_names:
                hint = did_you_mean(output, output_names)
                self.problem(
                    f"{p}.output",
                    f"unknown output '{output}'{hint}; outputs are: {listing(output_names)}",
                )
            polygon = self.attempt(self.polygon, table, p)
            mapping = self.attempt(
                self.parse_mapping, table, p, name if name is not _BAD else None, output, polygon
            )
            if _all_ok(name, output, polygon, mapping):
                H, kind, calibration_file, entry = mapping
                mesh = None
                cal = self.calibrations.get(calibration_file) if calibration_file else None
                if cal is not None and entry is not None:
                    offsets = cal.surfaces[entry].mesh_offsets_px
                    mesh = None if offsets is None else MeshWarp(offsets)
                surfaces.append(
                    Surface(name, output, polygon, H, kind, calibration_file, entry, mesh)
                )
        return tuple(surfaces)

    def polygon(self, table: dict[str, Any], p: str) -> np.ndarray:
        polygon = self.points(
            self.require(table, "polygon", p), f"{p}.polygon", max_count=MAX_POLYGON_VERTICES
        )
        if reason := geometry.polygon_problem(polygon):
            self.problem(f"{p}.polygon", reason)
            raise _InvalidError
        return polygon

    def parse_mapping(
        self, table: dict[str, Any], p: str, name: str | None, output: Any, polygon: Any
    ) -> tuple[np.ndarray, str, Path | None, str | None]:
        """The surface's H_canvas_to_projector, how it was given, its calibration file and
        entry.

        ``output`` and ``polygon`` may be ``_BAD`` (already reported): the mapping's own keys
        are still checked, and what needs them is skipped.
        """
        given = [k for k in _MAPPING_KEYS if k in table]
        if len(given) != 1:
            got = f"got {', '.join(given)}" if given else "got none"
            self.problem(p, f"expected exactly one of corners, homography, calibration; {got}")
            raise _InvalidError
        kind = given[0]
        calibration_file = entry = None
        if kind != "corners" and "pins" in table:
            self.problem(f"{p}.pins", "pins only go with corners")
        if kind == "corners":
            corners = self.points(table["corners"], f"{p}.corners", count=4)
            if reason := geometry.quad_degeneracy(corners):
                self.problem(f"{p}.corners", f"degenerate corner pin: {reason}")
                raise _InvalidError
            if "pins" in table:
                pins = self.points(table["pins"], f"{p}.pins", count=4)
                if reason := geometry.quad_degeneracy(pins):
                    self.problem(f"{p}.pins", f"degenerate pins: {reason}")
                    raise _InvalidError
            elif polygon is _BAD:
                raise _InvalidError
            else:
                pins = polygon if len(polygon) == 4 else geometry.bounds_corners(polygon)
            H = geometry.homography_from_points(pins, corners)
        elif kind == "homography":
            check = validate.check_homography(table["homography"])
            if check.H is None:
                for message in check.problems:
                    self.problem(f"{p}.homography", message)
                raise _InvalidError
            H = validate.normalised_homography(check.H)
        else:
            H, calibration_file, entry = self.parse_calibration_ref(
                table["calibration"], p, name, output
            )
        if polygon is not _BAD and not geometry.polygon_maps_finitely(H, polygon):
            self.problem(
                f"{p}.{kind}",
                "the mapping sends part of the polygon through infinity (behind the projector)",
            )
            raise _InvalidError
        H.setflags(write=False)
        return H, kind, calibration_file, entry

    def parse_calibration_ref(
        self, ref: Any, p: str, name: str | None, output: Any
    ) -> tuple[np.ndarray, Path, str]:
        """The calibration file's entry for the surface: ``surface = "..."``, else the
        surface's own ``name`` (``None`` when that name is bad, already reported: the file is
        still checked, the entry is not looked for)."""
        kp = f"{p}.calibration"
        if isinstance(ref, str):
            ref = {"file": ref}
        if not isinstance(ref, dict):
            self.problem(kp, f'expected {{ file = "...", surface = "..." }}, got {_describe(ref)}')
            raise _InvalidError
        self.unknown_keys(ref, ("file", "surface"), kp)
        path = self.file_ref(self.require(ref, "file", kp), f"{kp}.file")
        key = ref.get("surface", name)
        if key is not None:
            key = self.string(key, f"{kp}.surface")
        if path not in self.calibrations:  # several surfaces may share one file: read it once
            try:
                self.calibrations[path] = load_calibration(path)
            except ValidationError as exc:
                self.problems.extend(exc.problems)
                self.calibrations[path] = None
        cal = self.calibrations[path]
        if cal is None or key is None:
            raise _InvalidError
        if key not in cal.surfaces:
            known = ", ".join(cal.surfaces) or "none"
            self.problem(kp, f"calibration file {path} has no surface '{key}'; it has: {known}")
            raise _InvalidError
        entry = cal.surfaces[key]
        if output is not _BAD and entry.output != output:
            self.problem(
                kp,
                f"calibration for '{key}' was made for output '{entry.output}', "
                f"but the surface is on output '{output}'",
            )
            raise _InvalidError
        # The file's matrix was validated by the same rules; hand on H[2, 2] == 1 so that
        # consumers (the renderer inverts it) never see an extreme overall scale.
        return validate.normalised_homography(entry.H_canvas_to_projector), path, key

    def parse_layers(self, canvas: Canvas | None) -> tuple[Layer, ...]:
        layers: list[Layer] = []
        seen: set[str] = set()
        for i, table in self.table_list("layers"):
            p = f"layers[{i}]"
            self.unknown_keys(table, _LAYER_KEYS, p)
            name = self.attempt(self.required, self.string, table, "name", p)
            if name is not _BAD and name in seen:
                self.problem(f"{p}.name", f"duplicate layer name '{name}'")
            kind = self.attempt(self.layer_kind, table, p)
            content = _BAD
            if kind is not _BAD:
                self.wrong_content_keys(table, kind, p)
                content = self.attempt(self.layer_content, table, kind, p)
            opacity = self.attempt(self.ranged, table.get("opacity", 1.0), f"{p}.opacity", OPACITY)
            blend = self.attempt(self.choice, table.get("blend", "normal"), f"{p}.blend")
            region = self.attempt(self.region, table, p, canvas)
            loop = table.get("loop", True)
            if not isinstance(loop, bool):
                self.problem(f"{p}.loop", f"expected true or false, got {_describe(loop)}")
                loop = _BAD
            filters = ()
            if "filters" in table:
                filters = self.attempt(self.filters, table["filters"], f"{p}.filters")
            declared = None if content is _BAD else self.content_params(kind, content)
            names = (
                _filter_names(table["filters"]) if filters is _BAD else {f.name for f in filters}
            )
            own, of_filters = _split_filter_params(table.get("params", {}), names)
            params = self.attempt(self.layer_params, own, f"{p}.params", declared, content)
            if params is not _BAD and filters is not _BAD and filters:
                extra = self.attempt(self.filter_params, filters, of_filters, f"{p}.params")
                if extra is _BAD:
                    params = _BAD
                else:  # the filters' inputs are parameters of the layer too
                    params = ({**params[0], **extra[0]}, (*params[1], *extra[1]))
            audio = table.get("audio", True)
            if not isinstance(audio, bool):
                self.problem(f"{p}.audio", f"expected true or false, got {_describe(audio)}")
                audio = _BAD
            window = (None, None) if kind is _BAD else self.attempt(self.in_out, table, kind, p)
            fields = (name, kind, content, opacity, blend, region, loop, params, audio, window)
            if _all_ok(*fields, filters):
                values, specs = params
                layers.append(
                    Layer(
                        name,
                        kind,
                        content,
                        opacity,
                        blend,
                        region,
                        loop,
                        values,
                        audio,
                        *window,
                        param_specs=specs,
                        declared_by=content if declared is not None else None,  # type: ignore[arg-type]
                        filters=filters,
                    )
                )
            if name is not _BAD:
                seen.add(name)
        return tuple(layers)

    # -- ISF filters and transitions

    def isf_file(self, table: Mapping[str, Any], key: str, path: str, kind: str) -> Any:
        """The ISF document at ``table[key]`` (a file in the show folder), which must be an
        ISF ``kind`` (``"filter"`` or ``"transition"``)."""
        from mapping.isf import parse_isf  # pure; imported here to keep loading light

        where = f"{path}.{key}"
        file = self.file_ref(self.require(table, key, path), where)
        if file not in self._isf:
            try:
                self._isf[file] = parse_isf(file)
            except ValidationError as exc:
                self.problems.extend(exc.problems)
                self._isf[file] = None
        doc = self._isf[file]
        if doc is None:
            raise _InvalidError
        if doc.kind != kind:
            needs = (
                "a filter has an image input named inputImage"
                if kind == "filter"
                else "a transition has the inputs startImage, endImage and progress"
            )
            self.problem(where, f"{table[key]}: an ISF {doc.kind}, not a {kind} ({needs})")
            raise _InvalidError
        return doc

    def filters(self, value: Any, path: str) -> tuple[Filter, ...]:
        """``filters = [{ shader = "shaders/blur.fs", name = "blur", params = {...} }, …]``."""
        if not isinstance(value, list):
            self.problem(
                path,
                'expected an array of filters like [{ shader = "shaders/blur.fs" }], '
                f"got {_describe(value)}",
            )
            raise _InvalidError
        out: list[Filter] = []
        names: set[str] = set()
        bad = False
        for j, item in enumerate(value):
            fp = f"{path}[{j}]"
            if not isinstance(item, dict):
                self.problem(
                    fp,
                    'expected a table like { shader = "shaders/blur.fs" }, '
                    f"got {_describe(item)}",
                )
                bad = True
                continue
            self.unknown_keys(item, _FILTER_KEYS, fp)
            try:
                doc = self.isf_file(item, "shader", fp, "filter")
                name = self.string(item.get("name", _filter_name(doc.file)), f"{fp}.name")
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    self.problem(
                        f"{fp}.name",
                        f"expected a filter name of letters, digits and '_' (not first), "
                        f"got {name!r}",
                    )
                    raise _InvalidError
                if name in names:
                    self.problem(
                        f"{fp}.name", f"two filters named '{name}' on this layer: give each a name"
                    )
                    raise _InvalidError
                names.add(name)
                params = self.isf_params(item.get("params", {}), f"{fp}.params", doc)
                out.append(Filter(name, doc.file, params))
            except _InvalidError:
                bad = True
        if bad:
            raise _InvalidError
        return tuple(out)

    def filter_params(
        self, filters: tuple[Filter, ...], given: Mapping[str, Any], path: str
    ) -> tuple[dict[str, ParamValue], tuple[ParamSpec, ...]]:
        """The filters' inputs as layer parameters ``<filter>.<input>``: their specs (the
        ISF file's), start values (the layer's ``params.<filter>.<input>``, else the
        filter's own ``params``, else the file's default)."""
        values: dict[str, ParamValue] = {}
        specs: list[ParamSpec] = []
        bad = False
        for f in filters:
            settable = {spec.name: spec for spec in isf_settable(self._isf[f.file])}
            for key in given.get(f.name, {}):
                if key not in settable:
                    self.problem(
                        f"{path}.{f.name}.{key}",
                        f"{f.file.name} has no input '{key}'"
                        f"{did_you_mean(key, list(settable))}; its inputs: "
                        f"{', '.join(settable) or 'none'}",
                    )
                    bad = True
            for spec in settable.values():
                value = f.params.get(spec.name, spec.default)
                if spec.name in given.get(f.name, {}):
                    where = f"{path}.{f.name}.{spec.name}"
                    try:
                        value = self.param_value(spec, given[f.name][spec.name], where, f.file)
                    except _InvalidError:
                        bad = True
                        continue
                name = f"{f.name}.{spec.name}"
                values[name] = value
                specs.append(replace(spec, name=name, default=value))
        if bad:
            raise _InvalidError
        return values, tuple(specs)

    def isf_params(self, value: Any, path: str, doc: Any) -> dict[str, Any]:
        """Values for an ISF file's inputs, each checked against the input's type and range."""
        if not isinstance(value, dict):
            self.problem(path, f"expected a table like {{ amount = 0.5 }}, got {_describe(value)}")
            raise _InvalidError
        specs = {spec.name: spec for spec in isf_settable(doc)}
        out: dict[str, Any] = {}
        bad = False
        for key, given in value.items():
            spec = specs.get(key)
            if spec is None and key in _ISF_IMAGE_INPUTS:
                self.problem(
                    f"{path}.{key}",
                    f"{doc.file.name}'s input '{key}' is set by the show itself "
                    "(the layer's picture, or the fade's progress)",
                )
                bad = True
                continue
            if spec is None:
                inputs = ", ".join(specs) or "none"
                self.problem(
                    f"{path}.{key}",
                    f"{doc.file.name} has no input '{key}'{did_you_mean(key, list(specs))}; "
                    f"its inputs: {inputs}",
                )
                bad = True
                continue
            try:
                out[key] = self.param_value(spec, given, f"{path}.{key}", doc.file)
            except _InvalidError:
                bad = True
        if bad:
            raise _InvalidError
        return out

    def transition(self, table: Mapping[str, Any], path: str) -> Transition | None:
        """A cue's (or a cue layer's) ``transition`` and ``transition_params``."""
        if "transition" not in table:
            if "transition_params" in table:
                self.problem(
                    f"{path}.transition_params",
                    "transition_params without a transition: name the transition's file",
                )
                raise _InvalidError
            return None
        doc = self.isf_file(table, "transition", path, "transition")
        params = self.isf_params(
            table.get("transition_params", {}), f"{path}.transition_params", doc
        )
        return Transition(doc.file, params)

    def in_out(self, table: dict[str, Any], kind: str, p: str) -> tuple[float | None, float | None]:
        """A clip layer's ``in`` and ``out`` points (seconds of the file, out after in)."""
        given = [key for key in ("in", "out") if key in table]
        if not given:
            return (None, None)
        if not LAYER_KINDS[kind].timeline:
            takes = " and ".join(k.name for k in LAYER_KINDS.values() if k.timeline)
            for key in given:
                self.problem(f"{p}.{key}", f"'{key}' is for {takes} layers, not {kind} layers")
            raise _InvalidError
        values = [
            None if key not in table else self.ranged(table[key], f"{p}.{key}", SECONDS)
            for key in ("in", "out")
        ]
        in_s, out_s = values
        if in_s is not None and out_s is not None and out_s <= in_s:
            self.problem(f"{p}.out", f"expected an out point after the in point {in_s:g} s")
            raise _InvalidError
        return (in_s, out_s)

    def layer_kind(self, table: dict[str, Any], p: str) -> str:
        kind = self.require(table, "kind", p)
        if not isinstance(kind, str) or kind not in LAYER_KINDS:
            hint = did_you_mean(str(kind), KIND_NAMES)
            self.problem(
                f"{p}.kind",
                f"unknown kind {kind!r}{hint}; expected one of: " + ", ".join(KIND_NAMES),
            )
            raise _InvalidError
        return kind

    def choice(self, blend: Any, path: str) -> str:
        if blend not in BLEND_MODES:
            self.problem(
                path, f"unknown blend mode {blend!r}; expected one of: " + ", ".join(BLEND_MODES)
            )
            raise _InvalidError
        return blend

    def layer_content(self, table: dict[str, Any], kind: str, p: str) -> Content:
        return self.content(kind, self.require(table, LAYER_KINDS[kind].content_key, p), p)

    def content(self, kind: str, value: Any, p: str) -> Content:
        spec = LAYER_KINDS[kind]
        key = f"{p}.{spec.content_key}"
        if spec.takes_file:
            return self.file_ref(value, key)
        if spec.content == "device":
            return self.live_device(value, key)
        return self.color(value, key)

    def live_device(self, value: Any, path: str) -> LiveDevice:
        """``"/dev/video0"``, or a table ``{ path, format, size, fps, input_format, options }``."""
        if isinstance(value, str):
            return LiveDevice(self.string(value, path))
        if not isinstance(value, dict):
            self.problem(
                path,
                'expected a device path ("/dev/video0") or a table { path = ..., format = ..., '
                f"size = [w, h], fps = ..., input_format = ..., options = {{...}} }}, "
                f"got {_describe(value)}",
            )
            raise _InvalidError
        self.unknown_keys(value, _DEVICE_KEYS, path)
        device = self.required(self.string, value, "path", path)
        fmt = self.string(value.get("format", "v4l2"), f"{path}.format")
        options: dict[str, str] = {}
        if "size" in value:
            w, h = self.size(value["size"], f"{path}.size")
            options["video_size"] = f"{w}x{h}"
        if "fps" in value:
            options["framerate"] = f"{self.number(value['fps'], f'{path}.fps', 0.001, 1000):g}"
        if "input_format" in value:
            options["input_format"] = self.string(value["input_format"], f"{path}.input_format")
        extra = value.get("options", {})
        if not isinstance(extra, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in extra.values()
        ):
            self.problem(
                f"{path}.options",
                f"expected a table of FFmpeg input options (strings or numbers), "
                f"got {_describe(extra)}",
            )
            raise _InvalidError
        options.update({str(k): str(v) for k, v in extra.items()})
        return LiveDevice(device, fmt, tuple(sorted(options.items())))

    def region(
        self, table: dict[str, Any], p: str, canvas: Canvas | None
    ) -> tuple[float, float, float, float]:
        if "region" not in table:
            if canvas is None:
                return (0.0, 0.0, 1.0, 1.0)
            return (0.0, 0.0, float(canvas.size_px[0]), float(canvas.size_px[1]))
        value = table["region"]
        if message := validate.region_problem(value, REGION_POSITION, REGION_SIZE):
            self.problem(f"{p}.region", message)
            raise _InvalidError
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))

    def content_params(self, kind: str, content: Any) -> tuple[ParamSpec, ...] | None:
        """The parameters the layer's content declares, or ``None`` when its kind declares
        none or the file cannot be read (the renderer shows a placeholder, ``check`` says
        why): the show file's ``params`` are then plain floats, as before."""
        read = params_function(LAYER_KINDS[kind])
        if read is None or not isinstance(content, Path):
            return None
        try:
            return tuple(read(content))
        except (MediaError, ValidationError, OSError, ValueError):
            self.unread.add(content)
            return None

    def param_table(self, value: Any, path: str) -> dict[str, Any]:
        """``params`` flattened: ``{ blur = { amount = 0.5 } }`` → ``{"blur.amount": 0.5}``."""
        if not isinstance(value, dict):
            self.problem(path, f"expected a table like {{ speed = 1.0 }}, got {_describe(value)}")
            raise _InvalidError
        out: dict[str, Any] = {}
        bad = False
        for key, item in value.items():
            inner = item.items() if isinstance(item, dict) else [(None, item)]
            for sub, raw in inner:
                name = key if sub is None else f"{key}.{sub}"
                if not _PARAM_NAME.fullmatch(name) or isinstance(raw, dict):
                    self.problem(
                        f"{path}.{name}",
                        "expected a parameter name usable in GLSL (or filter.input), with a value",
                    )
                    bad = True
                    continue
                out[name] = raw
        if bad:
            raise _InvalidError
        return out

    def param_value(
        self, spec: ParamSpec, raw: Any, path: str, declared_by: Any, check_file: bool = True
    ) -> ParamValue:
        """``raw`` checked against ``spec`` (type and range), or a problem naming them; an
        ``image`` value must name an image file in the show folder."""
        if spec.type == "float" and spec.min is None and spec.max is None:
            return self.ranged(raw, path, PARAM)  # the format's own bound, as before
        try:
            value = coerce(spec, raw)
        except ParamError as exc:
            where = f" (as {_rel(declared_by, self.root)} declares)" if declared_by else ""
            self.problem(path, f"{exc}{where}")
            raise _InvalidError from None
        if spec.type == "image" and check_file:
            if message := image_param_problem(self.root, str(value)):
                self.problem(path, f"{message} (expected {expected_param(spec)})")
                raise _InvalidError
        return value

    def layer_params(
        self,
        value: Any,
        path: str,
        declared: tuple[ParamSpec, ...] | None,
        content: Any,
    ) -> tuple[dict[str, ParamValue], tuple[ParamSpec, ...]]:
        """The layer's start values and specs (see :attr:`Layer.param_specs`)."""
        given = self.param_table(value, path)
        if declared is None and (content is _BAD or content in self.unread):
            # the file cannot be read now: each value's own shape types it, so the show
            # loads (the layer is a placeholder until the file is fixed; check says why)
            specs = []
            bad = False
            for key, raw in given.items():
                spec = infer_spec(key, raw)
                try:
                    specs.append(
                        replace(
                            spec,
                            default=self.param_value(
                                spec, raw, f"{path}.{key}", None, check_file=False
                            ),
                        )
                    )
                except _InvalidError:
                    bad = True
            if bad:
                raise _InvalidError
            return {s.name: s.default for s in specs}, tuple(specs)
        if declared is None:
            values: dict[str, ParamValue] = {}
            bad = False
            for key, raw in given.items():
                try:
                    values[key] = self.ranged(raw, f"{path}.{key}", PARAM)
                except _InvalidError:
                    bad = True
            if bad:
                raise _InvalidError
            return values, tuple(legacy_spec(k, v) for k, v in values.items())  # type: ignore[arg-type]
        by_name = {spec.name: spec for spec in declared}
        values = {spec.name: spec.default for spec in declared}
        bad = False
        for key, raw in given.items():
            if key not in by_name:
                self.problem(f"{path}.{key}", _undeclared(key, declared, content, self.root))
                bad = True
                continue
            try:
                values[key] = self.param_value(by_name[key], raw, f"{path}.{key}", content)
            except _InvalidError:
                bad = True
        if bad:
            raise _InvalidError
        return values, declared

    def parse_cues(self, layers: tuple[Layer, ...]) -> tuple[Cue, ...]:
        cues: list[Cue] = []
        names: set[str] = set()
        numbers: set[str] = set()
        by_name = {la.name: la for la in layers}
        declared = self.choices("layers")
        surfaces = self.choices("surfaces")
        outputs = self.choices("outputs")
        targets: list[tuple[str, Any]] = []
        for i, table in self.table_list("cues"):
            p = f"cues[{i}]"
            self.unknown_keys(table, _CUE_KEYS, p)
            try:
                name = self.string(self.require(table, "name", p), f"{p}.name")
                if name in names:
                    self.problem(f"{p}.name", f"duplicate cue name '{name}'")
                names.add(name)
                number = self.cue_number(table.get("number", str(i + 1)), f"{p}.number")
                if number in numbers:
                    self.problem(f"{p}.number", f"duplicate cue number '{number}'")
                numbers.add(number)
                cue_list = self.string(table.get("list", "main"), f"{p}.list")
                fade = self.ranged(table.get("fade", 0.0), f"{p}.fade", SECONDS)
                curve = self.option(table.get("curve", "linear"), f"{p}.curve", CURVES)
                prewait = self.ranged(table.get("prewait", 0.0), f"{p}.prewait", SECONDS)
                postwait = self.ranged(table.get("postwait", 0.0), f"{p}.postwait", SECONDS)
                follow = self.option(table.get("follow", "none"), f"{p}.follow", FOLLOW_MODES)
                nxt = None
                if "next" in table:
                    nxt = self.cue_number(table["next"], f"{p}.next")
                    targets.append((f"{p}.next", nxt))
                transition = self.transition(table, p)
                changes = self.cue_layers(table, p, by_name, declared)
                surface_changes = self.cue_targets(
                    table, "surfaces", p, surfaces, ("visible",), self.visible_change
                )
                output_changes = self.cue_targets(
                    table, "outputs", p, outputs, ("level",), self.level_change
                )
                cues.append(
                    Cue(
                        name,
                        changes,
                        fade,
                        number,
                        cue_list,
                        curve,
                        prewait,
                        postwait,
                        follow,
                        nxt,
                        surface_changes,
                        output_changes,
                        transition,
                    )
                )
            except _InvalidError:
                continue
        known = {c.number for c in cues} | {c.name for c in cues}
        cue_numbers = Choices([c.number for c in cues])
        for path, target in targets:
            if target not in known:
                hint = did_you_mean(target, cue_numbers)
                self.problem(path, f"unknown cue '{target}'{hint}")
        return tuple(cues)

    def cue_number(self, value: Any, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(path, f'expected a cue number like 1, 1.5 or "2a", got {_describe(value)}')
            raise _InvalidError
        if isinstance(value, float):
            if not validate.is_finite_number(value):
                self.problem(path, f"expected a cue number like 1 or 1.5, got {value}")
                raise _InvalidError
            text = repr(value)
        else:
            text = str(value)
        if not re.fullmatch(r"[A-Za-z0-9._-]+", text):
            self.problem(
                path, f"expected a cue number of letters, digits, '.', '-' or '_', got {text!r}"
            )
            raise _InvalidError
        return text

    def option(self, value: Any, path: str, options: tuple[str, ...]) -> str:
        if value not in options:
            hint = did_you_mean(str(value), options)
            self.problem(
                path, f"expected one of: {', '.join(options)}, got {_describe(value)}{hint}"
            )
            raise _InvalidError
        return value

    def cue_layers(
        self, table: dict[str, Any], p: str, by_name: dict[str, Layer], declared: Choices
    ) -> dict[str, LayerChange]:
        changes: dict[str, LayerChange] = {}
        lt = table.get("layers", {})
        if not isinstance(lt, dict):
            self.problem(f"{p}.layers", f"expected a table of layer states, got {_describe(lt)}")
            raise _InvalidError
        for lname, state in lt.items():
            lp = f"{p}.layers.{lname}"
            if lname not in by_name:
                if lname in declared:
                    continue  # the layer itself is invalid; its problem is reported
                hint = did_you_mean(lname, declared)
                self.problem(lp, f"unknown layer '{lname}'{hint}")
                continue
            if not isinstance(state, dict):
                self.problem(
                    lp, f"expected a table like {{ opacity = 1.0 }}, got {_describe(state)}"
                )
                continue
            kind = by_name[lname].kind
            content_key = LAYER_KINDS[kind].content_key
            self.wrong_content_keys(state, kind, lp, lname)
            others = {k: v for k, v in state.items() if k not in CONTENT_KEYS}
            allowed = ("opacity", content_key, "params", "fade", "curve", *_TRANSITION_KEYS)
            self.unknown_keys(others, allowed, lp)
            try:
                opacity = None
                if "opacity" in state:
                    opacity = self.ranged(state["opacity"], f"{lp}.opacity", OPACITY)
                content = None
                if content_key in state:
                    content = self.content(kind, state[content_key], lp)
                params = self.cue_params(state.get("params", {}), f"{lp}.params", by_name[lname])
                fade = None
                if "fade" in state:
                    fade = self.ranged(state["fade"], f"{lp}.fade", SECONDS)
                curve = None
                if "curve" in state:
                    curve = self.option(state["curve"], f"{lp}.curve", CURVES)
                transition = self.transition(state, lp)
                changes[lname] = LayerChange(opacity, content, params, fade, curve, transition)
            except _InvalidError:
                continue
        return changes

    def cue_params(self, value: Any, path: str, layer: Layer) -> dict[str, ParamValue]:
        """A cue's ``params`` for ``layer``: each a parameter the layer has, of its type."""
        given = self.param_table(value, path)
        out: dict[str, ParamValue] = {}
        bad = False
        for key, raw in given.items():
            if key not in layer.params:
                names = [spec.name for spec in layer.param_specs]
                if layer.declared_by is None:
                    message = (
                        f"layer '{layer.name}' declares no parameter '{key}'"
                        f"{did_you_mean(key, names)}; declare it in the layer's "
                        "params with its start value"
                    )
                else:
                    message = f"layer '{layer.name}': " + _undeclared(
                        key, layer.param_specs, layer.declared_by, self.root
                    )
                self.problem(f"{path}.{key}", message)
                bad = True
                continue
            try:
                out[key] = self.param_value(
                    layer.param_spec(key), raw, f"{path}.{key}", layer.declared_by
                )
            except _InvalidError:
                bad = True
        if bad:
            raise _InvalidError
        return out

    def cue_targets(
        self,
        table: dict[str, Any],
        key: str,
        p: str,
        declared: Choices,
        allowed: tuple[str, ...],
        make: Callable[[dict[str, Any], str], Any],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        section = table.get(key, {})
        if not isinstance(section, dict):
            self.problem(f"{p}.{key}", f"expected a table, got {_describe(section)}")
            raise _InvalidError
        for name, state in section.items():
            sp = f"{p}.{key}.{name}"
            if name not in declared:
                self.problem(sp, f"unknown {key[:-1]} '{name}'{did_you_mean(name, declared)}")
                continue
            if not isinstance(state, dict):
                self.problem(
                    sp, f"expected a table like {{ {allowed[0]} = … }}, got {_describe(state)}"
                )
                continue
            self.unknown_keys(state, allowed, sp)
            try:
                out[name] = make(state, sp)
            except _InvalidError:
                continue
        return out

    def visible_change(self, state: dict[str, Any], sp: str) -> SurfaceChange:
        visible = state.get("visible")
        if visible is not None and not isinstance(visible, bool):
            self.problem(f"{sp}.visible", f"expected true or false, got {_describe(visible)}")
            raise _InvalidError
        return SurfaceChange(visible)

    def level_change(self, state: dict[str, Any], sp: str) -> OutputChange:
        level = None
        if "level" in state:
            level = self.ranged(state["level"], f"{sp}.level", LEVEL)
        return OutputChange(level)

    def parse_control(self) -> Control:
        table = self.doc.get("control", {})
        if not isinstance(table, dict):
            self.problem("control", f"expected a table, got {_describe(table)}")
            return Control()
        self.unknown_keys(table, _CONTROL_KEYS, "control")
        defaults = Control()
        port = self.attempt(self.port, table.get("osc_port", 0), "control.osc_port")
        reply = self.attempt(self.port, table.get("reply_port", 0), "control.reply_port")
        query = self.attempt(self.port, table.get("oscquery_port", 0), "control.oscquery_port")
        panel = None
        if "panel_port" in table:
            panel = self.attempt(self.port, table["panel_port"], "control.panel_port")
        bind = self.attempt(self.string, table.get("bind", defaults.bind), "control.bind")
        allow = self.attempt(
            self.networks, table.get("allow", list(defaults.allow)), "control.allow"
        )
        locked = table.get("locked", False)
        if not isinstance(locked, bool):
            self.problem("control.locked", f"expected true or false, got {_describe(locked)}")
            locked = _BAD
        if not _all_ok(port, reply, query, bind, allow, locked, panel):
            return defaults
        return Control(port, bind, allow, reply, query, locked, panel)

    def parse_span(self, outputs: tuple[Output, ...]) -> tuple[int, ...]:
        """``[span] displays = [0, 1]``: one window over these displays."""
        table = self.doc.get("span")
        if table is None:
            return ()
        if not isinstance(table, dict):
            self.problem("span", f"expected a table, got {_describe(table)}")
            return ()
        self.unknown_keys(table, ("displays",), "span")
        displays = self.require_or_none(table, "displays", "span")
        if displays is None:
            return ()
        if not (
            isinstance(displays, list)
            and displays
            and all(DISPLAY.contains(d) for d in displays)
            and len(set(displays)) == len(displays)
        ):
            self.problem(
                "span.displays",
                "expected a list of display numbers like [0, 1] (different, 0..63), "
                f"got {_describe(displays)}",
            )
            return ()
        for i, out in enumerate(outputs):
            if out.display not in displays:
                self.problem(
                    f"outputs[{i}].display",
                    f"output '{out.name}' is on display {out.display}, outside the span {displays}",
                )
        return tuple(displays)

    def require_or_none(self, table: Mapping[str, Any], key: str, path: str) -> Any:
        try:
            return self.require(table, key, path)
        except _InvalidError:
            return None

    def parse_blend(self, surfaces: tuple[Surface, ...]) -> BlendSettings:
        """``[blend]``: on or off, and the calibration file holding the edge adjustments."""
        table = self.doc.get("blend", {})
        if not isinstance(table, dict):
            self.problem("blend", f"expected a table, got {_describe(table)}")
            return BlendSettings()
        self.unknown_keys(table, _BLEND_KEYS, "blend")
        enabled = table.get("enabled", False)
        if not isinstance(enabled, bool):
            self.problem("blend.enabled", f"expected true or false, got {_describe(enabled)}")
            enabled = False
        if "calibration" in table:
            try:
                file: Path | None = self.file_ref(table["calibration"], "blend.calibration")
            except _InvalidError:
                return BlendSettings(enabled)
        else:
            used = [s.calibration_file for s in surfaces if s.calibration_file is not None]
            file = used[0] if used else self.root / "calibration.toml"
            if not file.is_file():
                return BlendSettings(enabled, file)
        assert file is not None
        if file not in self.calibrations:
            try:
                self.calibrations[file] = load_calibration(file)
            except ValidationError as exc:
                self.problems.extend(exc.problems)
                self.calibrations[file] = None
        cal = self.calibrations[file]
        if cal is None or cal.blend is None:
            return BlendSettings(enabled, file)
        return BlendSettings(enabled, file, cal.blend)

    def port(self, value: Any, path: str) -> int:
        if PORT.problem(value):
            self.problem(path, f"expected a port number 0..65535, got {_describe(value)}")
            raise _InvalidError
        return value

    def networks(self, value: Any, path: str) -> tuple[str, ...]:
        import ipaddress

        if not isinstance(value, list):
            self.problem(
                path, f"expected an array of addresses or networks, got {_describe(value)}"
            )
            raise _InvalidError
        out: list[str] = []
        for j, item in enumerate(value):
            try:
                out.append(str(ipaddress.ip_network(str(item), strict=False)))
            except ValueError:
                self.problem(
                    f"{path}[{j}]",
                    f"expected an address or network like 192.168.1.0/24, got {_describe(item)}",
                )
        if len(out) != len(value):
            raise _InvalidError
        return tuple(out)


def _rel(path: Any, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _undeclared(key: str, declared: tuple[ParamSpec, ...], content: Any, root: Path) -> str:
    """Why ``key`` is no parameter: what the content file declares instead."""
    names = [spec.name for spec in declared]
    hint = did_you_mean(key, names)
    file = _rel(content, root)
    if not names:
        return f"{file} declares no parameters (no uniforms), so not '{key}'"
    return f"{file} declares no parameter '{key}'{hint}; it declares: {listing(names)}"


def _spec_for(name: str, value: Any) -> ParamSpec:
    """The spec of a value given without one: a float if a number, else by its shape."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return legacy_spec(name, value)
    return infer_spec(name, value)


# --- ISF inputs in the show file ----------------------------------------------------------


def _filter_name(file: Path) -> str:
    """A filter's default name: its file's name without the suffix, made a parameter name
    (``Bad TV.fs`` → ``Bad_TV``)."""
    name = re.sub(r"\W", "_", file.stem, flags=re.ASCII)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def isf_settable(doc: Any) -> tuple[ParamSpec, ...]:
    """The inputs of an ISF document a show may set: its params, less the images and the
    progress the host feeds (``inputImage``, ``startImage``, ``endImage``, ``progress``)."""
    return tuple(spec for spec in doc.params if spec.name not in _ISF_IMAGE_INPUTS)


def _filter_names(value: Any) -> set[str]:
    """The names an invalid ``filters`` array gives its filters, as far as they can be read
    (each one's ``name``, else its shader file's): their inputs in the layer's ``params``
    are not the content's parameters, so they cause no follow-on problem."""
    names: set[str] = set()
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if not isinstance(name, str) and isinstance(item.get("shader"), str):
            name = _filter_name(Path(item["shader"]))
        if isinstance(name, str):
            names.add(name)
    return names


def _split_filter_params(table: Any, names: set[str]) -> tuple[Any, dict[str, dict[str, Any]]]:
    """A layer's ``params`` split into its content's and its filters' (``blur = { amount =
    0.5 }`` or ``"blur.amount" = 0.5`` for a filter named ``blur``), by filter name."""
    if not isinstance(table, dict) or not names:
        return table, {}
    own: dict[str, Any] = {}
    of_filters: dict[str, dict[str, Any]] = {}
    for key, item in table.items():
        head, dot, rest = key.partition(".")
        if key in names and isinstance(item, dict):
            of_filters.setdefault(key, {}).update(item)
        elif dot and head in names:
            of_filters.setdefault(head, {})[rest] = item
        else:
            own[key] = item
    return own, of_filters
