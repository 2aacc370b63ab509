"""The one table of layer kinds: what each kind's content is and who handles it (pure).

Every place that needs to know about a layer kind reads :data:`LAYER_KINDS`: the show
loader (the kind names, the content key and how to parse its value), ``check`` (how to
probe a content file without running the show), the media listing (which file suffixes
a kind takes) and the renderer (which GPU source class draws it, named here as a dotted
path so this module stays free of GL). No other module spells a kind's properties.

A kind's content is a colour (``solid``), a live device (``live``) or a file; a file is
identified by :class:`ContentId` — its path plus size and modification time — so a file
replaced at the same path is new content, and a file that was missing and appears is seen.
An ISF file's identity also covers the files it pulls in (its ``.vs`` and IMPORTED images,
:func:`mapping.isf.deps.isf_dependencies`): saving one of them is new content too.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer content.

    Attributes:
        name: the value of ``kind`` in a show file.
        content_key: the show-file key holding the content (``color``, ``file``, …).
        content: ``"color"`` (an RGBA colour), ``"file"`` (a path in the show folder) or
            ``"device"`` (a live input: :class:`mapping.show.LiveDevice`).
        expected: what the content must be, for error messages.
        extensions: the file suffixes (lower case, with the dot) this kind usually takes;
            used to list a show folder's media, never to refuse a file.
        gpu_source: ``"module:Class"`` of the renderer's source for this kind.
        probe: ``"module:function"`` that opens a content file to check it without GL
            (raises ``MediaError``); ``None`` when there is nothing to open this way.
        compiled: ``check`` compiles the content in a GL context (generator shaders).
        region_sized: the source renders at the layer region's size (generators), so the
            region is part of the content's identity.
        sound: what the layer plays through the soundtrack (:mod:`mapping.sound`): ``""``
            nothing; ``"own"`` the file's own sound track when it has one (a video; a file
            without one is silently silent; ``audio = false`` mutes it); ``"file"`` the
            content is sound (a file without sound is a warning).
        timeline: the content is a clip with its own timeline, so the layer may cut a
            window out of it (``in`` / ``out`` points, seconds of the file).
        params: ``"module:function"`` that reads the parameters a content file declares
            (file ``Path`` → ``tuple[ParamSpec, ...]``, pure, raising ``MediaError`` or
            ``ValidationError`` for a file it cannot read); ``None`` when the content
            declares none (the show file then declares float parameters itself).
    """

    name: str
    content_key: str
    content: str
    expected: str
    extensions: tuple[str, ...] = ()
    gpu_source: str = ""
    probe: str | None = None
    compiled: bool = False
    region_sized: bool = False
    sound: str = ""
    timeline: bool = False
    params: str | None = None

    @property
    def takes_file(self) -> bool:
        return self.content == "file"


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".exr")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mxf")
SHADER_EXTENSIONS = (".glsl", ".frag", ".fs")
ISF_EXTENSIONS = (".fs", ".isf")
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".aiff")

