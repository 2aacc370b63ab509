"""The renderer: composite layers on the canvas, then warp surfaces onto every output.

Owns every GPU resource of a show: the canvas framebuffer (``canvas_px``), one framebuffer
per projector output (``projector_px``), the content of each layer (image and video
textures, generator programs) and each output's surface geometry.

All framebuffers store **row 0 at the top** (the same as numpy images and uploaded
textures), so ``gl_FragCoord`` reads directly as y-down pixel coordinates with centres at
``+0.5`` and ``read_output`` needs no flip. Only presenting on a window flips.

Per frame the Python work is small and bounded: one draw per visible layer and one draw per
output, whatever the number of surfaces — each output's surfaces are baked into one vertex
buffer carrying every surface's ``H_projector_to_canvas`` as a flat per-vertex ``mat3``.
Content that fails (missing file, undecodable video, shader that does not compile) is
logged once with its file and shown as a placeholder; the show goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import moderngl
import numpy as np

from mapping import geometry
from mapping.blend import show_blend_masks
from mapping.color import OutputColor
from mapping.cues import FrameState, LayerFrame
from mapping.gl.effects import LayerEffects
from mapping.gl.shaders import ShaderError, load_program
from mapping.gl.sources.base import (
    SOURCE_PREMULTIPLIED,
    SOURCE_RGBA,
    Binding,
    ContentSource,
    PlaceholderSource,
    SourceEnv,
    content_sampling,
    region_size,
)
from mapping.gl.trial import ShaderTrials, TrialResult
from mapping.kinds import LAYER_KINDS, ContentId, resolve
from mapping.media.errors import MediaError
from mapping.media.image import load_image
from mapping.media.placeholder import placeholder_image
from mapping.mesh import mesh_rect
from mapping.mesh import outline_projector_px as mesh_outline
from mapping.patterns import PATTERN_KINDS, SurfaceOutline, render_pattern
from mapping.show import Content, Layer, Show

log = logging.getLogger(__name__)

_BLEND = {
    "normal": (moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE),
    "add": (moderngl.ONE, moderngl.ONE, moderngl.ZERO, moderngl.ONE),
    "multiply": (moderngl.DST_COLOR, moderngl.ZERO, moderngl.ZERO, moderngl.ONE),
    "screen": (moderngl.ONE, moderngl.ONE_MINUS_SRC_COLOR, moderngl.ZERO, moderngl.ONE),
}
REFERENCE_PATTERN = "reference"
"""Pseudo-pattern: the canvas reference image (the facade drawing) warped through every
surface instead of the show — projected on the facade, it shows how well the mapping fits."""

_BLEND_INDEX = {"normal": 0, "add": 1, "multiply": 2, "screen": 3}
_UNIT_QUAD = np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4")
_FLOATS_PER_WARP_VERTEX = 2 + 9 + 4 + 4


def warp_mesh_atlas(
    show: Show, output_name: str, hidden: frozenset[str] = frozenset()
) -> tuple[np.ndarray | None, dict[str, tuple[int, int]]]:
    """The mesh offsets of one output's visible warped surfaces, stacked in one (rows,
    columns, 2) float32 array, and where each surface's grid starts (column, row)."""
    placed: dict[str, tuple[int, int]] = {}
    blocks = []
    row = 0
    for surface in show.surfaces_on(output_name):
        mesh = surface.mesh
        if surface.name in hidden or mesh is None or mesh.is_flat:
            continue
        placed[surface.name] = (0, row)
        blocks.append(mesh.offsets_px)
        row += mesh.size[1]
    if not blocks:
        return None, placed
    width = max(b.shape[1] for b in blocks)
    atlas = np.zeros((row, width, 2), np.float32)
    row = 0
    for b in blocks:
        atlas[row : row + b.shape[0], : b.shape[1]] = b
        row += b.shape[0]
    return atlas, placed


