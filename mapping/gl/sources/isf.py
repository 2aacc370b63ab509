"""An ISF generator layer: an ISF file's passes drawn at the layer region's size each frame.

``TIME`` is the layer's media time (frame-exact, as for every generator); the layer's
parameters set the file's inputs (:class:`mapping.params.ParamSpec` from
:func:`mapping.isf.param_specs`); an ``image`` parameter names an image file (relative to
the show folder, as the show loader checked it; absolute; or, for a name sent over OSC,
beside the shader), loaded once per file (:class:`mapping.gl.isf.ImageInputs`); ``DATE``
is the wall clock live and, in an offline render, a fixed origin plus the show time
(:func:`mapping.gl.isf.isf_date`). ``audio`` and ``audioFFT`` inputs read the show's
soundtrack through ``SourceEnv.soundtrack`` (silence when there is none): the waveform as
a float texture ``samples × channels`` (0.5 = silence, as ISF hosts store it; ``MAX``
samples) and the magnitude spectrum (numpy ``rfft`` of a Hann-windowed block, scaled so a
full-scale sine reads 1.0 in its bin) as ``columns × channels`` (``MAX`` columns: see
:func:`spectrum_texture_data` and :func:`audio_block_samples`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import moderngl
import numpy as np

from mapping.gl.isf import ImageInputs, isf_date, load_isf_program
from mapping.gl.sources.base import SOURCE_RGBA, Binding, ContentSource, SourceEnv, region_size
from mapping.isf.document import IsfInput
from mapping.params import ParamValue
from mapping.show import Content, Layer

log = logging.getLogger(__name__)

AUDIO_SAMPLES = 1024
"""Samples an ``audio`` input gets when its file gives no ``MAX`` (bins of ``audioFFT``:
half of this plus one, before ``MAX``)."""

_TIME_UNIFORMS = ("TIME", "TIMEDELTA", "FRAMEINDEX", "DATE")


def waveform_texture_data(block: np.ndarray) -> np.ndarray:
    """``(channels, samples, 4)`` float32: each channel's samples as 0.5 + 0.5 × sample in
    RGB, alpha 1 (row = channel, column = sample, oldest first)."""
    wave = 0.5 + 0.5 * np.clip(block.T.astype(np.float32), -1.0, 1.0)
    out = np.ones((*wave.shape, 4), np.float32)
    out[..., 0] = out[..., 1] = out[..., 2] = wave
    return out


def spectrum_texture_data(block: np.ndarray, bins: int | None = None) -> np.ndarray:
    """``(channels, columns, 4)`` float32: the magnitude spectrum of each channel (Hann
    window, ``|rfft| × 2 / sum(window)``: a full-scale sine reads 1.0 in its bin) in RGB,
    alpha 1. ``bins`` (an ``audioFFT`` input's ``MAX``) fewer than the spectrum has groups
    it into that many columns of equal bin ranges, each the mean magnitude of its bins
    (column ``k`` covers bins ``floor(k·B/bins) .. floor((k+1)·B/bins) − 1``), so a
    4-column graph spans the whole spectrum as the ISF specification describes."""
    n = block.shape[0]
    window = np.hanning(n).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(block.T.astype(np.float64) * window, axis=1))
    spectrum *= 2.0 / max(window.sum(), 1e-12)
    total = spectrum.shape[1]
    if bins is not None and 0 < bins < total:
        edges = (np.arange(bins + 1) * total) // bins
        sums = np.add.reduceat(spectrum, edges[:-1], axis=1)
        spectrum = sums / np.diff(edges)[None, :]
    out = np.ones((*spectrum.shape, 4), np.float32)
    out[..., 0] = out[..., 1] = out[..., 2] = spectrum
    return out


def audio_block_samples(kind: str, top: int | None) -> int:
    """How many soundtrack samples an ``audio`` / ``audioFFT`` input's texture is made
    from: ``audio``: ``MAX`` (the ISF specification: the samples the shader wants), else
    :data:`AUDIO_SAMPLES`; ``audioFFT``: :data:`AUDIO_SAMPLES` (513 bins, grouped down to a
    smaller ``MAX``), or ``2·(MAX − 1)`` samples when ``MAX`` asks for more bins than that,
    so the spectrum has exactly ``MAX`` bins."""
    if kind == "audio":
        return top if top else AUDIO_SAMPLES
    if top and top > AUDIO_SAMPLES // 2 + 1:
        return 2 * (top - 1)
    return AUDIO_SAMPLES


class AudioInputs:
    """The textures of a program's ``audio`` / ``audioFFT`` inputs, filled each render
    from ``tap(n)`` (the last ``n`` samples of the soundtrack; ``None``: silence)."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self._textures: dict[str, moderngl.Texture] = {}

    def textures(
        self, inputs: Sequence[IsfInput], tap: Callable[[int], np.ndarray | None] | None
    ) -> dict[str, moderngl.Texture]:
        out: dict[str, moderngl.Texture] = {}
        for inp in inputs:
            top = inp.max if isinstance(inp.max, int) else None
            samples = audio_block_samples(inp.type, top)
            block = tap(samples) if tap is not None else None
            if block is None or block.size == 0:
                block = np.zeros((samples, 2), np.float32)
            if inp.type == "audio":
                data = waveform_texture_data(block)
            else:
                data = spectrum_texture_data(block, top)
            h, w = data.shape[:2]
            tex = self._textures.get(inp.name)
            if tex is None or tex.size != (w, h):
                if tex is not None:
                    tex.release()
                tex = self.ctx.texture((w, h), 4, dtype="f4")
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                tex.repeat_x = tex.repeat_y = False
                self._textures[inp.name] = tex
            tex.write(np.ascontiguousarray(data).tobytes())
            out[inp.name] = tex
        return out

    def release(self) -> None:
        for tex in self._textures.values():
            tex.release()
        self._textures = {}


class IsfSource(ContentSource):
    """The ISF file's picture, drawn into a texture of the layer region's size."""

    def __init__(self, env: SourceEnv, layer: Layer, content: Content) -> None:
        super().__init__(env, layer, content)
        self.file = Path(str(content))
        self.program = load_isf_program(env.ctx, self.file)
        doc = self.program.doc
        self._size = region_size(layer, env.canvas_size_px)
        self._audio = [i for i in doc.inputs if i.type in ("audio", "audioFFT")]
        self._events = [p.name for p in doc.params if p.type == "event"]
        self._uses_time = (
            any(self.program.uses(n) for n in _TIME_UNIFORMS)
            or self.program.persistent
            or bool(self._audio)
        )
        self._image_inputs = ImageInputs(
            env.ctx, env.max_texture_size, f"layer '{layer.name}' ({self.file.name})"
        )
        self._audio_inputs = AudioInputs(env.ctx)
        self._drawn_params: dict[str, ParamValue] | None = None
        self._binding: Binding | None = None
        self._redraw = False  # an event fired last render: draw again to end it

    def animating(self, media_time_s: float) -> bool:
        """True for a file reading TIME, TIMEDELTA, FRAMEINDEX or DATE, with persistent
        buffers or audio inputs, and for the frame after an event."""
        return self._uses_time or self._redraw

    def binding(self, media_time_s: float, params: Mapping[str, ParamValue]) -> Binding | None:
        if (
            self._binding is not None
            and not self._uses_time
            and not self._redraw
            and self._drawn_params == params
        ):
            return self._binding  # a still picture: drawn once per parameter set
        previous = self._drawn_params or {}
        self._redraw = any(params.get(n) and params.get(n) != previous.get(n) for n in self._events)
        self._drawn_params = dict(params)
        images = self._image_textures(params)
        images.update(self._audio_textures())
        date = isf_date(self.env.offline, self.env.show_time_s)
        texture = self.program.render(self._size, media_time_s, params, images, date=date)
        self._binding = Binding(SOURCE_RGBA, (texture,))
        return self._binding

    def _image_textures(self, params: Mapping[str, ParamValue]) -> dict[str, moderngl.Texture]:
        return self._image_inputs.textures(self.program.doc, params, self.env.show_root)

    def _audio_textures(self) -> dict[str, moderngl.Texture]:
        return self._audio_inputs.textures(self._audio, self.env.soundtrack)

    def release(self) -> None:
        self._image_inputs.release()
        self._audio_inputs.release()
        self.program.release()