LAYER_KINDS: dict[str, LayerKind] = {
    kind.name: kind
    for kind in (
        LayerKind(
            "solid",
            "color",
            "color",
            "an RGBA colour",
            gpu_source="mapping.gl.sources.solid:SolidSource",
        ),
        LayerKind(
            "image",
            "file",
            "file",
            "an image file (PNG, JPEG, TIFF, WebP, …)",
            IMAGE_EXTENSIONS,
            gpu_source="mapping.gl.sources.image:ImageSource",
            probe="mapping.media.probe:check_image",
        ),
        LayerKind(
            "video",
            "file",
            "file",
            "a video file (MP4, MOV, MKV, … with a video stream)",
            VIDEO_EXTENSIONS,
            # HAP files get a HapSource (GPU decompression), any other codec a VideoSource.
            gpu_source="mapping.gl.sources.hap:VideoKindSource",
            probe="mapping.media.probe:check_video",
            sound="own",
            timeline=True,
        ),
        LayerKind(
            "shader",
            "shader",
            "file",
            "a GLSL fragment shader (Shadertoy-style mainImage)",
            SHADER_EXTENSIONS,
            gpu_source="mapping.gl.sources.generator:GeneratorSource",
            compiled=True,
            region_sized=True,
            params="mapping.shader_params:shader_param_specs",
        ),
        LayerKind(
            "live",
            "device",
            "device",
            "a live video device (a V4L2 path such as /dev/video0, or an FFmpeg input)",
            gpu_source="mapping.gl.sources.live:LiveSource",
        ),
        LayerKind(
            "audio",
            "file",
            "file",
            "a sound file (WAV, FLAC, MP3, AAC, Ogg Vorbis/Opus) or a video with sound",
            AUDIO_EXTENSIONS,
            gpu_source="mapping.gl.sources.silent:SilentSource",
            probe="mapping.media.probe:check_audio",
            sound="file",
            timeline=True,
        ),
        LayerKind(
            "isf",
            "shader",
            "file",
            "an ISF shader (a .fs file with its JSON header: generator, filter or transition)",
            ISF_EXTENSIONS,
            gpu_source="mapping.gl.sources.isf:IsfSource",
            compiled=True,
            region_sized=True,
            params="mapping.isf:param_specs",
        ),
    )
}
KIND_NAMES: tuple[str, ...] = tuple(LAYER_KINDS)
CONTENT_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k.content_key for k in LAYER_KINDS.values()))
"""Every key that holds a layer's content, in table order (``color``, ``file``, ``shader``)."""


def layer_kind(name: str) -> LayerKind:
    """The kind called ``name``. Raises KeyError for an unknown kind."""
    return LAYER_KINDS[name]


def kinds_taking(content_key: str) -> tuple[str, ...]:
    """The kinds whose content is written under ``content_key``."""
    return tuple(k.name for k in LAYER_KINDS.values() if k.content_key == content_key)


def resolve(dotted: str) -> Any:
    """Import ``"module:attribute"`` (the table names GL classes without importing GL)."""
    module, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module), attribute)


def probe_function(kind: LayerKind) -> Callable[[Path], object] | None:
    """The function that checks one content file of this kind, or ``None``."""
    return resolve(kind.probe) if kind.probe else None


def params_function(kind: LayerKind) -> Callable[[Path], tuple[Any, ...]] | None:
    """The function that reads the parameters a content file of this kind declares."""
    return resolve(kind.params) if kind.params else None


@dataclass(frozen=True)
class ContentId:
    """A content file's identity: its path, size and modification time.

    Two ids are equal only for the same bytes on disk as far as the file system can tell:
    a file replaced at the same path (saved over, renamed into place) gets a new id, and a
    missing file (``size = -1``) gets a new id when it appears. For an ISF file (``.fs``,
    ``.isf``), ``deps`` holds ``(path, size, mtime_ns)`` of its vertex shader and IMPORTED
    images (stat only), so editing one of those is new content as well.
    """

    path: Path
    size: int
    mtime_ns: int
    deps: tuple[tuple[str, int, int], ...] = ()

    @classmethod
    def of(cls, path: Path | str) -> ContentId:
        path = Path(path)
        deps: tuple[tuple[str, int, int], ...] = ()
        if path.suffix.lower() in ISF_EXTENSIONS:
            from mapping.isf.deps import dependency_stamps  # pure; only for ISF files

            deps = dependency_stamps(path)
        try:
            st = os.stat(path)
        except OSError:
            return cls(path, -1, -1, deps)
        return cls(path, st.st_size, st.st_mtime_ns, deps)

    @property
    def exists(self) -> bool:
        return self.size >= 0

    def changed(self) -> bool:
        """Whether the file on disk is no longer this content."""
        return ContentId.of(self.path) != self