def warp_vertices(show: Show, output_name: str, hidden: frozenset[str] = frozenset()) -> np.ndarray:
    """Triangle-list vertex data for every visible surface on one output (pure numpy).

    Each vertex: ``projector_px`` x, y, then the surface's ``H_projector_to_canvas`` in GLSL
    ``mat3`` layout, then its mesh (atlas column, row, columns, rows — all 0 without a
    mesh or with a flat one) and the mesh's rectangle in ``projector_px``. Shape
    (vertices, 19) float32. A warped surface is drawn as its outline after the warp.
    """
    _, placed = warp_mesh_atlas(show, output_name, hidden)
    chunks = []
    for surface in show.surfaces_on(output_name):
        if surface.name in hidden:
            continue
        h = geometry.mat3_to_glsl(geometry.normalize_homography(surface.H_projector_to_canvas))
        if surface.name in placed:
            mesh = surface.mesh
            assert mesh is not None
            outline = mesh_outline(surface.H_canvas_to_projector, surface.polygon_canvas_px, mesh)
            tris = geometry.triangulate_polygon(outline)
            points = outline[tris.reshape(-1)]
            rect = mesh_rect(surface.H_canvas_to_projector, surface.polygon_canvas_px)
            info = (*placed[surface.name], *mesh.size, *rect)
        else:
            tris = geometry.triangulate_polygon(surface.polygon_canvas_px)
            points = surface.polygon_projector_px[tris.reshape(-1)]
            info = (0,) * 8
        verts = np.empty((tris.size, _FLOATS_PER_WARP_VERTEX), dtype="f4")
        verts[:, :2] = points
        verts[:, 2:11] = h
        verts[:, 11:] = info
        chunks.append(verts)
    if not chunks:
        return np.zeros((0, _FLOATS_PER_WARP_VERTEX), dtype="f4")
    return np.concatenate(chunks)


@dataclass
class _OutputTarget:
    name: str
    size_px: tuple[int, int]
    texture: moderngl.Texture
    fbo: moderngl.Framebuffer
    vbo: moderngl.Buffer | None = None
    vao: moderngl.VertexArray | None = None
    vertex_count: int = 0
    pattern: str | None = None
    pattern_texture: moderngl.Texture | None = None
    hidden: frozenset[str] = frozenset()
    blend_texture: moderngl.Texture | None = None  # soft-edge mask over the canvas
    gamma: float = 2.2
    color: OutputColor = field(default_factory=OutputColor)
    lut_texture: moderngl.Texture | None = None
    mesh_texture: moderngl.Texture | None = None  # mesh offsets of its warped surfaces


class SourceKey(NamedTuple):
    """A layer's content as the renderer caches it: the same layer showing the same
    content (the same file identity: path, size, modification time) shares one source."""

    layer: str
    kind: str
    content: object  # ContentId for files, the colour for solids
    size_px: tuple[int, int] | None = None  # region size, for region-sized kinds


