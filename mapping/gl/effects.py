"""Layer effects: ISF filter chains on a layer's picture, ISF transitions between contents.

A layer with ``filters`` (or crossfading through a cue's ``transition``) is not drawn
straight onto the canvas. Its content's binding — whatever its mode: RGBA, YUV planes,
HAP YCoCg, a colour — is first drawn by ``shaders/layer.glsl`` into an RGBA texture of the
layer region's size (straight alpha, row 0 at the top, as ISF programs take and give
images); a transition draws the outgoing and incoming contents that way and mixes them
with its ``progress``; then each filter runs with the previous picture as its
``inputImage``. The renderer composites the result like any RGBA layer. Layers without
either take the renderer's usual path: this module costs them nothing.

:class:`LayerEffects` owns the GPU side: the region-sized scratch targets and one
:class:`~mapping.gl.isf.IsfProgram` per (layer, filter or transition, file identity). A
filter or transition that cannot be used (the file no longer parses, the shader does not
compile) is logged once with its file and line, reported in :attr:`LayerEffects.errors`
by layer, and skipped: the layer still shows, unfiltered (or plainly crossfaded). A file
that changes gets a new identity (:class:`mapping.kinds.ContentId`): when the show reloads
(:meth:`LayerEffects.set_show`) it is compiled again. Every filter, and each transition a
cue uses to change a layer's content, is compiled with the show, never in the middle of a
cue.

Like every compiled content, a filter or transition is compiled here only after its trial
frame passed in another process (:mod:`mapping.gl.trial`, when the renderer has trials):
live, the trials are asked for when the show is set and never waited on — until a
filter's trial is back its layer is not drawn, and until a transition's is back the change
is a plain crossfade; offline (``render``) they are waited for. A trial that fails or
times out is the effect's error, and the effect is skipped as above.

Filters and transitions see the layer's media time as ``TIME`` (a transition: the time
since the change), so a paused show pauses them and an offline render is frame-exact;
``DATE`` is the wall clock live and the render's fixed origin plus show time offline. Their
own ``image`` inputs (other than the ones fed here) read the files their parameters name
(:class:`mapping.gl.isf.ImageInputs`), their ``audio``/``audioFFT`` inputs the soundtrack
(:attr:`LayerEffects.soundtrack`, set by the renderer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import moderngl

from mapping.cues import LayerFrame
from mapping.errors import ValidationError
from mapping.gl.shaders import ShaderError
from mapping.gl.sources.base import (
    SOURCE_PREMULTIPLIED,
    Binding,
    content_sampling,
    region_size,
)
from mapping.kinds import ContentId
from mapping.media.errors import MediaError
from mapping.show import Show

if TYPE_CHECKING:
    from mapping.gl.trial import ShaderTrials

log = logging.getLogger(__name__)

DrawLayer = Callable[..., None]
"""The renderer's layer draw: ``(rect, binding, opacity, blend, straight=…)`` into the bound
framebuffer with ``shaders/layer.glsl``."""

_MOVING = ("TIME", "TIMEDELTA", "FRAMEINDEX", "DATE")
"""ISF built-ins that make a program's picture change by itself."""


class EffectKey(NamedTuple):
    """One ISF program of one layer: a filter (``role`` ``"filter:<name>"``) or a
    transition (``"transition"``), for one identity of its file."""

    layer: str
    role: str
    file: ContentId


class _Slot:
    """A compiled program, or why there is none; ``images`` holds the pictures of its
    ``image`` parameters (:class:`mapping.gl.isf.ImageInputs`)."""

    def __init__(
        self,
        program: Any = None,
        error: str = "",
        moving: bool = False,
        images: Any = None,
        audio: Any = None,
    ):
        self.program = program
        self.error = error
        self.moving = moving
        self.images = images
        self.audio = audio  # mapping.gl.sources.isf.AudioInputs, for audio inputs
        self.audio_inputs = (
            [i for i in program.doc.inputs if i.type in ("audio", "audioFFT")] if program else []
        )

    def release(self) -> None:
        if self.program is not None:
            self.program.release()
        if self.images is not None:
            self.images.release()
        if self.audio is not None:
            self.audio.release()