class Renderer:
    """Draws frames of one show into offscreen output framebuffers."""

    def __init__(
        self,
        ctx: moderngl.Context,
        show: Show,
        *,
        offline: bool = False,
        trials: ShaderTrials | None = None,
    ):
        self.ctx = ctx
        self.show = show
        self.trials = trials
        """Trial frames for compiled kinds (``mapping.gl.trial``): with them, such content
        is opened only after its trial passed (live: nothing is drawn until then; offline:
        the trial is waited for). ``ShowPlayer`` always gives them; ``None`` opens directly."""
        self._open_errors: dict[str, str] = {}  # layers showing a placeholder, and why
        self._layer_prog = load_program(ctx, "layer")
        self._warp_prog = load_program(ctx, "warp")
        self._warp_prog["u_blend"].value = 1  # texture unit of the soft-edge mask
        self._warp_prog["u_lut"].value = 2  # texture unit of the output's 3D LUT
        self._warp_prog["u_mesh"].value = 3  # texture unit of the output's mesh offsets
        self._blit_prog = load_program(ctx, "blit")
        self._quad_vbo = ctx.buffer(_UNIT_QUAD.tobytes())
        self._layer_vao = ctx.vertex_array(self._layer_prog, [(self._quad_vbo, "2f", "a_unit")])
        self._blit_vao = ctx.vertex_array(self._blit_prog, [(self._quad_vbo, "2f", "a_unit")])
        self._sampler = ctx.sampler(
            repeat_x=False,
            repeat_y=False,
            border_color=(0.0, 0.0, 0.0, 0.0),
            filter=(moderngl.LINEAR, moderngl.LINEAR),
        )
        # Framebuffer 0 (the window, or nothing when headless): bound before releasing our
        # framebuffers, since moderngl re-binds the current one when it creates another.
        self._default_fbo = ctx.detect_framebuffer(0)
        self._env = SourceEnv(
            ctx, self._quad_vbo, offline, int(ctx.info.get("GL_MAX_TEXTURE_SIZE", 16384))
        )
        self._sources: dict[SourceKey, ContentSource] = {}
        self._slow_logged: set[object] = set()  # trials reported too slow, once each
        self._last_good: dict[str, ContentSource] = {}
        """Per compiled layer, the source it showed before its file changed: drawn while
        the new content's trial runs, and kept if the new content fails (an edit that
        breaks a shader keeps the last good picture, and the error says why)."""
        self._ids: dict[Path, ContentId] = {}  # file identities, refreshed on set_show
        self.quarantined: frozenset[Path] = frozenset()
        """Content files never opened (they crashed the show before: a placeholder)."""
        self.opening_hook: Callable[[Path | None], None] | None = None
        """Told the file about to be opened, then ``None`` (the supervisor's breadcrumb)."""
        self._reference_tex: moderngl.Texture | None = None
        self._outputs: dict[str, _OutputTarget] = {}
        self.drives: frozenset[str] | None = None
        """The outputs this machine draws (a render node's, ``docs/cluster.md``); None: all.
        Set it, then :meth:`set_show`; blending still sees every output of the show."""
        self._canvas_size: tuple[int, int] = (0, 0)
        self._canvas_tex: moderngl.Texture | None = None
        self._canvas_fbo: moderngl.Framebuffer | None = None
        self._mix_tex: moderngl.Texture | None = None  # crossfades are mixed here
        self._mix_fbo: moderngl.Framebuffer | None = None
        self._blend_hidden: frozenset[str] = frozenset()
        self._effects = LayerEffects(
            ctx, self._layer_prog, self._draw_layer, trials=trials, offline=offline
        )
        self.set_show(show)

    # -- show changes (load, hot reload, calibration updates)

    def set_soundtrack(self, tap: Callable[[int], np.ndarray | None] | None, rate: int) -> None:
        """What sources that listen (ISF audio inputs) hear: ``tap(n)`` gives the last ``n``
        samples of the show's soundtrack before the frame being drawn
        (:class:`mapping.sound.SoundTap`)."""
        self._env.soundtrack = self._effects.soundtrack = tap  # ISF layers, filters, transitions
        self._env.sound_rate = rate

    def set_show(self, show: Show, in_use: Iterable[tuple[str, Content]] = ()) -> None:
        """Adopt a new version of the show: rebuild geometry, keep content still in use.

        ``in_use``: (layer name, content) that the cue state shows now besides what the
        show file names (a ``layer.content`` command's file): kept open across a reload."""
        if self._reference_tex is not None and show.canvas.reference != self.show.canvas.reference:
            self._reference_tex.release()
            self._reference_tex = None
        self.show = show
        if show.canvas.size_px != self._canvas_size:
            if self._canvas_fbo is not None:
                self._default_fbo.use()
                self._canvas_fbo.release()
                self._canvas_tex.release()  # type: ignore[union-attr]
            self._release_mix()
            self._canvas_size = show.canvas.size_px
            self._env.canvas_size_px = show.canvas.size_px
            self._canvas_tex = self.ctx.texture(self._canvas_size, 4)
            self._canvas_fbo = self.ctx.framebuffer([self._canvas_tex])
        old = self._outputs
        self._outputs = {}
        for out in show.outputs:
            if self.drives is not None and out.name not in self.drives:
                continue  # another machine of the cluster draws it
            target = old.pop(out.name, None)
            if target is None or target.size_px != out.resolution:
                if target is not None:
                    self._release_output(target)
                tex = self.ctx.texture(out.resolution, 4)
                target = _OutputTarget(out.name, out.resolution, tex, self.ctx.framebuffer([tex]))
            self._outputs[out.name] = target
            self._set_color(target, out.color)
            self._build_warp(target)
            if target.pattern is not None and not target.pattern.startswith("image:"):
                self.set_pattern(out.name, target.pattern)  # outlines follow the new show
        for target in old.values():
            self._release_output(target)
        self._update_blend(self._blend_hidden)
        self._env.show_root = show.file.parent  # ISF image parameters name files in it
        self._ids = {path: ContentId.of(path) for _, path in show.media_files()}
        wanted = {self._source_key(layer, layer.content) for layer in show.layers}
        for cue in show.cues:
            for name, change in cue.layers.items():
                if change.content is not None:
                    wanted.add(self._source_key(show.layer(name), change.content))
        names = {la.name for la in show.layers}
        for name, content in in_use:
            if name in names:
                wanted.add(self._source_key(show.layer(name), content))
        compiled_layers = {la.name for la in show.layers if LAYER_KINDS[la.kind].compiled}
        for key in [k for k in self._sources if k not in wanted]:
            source = self._sources.pop(key)
            if self.trials is not None and key.layer in compiled_layers and not source.failed:
                self._keep_last_good(key.layer, source)  # until its replacement is tried
            else:
                source.release()
        for name in [n for n in self._last_good if n not in compiled_layers]:
            self._last_good.pop(name).release()  # no longer a shader layer
        if compiled_layers and self.trials is not None:
            self.trials.warm()  # the trial worker starts while the rest opens
        for key in list(self._sources):
            layer = show.layer(key.layer)
            source = self._sources[key]
            if (layer.in_s, layer.out_s) != (source.layer.in_s, source.layer.out_s):
                self._sources.pop(key).release()  # a new window on the clip: open it again
                continue
            source.layer = layer
        self._open_errors = {k: v for k, v in self._open_errors.items() if k in names}
        self._effects.set_show(show)

    def _set_color(self, target: _OutputTarget, color: OutputColor) -> None:
        """Adopt an output's colour correction; its LUT becomes a float 3D texture."""
        if color == target.color and (color.lut is None) == (target.lut_texture is None):
            target.color = color
            return
        if target.lut_texture is not None:
            target.lut_texture.release()
            target.lut_texture = None
        target.color = color
        if color.lut is not None:
            n = color.lut.size
            table = np.ascontiguousarray(color.lut.table, dtype="f4")
            tex = self.ctx.texture3d((n, n, n), 3, table.tobytes(), dtype="f4")
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = tex.repeat_z = False
            target.lut_texture = tex

    def _use_color(self, target: _OutputTarget, blending: bool) -> None:
        """The colour and blend uniforms of the warp pass for one output."""
        warp = self._warp_prog
        color = target.color
        signal_on = not color.signal_identity
        warp["u_signal_on"].value = signal_on
        if signal_on:
            lut = target.lut_texture
            warp["u_lut_on"].value = lut is not None
            if lut is not None and color.lut is not None:
                lut.use(2)
                warp["u_lut_size"].value = float(color.lut.size)
                warp["u_lut_min"].value = color.lut.domain_min
                warp["u_lut_max"].value = color.lut.domain_max
            warp["u_brightness"].value = color.brightness
            warp["u_contrast"].value = color.contrast
            warp["u_color_gamma"].value = color.gamma
        linear_on = blending or color.gains != (1.0, 1.0, 1.0)
        warp["u_linear_on"].value = linear_on
        warp["u_blend_on"].value = blending
        if linear_on:
            warp["u_gamma"].value = target.gamma
            warp["u_gains"].value = color.gains
        if blending:
            target.blend_texture.use(1)  # type: ignore[union-attr]

    def _update_blend(self, hidden: frozenset[str]) -> None:
        """Soft-edge masks for every output (``mapping.blend``, cached there), uploaded as
        float textures over the canvas; released when the show does not blend."""
        self._blend_hidden = hidden
        masks = show_blend_masks(self.show, hidden) if self.show.blend.enabled else None
        for out in self.show.outputs:
            target = self._outputs.get(out.name)
            if target is None:  # drawn by another machine of the cluster
                continue
            target.gamma = out.gamma
            if target.blend_texture is not None:
                target.blend_texture.release()
                target.blend_texture = None
            if masks is None:
                continue
            data = masks.masks[out.name]
            tex = self.ctx.texture(masks.grid_size, 2, data.tobytes(), dtype="f4")
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            target.blend_texture = tex

    def _release_mix(self) -> None:
        if self._mix_fbo is not None:
            self._default_fbo.use()
            self._mix_fbo.release()
            self._mix_tex.release()  # type: ignore[union-attr]
            self._mix_fbo = self._mix_tex = None

    def _build_warp(self, target: _OutputTarget) -> None:
        data = warp_vertices(self.show, target.name, target.hidden)
        if target.vao is not None:
            target.vao.release()
            target.vbo.release()  # type: ignore[union-attr]
            target.vao = target.vbo = None
        if target.mesh_texture is not None:
            target.mesh_texture.release()
            target.mesh_texture = None
        atlas, _ = warp_mesh_atlas(self.show, target.name, target.hidden)
        if atlas is not None:
            size = (atlas.shape[1], atlas.shape[0])
            target.mesh_texture = self.ctx.texture(size, 2, atlas.tobytes(), dtype="f4")
            target.mesh_texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
        target.vertex_count = len(data)
        if len(data):
            target.vbo = self.ctx.buffer(data.tobytes())
            target.vao = self.ctx.vertex_array(
                self._warp_prog,
                [
                    (
                        target.vbo,
                        "2f 9f 4f 4f",
                        "a_projector_px",
                        "a_H_projector_to_canvas",
                        "a_mesh",
                        "a_mesh_rect",
                    )
                ],
            )

    def _release_output(self, target: _OutputTarget) -> None:
        self._default_fbo.use()
        for obj in (
            target.vao,
            target.vbo,
            target.fbo,
            target.texture,
            target.pattern_texture,
            target.blend_texture,
            target.lut_texture,
            target.mesh_texture,
        ):
            if obj is not None:
                obj.release()

    # -- test patterns

    def pattern_kinds(self) -> tuple[str, ...]:
        """The test patterns this show's outputs can show."""
        extra = (REFERENCE_PATTERN,) if self.show.canvas.reference is not None else ()
        return (*PATTERN_KINDS, *extra)

    def set_pattern(self, output_name: str, kind: str | None) -> None:
        """Show a test pattern on one output (``None`` returns to the show)."""
        target = self._outputs.get(output_name)
        if target is None:  # an output another machine draws
            return
        if kind is not None and kind not in self.pattern_kinds() and not kind.startswith("image:"):
            raise ValueError(
                f"unknown pattern {kind!r}; expected one of: {', '.join(self.pattern_kinds())}"
            )
        if target.pattern_texture is not None:
            target.pattern_texture.release()
            target.pattern_texture = None
        target.pattern = kind
        if kind is None or kind.startswith("image:"):
            return
        if kind == REFERENCE_PATTERN:
            self._load_reference()
            return
        outlines = [
            SurfaceOutline(s.name, s.polygon_projector_px)
            for s in self.show.surfaces_on(output_name)
        ]
        image = render_pattern(kind, target.size_px, output_name=output_name, surfaces=outlines)
        target.pattern_texture = self.ctx.texture(
            target.size_px, 4, np.ascontiguousarray(image).tobytes()
        )

    def set_pattern_image(self, output_name: str, kind: str, image: np.ndarray) -> None:
        """Show ``image`` (uint8 RGB or RGBA, the output's size) full screen on an output;
        ``kind`` (``image:…``) is what :meth:`pattern` reports for it."""
        target = self._outputs.get(output_name)
        if target is None:  # an output another machine draws
            return
        h, w = image.shape[:2]
        if (w, h) != target.size_px:
            raise ValueError(f"image {w}×{h} for output '{output_name}' of {target.size_px}")
        if target.pattern_texture is not None:
            target.pattern_texture.release()
        rgba = image if image.shape[2] == 4 else np.dstack([image, np.full((h, w), 255, np.uint8)])
        target.pattern_texture = self.ctx.texture((w, h), 4, np.ascontiguousarray(rgba).tobytes())
        target.pattern = kind

    def _load_reference(self) -> None:
        if self._reference_tex is not None:
            return
        path = self.show.canvas.reference
        try:
            if path is None:
                raise MediaError("canvas.reference", "the show has no reference image")
            self._reference_tex = self._upload(load_image(path))
        except MediaError as exc:
            log.error("reference pattern: %s — showing a placeholder", exc)
            self._reference_tex = self._upload(placeholder_image("canvas reference", str(exc)))

    def pattern(self, output_name: str) -> str | None:
        target = self._outputs.get(output_name)
        return None if target is None else target.pattern

    # -- drawing

    def render(self, frame: FrameState) -> None:
        """Draw one frame: every layer onto the canvas, then every output."""
        ctx = self.ctx
        self._env.show_time_s = self._effects.show_time_s = frame.show_time_s  # ISF DATE
        self._preroll(frame)
        self._draw_canvas(frame)
        ctx.disable(moderngl.BLEND)
        warp = self._warp_prog
        warp["u_canvas_size_px"].value = self._canvas_size
        if self.show.blend.enabled and frame.hidden_surfaces != self._blend_hidden:
            self._update_blend(frozenset(frame.hidden_surfaces))
        for target in self._outputs.values():
            hidden = target.hidden
            if frame.hidden_surfaces or target.hidden:
                hidden = frame.hidden_surfaces.intersection(
                    s.name for s in self.show.surfaces_on(target.name)
                )
            if hidden != target.hidden:
                target.hidden = frozenset(hidden)
                self._build_warp(target)
            target.fbo.use()
            ctx.clear(0.0, 0.0, 0.0, 1.0)
            if target.pattern_texture is not None:
                target.pattern_texture.use(0)
                self._blit_prog["u_flip_y"].value = False
                self._blit_vao.render(moderngl.TRIANGLE_STRIP)
            elif target.vao is not None:
                source = self._canvas_tex
                level = frame.master * frame.output_levels.get(target.name, 1.0)
                if target.pattern == REFERENCE_PATTERN and self._reference_tex is not None:
                    source, level = self._reference_tex, 1.0
                warp["u_level"].value = level
                source.use(0)  # type: ignore[union-attr]
                self._sampler.use(0)
                on_canvas = source is self._canvas_tex
                if on_canvas:
                    self._use_color(target, target.blend_texture is not None)
                else:  # the reference drawing, as it is
                    warp["u_signal_on"].value = warp["u_linear_on"].value = False
                    warp["u_blend_on"].value = False
                if target.mesh_texture is not None:
                    target.mesh_texture.use(3)
                warp["u_output_size_px"].value = target.size_px
                target.vao.render(moderngl.TRIANGLES, vertices=target.vertex_count)
                self._sampler.clear(0)

    def _draw_canvas(self, frame: FrameState) -> None:
        ctx = self.ctx
        prog = self._layer_prog
        canvas_fbo = self._canvas_fbo
        assert canvas_fbo is not None
        canvas_fbo.use()
        ctx.clear(0.0, 0.0, 0.0, 1.0)
        ctx.enable(moderngl.BLEND)
        prog["u_canvas_size_px"].value = self._canvas_size
        prog["u_texture"].value = 0
        prog["u_plane_u"].value = 1
        prog["u_plane_v"].value = 2
        for lf in frame.layers:
            if lf.opacity <= 0.0:
                continue
            if self._effects.uses_effects(lf):
                self._draw_effects(lf)
                continue
            if lf.previous is not None:
                self._draw_crossfade(lf)
                continue
            binding = self._binding(lf.layer, lf.content, lf.media_time_s, lf.params)
            if binding is None:
                continue
            canvas_fbo.use()  # a generator drew into its own framebuffer
            ctx.blend_func = _BLEND[lf.layer.blend]
            self._draw_layer(lf.layer.region_canvas_px, binding, lf.opacity, lf.layer.blend)

    def _draw_layer(
        self,
        rect_canvas_px: tuple[float, float, float, float],
        binding: Binding,
        opacity: float,
        blend: str,
        straight: bool = False,
    ) -> None:
        """One layer quad into the bound framebuffer (blend function already set);
        ``straight``: straight-alpha out, for a picture ISF effects take."""
        prog = self._layer_prog
        prog["u_rect_canvas_px"].value = rect_canvas_px
        prog["u_opacity"].value = opacity
        prog["u_blend"].value = _BLEND_INDEX[blend]
        prog["u_straight"].value = straight
        prog["u_source"].value = binding.mode
        prog["u_color"].value = binding.color
        for name, data in binding.uniforms.items():
            prog[name].write(data)
        for unit, texture in enumerate(binding.textures):
            texture.use(unit)
        self._layer_vao.render(moderngl.TRIANGLE_STRIP)

    def _draw_crossfade(self, lf: LayerFrame) -> None:
        """A layer whose content is changing: old and new mixed exactly, then composited.

        Both contents are drawn into a canvas-sized buffer with weights ``w`` and ``1 - w``
        (premultiplied, added), so the mix is ``old·w + new·(1 − w)`` whatever the blend
        mode; the mix is then composited like any layer, at the layer's opacity.
        """
        assert lf.previous is not None
        ctx = self.ctx
        if self._mix_fbo is None:
            self._mix_tex = ctx.texture(self._canvas_size, 4)
            content_sampling(self._mix_tex)
            self._mix_fbo = ctx.framebuffer([self._mix_tex])
        prev = lf.previous
        old = self._binding(lf.layer, prev.content, prev.media_time_s, lf.params)
        new = self._binding(lf.layer, lf.content, lf.media_time_s, lf.params)
        self._mix_fbo.use()
        ctx.clear(0.0, 0.0, 0.0, 0.0)
        ctx.blend_func = (moderngl.ONE, moderngl.ONE)
        rect = lf.layer.region_canvas_px
        for binding, weight in ((old, prev.weight), (new, 1.0 - prev.weight)):
            if binding is not None:
                self._draw_layer(rect, binding, weight, "normal")
        assert self._canvas_fbo is not None and self._mix_tex is not None
        self._canvas_fbo.use()
        ctx.blend_func = _BLEND[lf.layer.blend]
        mix = Binding(SOURCE_PREMULTIPLIED, (self._mix_tex,))
        self._draw_layer(
            (0.0, 0.0, *map(float, self._canvas_size)), mix, lf.opacity, lf.layer.blend
        )

    def _draw_effects(self, lf: LayerFrame) -> None:
        """A layer with filters, or crossfading through an ISF transition: its picture at
        the region's size (``mapping.gl.effects``), composited as straight RGBA."""
        layer = lf.layer

        def binding_of(content: Content, media_time_s: float) -> Binding | None:
            return self._binding(layer, content, media_time_s, lf.params)

        picture = self._effects.picture(lf, self._canvas_size, binding_of)
        assert self._canvas_fbo is not None
        self._canvas_fbo.use()
        self._layer_prog["u_canvas_size_px"].value = self._canvas_size
        if picture is None:
            return
        self.ctx.blend_func = _BLEND[layer.blend]
        binding = Binding(SOURCE_RGBA, (picture,))
        self._draw_layer(layer.region_canvas_px, binding, lf.opacity, layer.blend)

    def _preroll(self, frame: FrameState) -> None:
        """Open the standby cue's content and have its first frame ready before GO."""
        for layer, content in frame.preload:
            key = self._source_key(layer, content)
            if key not in self._sources:
                source = self._source(layer, content, key)
                if source is not None:  # None: its trial frame is still being drawn
                    source.prepare()

    # -- layer content

    def _source_key(self, layer: Layer, content: Content) -> SourceKey:
        kind = LAYER_KINDS[layer.kind]
        size = region_size(layer, self._canvas_size) if kind.region_sized else None
        if isinstance(content, Path):
            file_id = self._ids.get(content)
            if file_id is None:
                file_id = self._ids[content] = ContentId.of(content)
            return SourceKey(layer.name, layer.kind, file_id, size)
        return SourceKey(layer.name, layer.kind, content, size)

    def animating(self, frame: FrameState) -> bool:
        """Whether drawing ``frame`` can give a picture other than the same frame state
        drawn before: some visible layer's source moves by itself, or is not open yet."""
        for lf in frame.layers:
            if lf.opacity <= 0.0:
                continue
            contents = [(lf.content, lf.media_time_s)]
            if lf.previous is not None:
                contents.append((lf.previous.content, lf.previous.media_time_s))
            for content, media_time_s in contents:
                source = self._sources.get(self._source_key(lf.layer, content))
                if source is None or source.animating(media_time_s):
                    return True
                last_good = self._last_good.get(lf.layer.name) if source.failed else None
                if last_good is not None and last_good.animating(media_time_s):
                    return True  # drawn in place of content that failed
            if lf.layer.filters and self._effects.animating(lf):
                return True
        return False

    def _binding(
        self, layer: Layer, content: Content, media_time_s: float, params: Mapping[str, float]
    ) -> Binding | None:
        """What a layer's content draws this frame (opening it the first time)."""
        key = self._source_key(layer, content)
        source = self._sources.get(key)
        if isinstance(source, PlaceholderSource) and source.retry_due():
            # the file changed since it failed (came back, or was replaced): open it again
            self._sources.pop(key).release()
            self._ids[key.content.path] = ContentId.of(key.content.path)  # type: ignore[union-attr]
            key = self._source_key(layer, content)
            source = None
        if source is None:
            source = self._source(layer, content, key)
        if source is None or source.failed:
            last_good = self._last_good.get(layer.name)
            if last_good is not None:  # the new content is being tried, or failed
                return last_good.binding(media_time_s, params)
            if source is None:
                return None  # a compiled content whose trial frame is not back yet
        return source.binding(media_time_s, params)

    def _keep_last_good(self, layer_name: str, source: ContentSource) -> None:
        old = self._last_good.pop(layer_name, None)
        if old is not None:
            old.release()
        self._last_good[layer_name] = source

    def _source(self, layer: Layer, content: Content, key: SourceKey) -> ContentSource | None:
        """Open the source for ``key`` (a placeholder when the content fails) and cache it;
        ``None`` while a compiled content's trial frame is still running (live)."""
        source = self._sources.get(key)
        if source is not None:
            return source
        kind = LAYER_KINDS[layer.kind]
        path = content if isinstance(content, Path) else None
        if path is not None and path in self.quarantined:
            reason = f"{path.name}: quarantined, it crashed the show twice"
            source = self._placeholder(layer, content, key, reason)
            self._sources[key] = source
            return source
        if kind.compiled and isinstance(key.content, ContentId) and self.trials is not None:
            trial = self._trial(layer, key, kind.region_sized)
            if trial is None:
                return None
            if not trial.admitted:
                source = self._placeholder(layer, content, key, trial.message)
                self._sources[key] = source
                return source
        if path is not None and self.opening_hook is not None:
            self.opening_hook(path)
        try:
            source = resolve(kind.gpu_source)(self._env, layer, content)
        except (MediaError, ShaderError) as exc:
            source = self._placeholder(layer, content, key, str(exc))
        except Exception as exc:  # the show goes on: any content failure → placeholder
            log.exception("unexpected error loading %s for layer '%s'", content, layer.name)
            source = self._placeholder(layer, content, key, f"{content}: {exc}")
        else:
            self._open_errors.pop(layer.name, None)
            last_good = self._last_good.pop(layer.name, None)
            if last_good is not None:  # replaced by content that opened
                last_good.release()
        finally:
            if path is not None and self.opening_hook is not None:
                self.opening_hook(None)
        self._sources[key] = source
        return source

    def _trial(self, layer: Layer, key: SourceKey, region_sized: bool) -> TrialResult | None:
        """The trial frame's result for a compiled content: live, ``None`` until it is back
        (asked for, never waited on); offline (``render``), waited for."""
        assert self.trials is not None and isinstance(key.content, ContentId)
        size = key.size_px if region_sized and key.size_px else region_size(layer)
        trial_key = self.trials.key(layer.kind, key.content, size)
        if self._env.offline:
            result = self.trials.run(trial_key, layer.params)
        else:
            result = self.trials.request(trial_key, layer.params)
        slow = result is not None and result.slow and not self._env.offline
        if slow and trial_key not in self._slow_logged:  # live: it will drop frames
            self._slow_logged.add(trial_key)
            log.warning("layer '%s': %s", layer.name, result.slow_message())  # type: ignore[union-attr]
        return result

    def _placeholder(
        self, layer: Layer, content: Content, key: SourceKey, reason: str
    ) -> PlaceholderSource:
        if self._open_errors.get(layer.name) != reason:
            log.error("layer '%s': %s — showing a placeholder", layer.name, reason)
        self._open_errors[layer.name] = reason
        file_id = key.content if isinstance(key.content, ContentId) else None
        return PlaceholderSource(self._env, layer, content, reason, file_id)

    def _upload(self, image: np.ndarray) -> moderngl.Texture:
        return self._env.upload(image)

    @property
    def errors(self) -> dict[str, str]:
        """What is wrong with each layer's content now, by layer name: content that could
        not be opened (shown as a placeholder) and sources holding their last good frame."""
        errors = {
            key.layer: error
            for key, source in self._sources.items()
            if (error := getattr(source, "error", None))
        }
        for layer, error in self._effects.errors.items():
            errors.setdefault(layer, error)
        errors.update(self._open_errors)
        return errors

    def late_frames(self) -> int:
        """Frames shown later than due, summed over the open sources."""
        return sum(source.late_frames for source in self._sources.values())

    # -- results

    @property
    def canvas_texture(self) -> moderngl.Texture:
        assert self._canvas_tex is not None
        return self._canvas_tex

    def output_names(self) -> list[str]:
        return list(self._outputs)

    def output_texture(self, name: str) -> moderngl.Texture:
        return self._outputs[name].texture

    def read_output(self, name: str) -> np.ndarray:
        """The output's pixels as an (H, W, 4) uint8 RGBA array, row 0 at the top."""
        target = self._outputs[name]
        w, h = target.size_px
        data = target.fbo.read(components=4, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(h, w, 4)

    def read_canvas(self) -> np.ndarray:
        assert self._canvas_fbo is not None
        w, h = self._canvas_size
        return np.frombuffer(self._canvas_fbo.read(components=4, alignment=1), np.uint8).reshape(
            h, w, 4
        )

    def release(self) -> None:
        """Free every GPU resource this renderer made."""
        self._default_fbo.use()
        for source in [*self._sources.values(), *self._last_good.values()]:
            source.release()
        self._sources.clear()
        self._last_good.clear()
        for target in self._outputs.values():
            self._release_output(target)
        self._outputs.clear()
        if self._canvas_fbo is not None:
            self._canvas_fbo.release()
            self._canvas_tex.release()  # type: ignore[union-attr]
            self._canvas_fbo = self._canvas_tex = None
        self._release_mix()
        self._effects.release()
        for obj in (
            self._layer_vao,
            self._blit_vao,
            self._quad_vbo,
            self._sampler,
            self._layer_prog,
            self._warp_prog,
            self._blit_prog,
        ):
            obj.release()