def filter_values(name: str, start: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A filter's input values this frame: the show file's start values, overridden by the
    layer parameters ``<name>.<input>`` (set and faded by cues and OSC)."""
    prefix = name + "."
    values = dict(start)
    values.update({k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)})
    return values


class LayerEffects:
    """The filter chains and transitions of one renderer's layers (see module docstring)."""

    def __init__(
        self,
        ctx: moderngl.Context,
        layer_prog: moderngl.Program,
        draw: DrawLayer,
        trials: ShaderTrials | None = None,
        offline: bool = False,
    ):
        self.ctx = ctx
        self.trials = trials
        self.offline = offline
        self._sizes: dict[str, tuple[int, int]] = {}  # trial size per layer (its region)
        self._canvas_px: tuple[int, int] = (1, 1)
        self._layer_prog = layer_prog
        self._draw = draw
        self._targets: dict[tuple[tuple[int, int], int], moderngl.Framebuffer] = {}
        self._slots: dict[EffectKey, _Slot] = {}
        self._ids: dict[Path, ContentId] = {}
        self._show_root: Path | None = None
        self.show_time_s = 0.0
        self.soundtrack: Callable[[int], Any] | None = None
        """What audio inputs hear (the renderer's ``set_soundtrack`` tap)."""
        """The show time of the frame being drawn (the renderer sets it): an offline
        render's ISF ``DATE`` comes from it (:func:`mapping.gl.isf.isf_date`)."""

    # -- show changes

    def set_show(self, show: Show) -> None:
        """Keep the programs the new show still uses (same layer, role and file identity)
        and compile the ones it needs now, so that no cue waits for a compile: every
        filter, and each transition for the layers whose content its cue changes."""
        self._ids = {path: ContentId.of(path) for _, path, _ in show.isf_files()}
        self._show_root = show.file.parent
        self._canvas_px = show.canvas.size_px
        self._sizes = {la.name: region_size(la, show.canvas.size_px) for la in show.layers}
        wanted: set[EffectKey] = set()
        transitions = {path for key, path, _ in show.isf_files() if key.endswith("transition")}
        needed: list[tuple[str, str, Path]] = []
        for layer in show.layers:
            for f in layer.filters:
                wanted.add(EffectKey(layer.name, f"filter:{f.name}", self._id(f.file)))
                needed.append((layer.name, f"filter:{f.name}", f.file))
            for path in transitions:  # GOTO and BACK may take any layer through any
                wanted.add(EffectKey(layer.name, "transition", self._id(path)))
        for cue in show.cues:
            for name, change in cue.layers.items():
                transition = change.transition or cue.transition
                if change.content is not None and transition is not None:
                    needed.append((name, "transition", transition.file))
        for key in [k for k in self._slots if k not in wanted]:
            self._slots.pop(key).release()
        self._release_targets()
        for layer_name, role, path in needed:
            self._slot(layer_name, role, path)

    def _id(self, path: Path) -> ContentId:
        file_id = self._ids.get(path)
        if file_id is None:
            file_id = self._ids[path] = ContentId.of(path)
        return file_id

    # -- programs

    def _slot(self, layer: str, role: str, path: Path) -> _Slot | None:
        """The program for ``role`` on ``layer``; ``None`` while its trial frame is not
        back (live: asked for, never waited on)."""
        key = EffectKey(layer, role, self._id(path))
        slot = self._slots.get(key)
        if slot is None:
            refused = self._trial(layer, key.file)
            if refused is None:
                return None
            what = "filter" if role.startswith("filter") else "transition"
            if refused:
                log.error("layer '%s': %s %s — skipped", layer, what, refused)
                slot = _Slot(error=f"{what} {refused}")
            else:
                slot = self._compile(layer, role, path)
            self._slots[key] = slot
        return slot

    def _trial(self, layer: str, file: ContentId) -> str | None:
        """``""`` when the file may be compiled here (its trial passed, or there are no
        trials), the reason when it may not, ``None`` while the trial runs (live)."""
        if self.trials is None:
            return ""
        size = self._sizes.get(layer, self._canvas_px)
        key = self.trials.key("isf", file, size)
        result = self.trials.run(key) if self.offline else self.trials.request(key)
        if result is None:
            return None
        return "" if result.admitted else result.message

    def _compile(self, layer: str, role: str, path: Path) -> _Slot:
        from mapping.gl.isf import IsfProgram
        from mapping.isf import parse_isf

        what = "filter" if role.startswith("filter") else "transition"
        try:
            doc = parse_isf(path)
            program = IsfProgram(self.ctx, doc)
        except (ShaderError, ValidationError, MediaError) as exc:
            error = f"{what} {path.name}: {exc}"
        except Exception as exc:  # the show goes on: a broken effect is skipped
            log.exception("unexpected error compiling %s %s for layer '%s'", what, path, layer)
            error = f"{what} {path.name}: {exc}"
        else:
            from mapping.gl.isf import ImageInputs
            from mapping.gl.sources.isf import AudioInputs

            hears = any(i.type in ("audio", "audioFFT") for i in program.doc.inputs)
            moving = program.persistent or hears or any(map(program.uses, _MOVING))
            images = ImageInputs(
                self.ctx, program.max_texture_size, f"layer '{layer}' ({what} {path.name})"
            )
            audio = AudioInputs(self.ctx) if hears else None
            return _Slot(program, moving=moving, images=images, audio=audio)
        log.error("layer '%s': %s — skipped", layer, error)
        return _Slot(error=error)

    @property
    def errors(self) -> dict[str, str]:
        """Filters and transitions that could not be used, by layer name."""
        out: dict[str, str] = {}
        for key, slot in self._slots.items():
            if slot.error:
                out.setdefault(key.layer, slot.error)
        return out

    def uses_effects(self, lf: LayerFrame) -> bool:
        """Whether the layer is drawn through this module this frame."""
        return bool(lf.layer.filters) or (
            lf.previous is not None and lf.previous.transition is not None
        )

    def animating(self, lf: LayerFrame) -> bool:
        """Whether one of the layer's filters moves by itself (reads TIME, FRAMEINDEX, …)."""
        for f in lf.layer.filters:
            slot = self._slots.get(EffectKey(lf.layer.name, f"filter:{f.name}", self._id(f.file)))
            if slot is None or slot.moving:
                return True
        return False

    # -- drawing

    def picture(
        self,
        lf: LayerFrame,
        canvas_size_px: tuple[int, int],
        binding_of: Callable[[Any, float], Binding | None],
    ) -> moderngl.Texture | None:
        """The layer's picture after its transition and filters: a straight-alpha RGBA
        texture of the region's size (``None``: nothing to draw). ``binding_of(content,
        media_time_s)`` is the renderer's binding of one of the layer's contents."""
        size = region_size(lf.layer, canvas_size_px)
        picture = self._content_picture(lf, size, binding_of)
        for f in lf.layer.filters:
            if picture is None:
                break
            slot = self._slot(lf.layer.name, f"filter:{f.name}", f.file)
            if slot is None:  # its trial frame is not back: the layer waits for it
                return None
            if slot.program is None:
                continue
            values = filter_values(f.name, f.params, lf.params)
            images = self._images(slot, values, ("inputImage",))
            images["inputImage"] = picture
            picture = slot.program.render(size, lf.media_time_s, values, images, date=self._date())
        if picture is not None:
            content_sampling(picture)
        self.ctx.enable(moderngl.BLEND)
        return picture

    def _content_picture(
        self,
        lf: LayerFrame,
        size: tuple[int, int],
        binding_of: Callable[[Any, float], Binding | None],
    ) -> moderngl.Texture | None:
        new = binding_of(lf.content, lf.media_time_s)
        prev = lf.previous
        if prev is None:
            return None if new is None else self._straight(new, size, 0)
        old = binding_of(prev.content, prev.media_time_s)
        if prev.transition is not None:
            slot = self._slot(lf.layer.name, "transition", prev.transition.file)
            if slot is not None and slot.program is not None:
                start = self._straight(old, size, 0)
                end = self._straight(new, size, 1)
                values = {**prev.transition.params, "progress": 1.0 - prev.weight}
                images = self._images(slot, values, ("startImage", "endImage"))
                images.update(startImage=start, endImage=end)
                return slot.program.render(size, lf.media_time_s, values, images, date=self._date())
        # the plain crossfade, at the region's size: old·w + new·(1 − w), premultiplied
        mix = self._target(size, 2)
        mix.use()
        self.ctx.clear(0.0, 0.0, 0.0, 0.0)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = (moderngl.ONE, moderngl.ONE)
        self._layer_prog["u_canvas_size_px"].value = size
        rect = (0.0, 0.0, float(size[0]), float(size[1]))
        for binding, weight in ((old, prev.weight), (new, 1.0 - prev.weight)):
            if binding is not None:
                self._draw(rect, binding, weight, "normal")
        mixed = Binding(SOURCE_PREMULTIPLIED, (mix.color_attachments[0],))
        return self._straight(mixed, size, 0)

    def _images(
        self, slot: _Slot, values: Mapping[str, Any], fed: tuple[str, ...]
    ) -> dict[str, moderngl.Texture]:
        """The textures of a program's own ``image`` parameters (not those the host feeds)
        and of its audio inputs (the soundtrack)."""
        out = slot.images.textures(slot.program.doc, values, self._show_root, skip=fed)
        if slot.audio is not None:
            out.update(slot.audio.textures(slot.audio_inputs, self.soundtrack))
        return out

    def _date(self) -> Any:
        from mapping.gl.isf import isf_date

        return isf_date(self.offline, self.show_time_s)

    def _straight(
        self, binding: Binding | None, size: tuple[int, int], slot: int
    ) -> moderngl.Texture:
        """``binding`` drawn at full opacity into scratch target ``slot`` of ``size``, as
        straight-alpha RGBA (transparent where ``binding`` is ``None``)."""
        fbo = self._target(size, slot)
        fbo.use()
        ctx = self.ctx
        ctx.disable(moderngl.BLEND)
        ctx.clear(0.0, 0.0, 0.0, 0.0)
        if binding is not None:
            self._layer_prog["u_canvas_size_px"].value = size
            rect = (0.0, 0.0, float(size[0]), float(size[1]))
            self._draw(rect, binding, 1.0, "normal", straight=True)
        ctx.enable(moderngl.BLEND)
        return fbo.color_attachments[0]

    def _target(self, size: tuple[int, int], slot: int) -> moderngl.Framebuffer:
        fbo = self._targets.get((size, slot))
        if fbo is None:
            tex = self.ctx.texture(size, 4)
            content_sampling(tex)
            fbo = self._targets[(size, slot)] = self.ctx.framebuffer([tex])
        return fbo

    def _release_targets(self) -> None:
        if not self._targets:
            return
        self.ctx.detect_framebuffer(0).use()  # never release the bound framebuffer
        for fbo in self._targets.values():
            tex = fbo.color_attachments[0]
            fbo.release()
            tex.release()
        self._targets.clear()

    def release(self) -> None:
        for slot in self._slots.values():
            slot.release()
        self._slots.clear()
        self._release_targets()
