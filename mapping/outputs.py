"""Where rendered outputs go: projector windows (pyglet) or nowhere but memory (headless).

Both kinds present the renderer's per-output textures; the rendering code is the same.

* :class:`HeadlessOutputs` — an EGL context and no window; frames stay in the renderer's
  offscreen framebuffers (tests, renders, monitoring, a machine with no display).
* :class:`WindowOutputs` — one pyglet window per projector output: borderless fullscreen on
  the display the show file names, or ordinary desktop windows with ``windowed=True``.
  The renderer runs in the first window's GL context; the other windows share its objects
  and each draw the output texture through a small blit of their own. With ``span``
  (the show's ``[span] displays``), one borderless window covers those displays and every
  output is drawn into its own viewport of it, at its display and position (the way
  graphics cards present projector walls: one desktop over several outputs).

An output whose display does not exist is reported by its name and display and gets no
window; the other outputs keep running (it is still rendered, so it can be monitored).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from mapping.gl.context import create_headless_context
from mapping.gl.shaders import load_program
from mapping.show import Output

log = logging.getLogger(__name__)

PREVIEW_MAX_WIDTH = 960


class NoDisplayError(RuntimeError):
    """There is no display to open projector windows on."""


def display_available() -> str | None:
    """``None`` if windows can be opened here, else the reason they cannot."""
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return "no display found (DISPLAY is not set)"
    return None


def list_displays() -> list[tuple[int, int, int, int]]:
    """``(x, y, width, height)`` of every display, in the order ``display = N`` counts them."""
    if reason := display_available():
        raise NoDisplayError(reason)
    import pyglet

    try:
        screens = pyglet.display.get_display().get_screens()
    except Exception as exc:  # pyglet raises its own NoSuchDisplayException
        raise NoDisplayError(f"cannot open the display: {exc}") from exc
    return [(s.x, s.y, s.width, s.height) for s in screens]


class HeadlessOutputs:
    """Offscreen outputs: the renderer's framebuffers are the outputs.

    With ``ctx`` the outputs draw in a context someone else owns (tests share one); without,
    they open their own EGL context and release it on :meth:`close`. ``presented`` counts
    the frames presented.
    """

    def __init__(self, ctx: moderngl.Context | None = None) -> None:
        self._owned = ctx is None
        self.ctx = ctx if ctx is not None else create_headless_context()
        self.presented = 0

    def make_current(self) -> None:
        """The headless context is always current."""

    def present(self, textures: dict[str, moderngl.Texture]) -> None:
        """Nothing to show: frames stay in the output framebuffers."""
        self.presented += 1

    def poll(self) -> bool:
        """Always keep running (stop with Ctrl-C or a duration)."""
        return True

    def close(self) -> None:
        if self._owned:
            self.ctx.release()


@dataclass
class _Window:
    output: Output
    window: Any  # pyglet.window.Window
    ctx: moderngl.Context
    program: moderngl.Program
    vao: moderngl.VertexArray
    texture: moderngl.Texture | None = None
    texture_glo: int = -1
    viewports: tuple[tuple[Output, tuple[int, int, int, int]], ...] = ()
    """A spanning window: each output and its rectangle (x, y, w, h; y down) in it."""
    textures: dict[str, tuple[int, moderngl.Texture]] | None = None


def span_layout(
    outputs: tuple[Output, ...],
    screens: list[tuple[int, int, int, int]],
    span: tuple[int, ...],
) -> tuple[tuple[int, int, int, int], list[tuple[Output, tuple[int, int, int, int]]], list[str]]:
    """One window over the ``span`` displays that exist: its rectangle (desktop
    coordinates), each output's viewport in it (x, y, w, h from its top-left) and what is
    missing, in words. Outputs on a display outside the span or missing are left out."""
    present = [d for d in span if d < len(screens)]
    missing = [
        f"display {d} (of the span) is missing: {len(screens)} display(s) found"
        for d in span
        if d >= len(screens)
    ]
    if not present:
        return (0, 0, 0, 0), [], missing
    rects = [screens[d] for d in present]
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    viewports = []
    for out in outputs:
        if out.display not in present:
            missing.append(_missing_output(out, len(screens), span))
            continue
        sx, sy, _, _ = screens[out.display]
        x, y = sx + out.position[0] - x0, sy + out.position[1] - y0
        viewports.append((out, (x, y, *out.resolution)))
    return (x0, y0, x1 - x0, y1 - y0), viewports, missing


def _missing_output(out: Output, found: int, span: tuple[int, ...] = ()) -> str:
    if span and out.display < found:
        return f"output '{out.name}': display {out.display} is not in the span {list(span)}"
    return (
        f"output '{out.name}': display {out.display} is missing ({found} display(s) found); "
        "it gets no window, the other outputs keep running"
    )


class WindowOutputs:
    """One pyglet window per output; ``ctx`` is the GL context the renderer must use."""

    def __init__(
        self,
        outputs: tuple[Output, ...],
        *,
        windowed: bool = False,
        key_handler: Any = None,
        mouse_handler: Any = None,
        span: tuple[int, ...] = (),
    ) -> None:
        """``mouse_handler(output, "press" | "drag", x_px, y_px)`` gets mouse events in the
        output's ``projector_px`` (left button only). ``span``: the displays one window
        covers, every output in its own viewport (ignored with ``windowed``)."""
        if reason := display_available():
            raise NoDisplayError(reason)
        import pyglet

        try:
            display = pyglet.display.get_display()
            screens = display.get_screens()
        except Exception as exc:  # pyglet raises its own NoSuchDisplayException
            raise NoDisplayError(f"cannot open the display: {exc}") from exc
        self._pyglet = pyglet
        self._open = True
        self.damaged = False
        """A window lost its picture (exposed, resized): the player presents again even when
        the frame has not changed."""
        self.windows: list[_Window] = []
        config = pyglet.gl.Config(
            major_version=3,
            minor_version=3,
            forward_compatible=True,
            double_buffer=True,
            depth_size=0,
            red_size=8,
            green_size=8,
            blue_size=8,
        )
        preview_x = 20
        self.refresh_hz: float | None = None
        """The first output's display refresh rate, when the display says (the player then
        runs one frame per refresh)."""
        self.missing: list[str] = []
        """What could not be shown, in words (an output whose display is missing)."""
        rects = [(sc.x, sc.y, sc.width, sc.height) for sc in screens]
        if span and not windowed:
            self._open_span(outputs, screens, rects, span, config, key_handler, mouse_handler)
            return
        shown = []
        for out in outputs:
            if out.display >= len(screens) and not windowed:
                self.missing.append(_missing_output(out, len(screens)))
                log.error("%s", self.missing[-1])
            else:
                shown.append(out)
        if not shown:
            raise NoDisplayError("; ".join(self.missing))
        for index, out in enumerate(shown):
            screen = screens[out.display] if out.display < len(screens) else screens[0]
            if index == 0:
                self.refresh_hz = _refresh_hz(screen)
            # vsync on the first window only: each buffer swap waits for its display's
            # vertical blank, which paces the loop; more waits would divide the rate
            vsync = index == 0 and not windowed
            caption = f"facade-mapper — {out.name}"
            if windowed:
                w, h = out.resolution
                scale = min(1.0, PREVIEW_MAX_WIDTH / w)
                window = pyglet.window.Window(
                    round(w * scale),
                    round(h * scale),
                    caption=caption,
                    resizable=True,
                    config=config,
                    vsync=False,
                )
                window.set_location(screen.x + preview_x, screen.y + 40)
                preview_x += window.width + 16
            else:
                placement = projector_placement(
                    out, (screen.x, screen.y, screen.width, screen.height)
                )
                if placement is None:
                    window = pyglet.window.Window(
                        caption=caption,
                        fullscreen=True,
                        screen=screen,
                        config=config,
                        vsync=vsync,
                    )
                else:
                    x, y, w, h = placement
                    window = pyglet.window.Window(
                        w,
                        h,
                        caption=caption,
                        config=config,
                        vsync=vsync,
                        style=pyglet.window.Window.WINDOW_STYLE_BORDERLESS,
                    )
                    window.set_location(x, y)
                window.set_mouse_visible(False)
            window.switch_to()
            ctx = moderngl.create_context(require=330)
            program = load_program(ctx, "blit")
            vbo = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
            vao = ctx.vertex_array(program, [(vbo, "2f", "a_unit")])
            program["u_flip_y"].value = True
            window.on_close = self._on_close
            window.on_expose = self._on_damage  # uncovered or resized: draw the last frame again
            window.on_resize = self._on_resize
            if key_handler is not None:
                window.on_key_press = key_handler
            if mouse_handler is not None:
                self._attach_mouse(window, out, mouse_handler)
            self.windows.append(_Window(out, window, ctx, program, vao))
        self.windows[0].window.switch_to()
        self.ctx = self.windows[0].ctx

    def _open_span(
        self,
        outputs: tuple[Output, ...],
        screens: list[Any],
        rects: list[tuple[int, int, int, int]],
        span: tuple[int, ...],
        config: Any,
        key_handler: Any,
        mouse_handler: Any,
    ) -> None:
        """One borderless window over the span's displays, an output in each viewport."""
        pyglet = self._pyglet
        (x, y, w, h), viewports, missing = span_layout(outputs, rects, span)
        self.missing = missing
        for text in missing:
            log.error("%s", text)
        if not viewports:
            raise NoDisplayError("no output can be shown: " + "; ".join(missing))
        first = min(d for d in span if d < len(screens))
        self.refresh_hz = _refresh_hz(screens[first])
        window = pyglet.window.Window(
            w,
            h,
            caption="facade-mapper — " + ", ".join(o.name for o, _ in viewports),
            config=config,
            vsync=True,
            style=pyglet.window.Window.WINDOW_STYLE_BORDERLESS,
        )
        window.set_location(x, y)
        window.set_mouse_visible(False)
        window.switch_to()
        ctx = moderngl.create_context(require=330)
        program = load_program(ctx, "blit")
        vbo = ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
        vao = ctx.vertex_array(program, [(vbo, "2f", "a_unit")])
        program["u_flip_y"].value = True
        window.on_close = self._on_close
        window.on_expose = self._on_damage
        window.on_resize = self._on_resize
        if key_handler is not None:
            window.on_key_press = key_handler
        if mouse_handler is not None:
            self._attach_span_mouse(window, viewports, mouse_handler)
        self.windows.append(
            _Window(viewports[0][0], window, ctx, program, vao, viewports=tuple(viewports))
        )
        self.ctx = ctx

    def _attach_span_mouse(
        self,
        window: Any,
        viewports: list[tuple[Output, tuple[int, int, int, int]]],
        handler: Any,
    ) -> None:
        left = self._pyglet.window.mouse.LEFT

        def to_output(x: float, y: float) -> tuple[str, float, float] | None:
            y_down = window.height - y
            for out, (vx, vy, vw, vh) in viewports:
                if vx <= x < vx + vw and vy <= y_down < vy + vh:
                    return out.name, x - vx, y_down - vy
            return None

        def on_press(x: int, y: int, button: int, modifiers: int) -> None:
            if button == left and (hit := to_output(x, y)) is not None:
                handler(hit[0], "press", hit[1], hit[2])

        def on_drag(x: int, y: int, dx: int, dy: int, buttons: int, modifiers: int) -> None:
            if buttons & left and (hit := to_output(x, y)) is not None:
                handler(hit[0], "drag", hit[1], hit[2])

        window.on_mouse_press = on_press
        window.on_mouse_drag = on_drag

    def _attach_mouse(self, window: Any, out: Output, handler: Any) -> None:
        left = self._pyglet.window.mouse.LEFT

        def to_output(x: float, y: float) -> tuple[float, float]:
            return window_to_projector_px(
                (x, y), window.get_size(), window.get_framebuffer_size(), out.resolution
            )

        def on_press(x: int, y: int, button: int, modifiers: int) -> None:
            if button == left:
                handler(out.name, "press", *to_output(x, y))

        def on_drag(x: int, y: int, dx: int, dy: int, buttons: int, modifiers: int) -> None:
            if buttons & left:
                handler(out.name, "drag", *to_output(x, y))

        window.on_mouse_press = on_press
        window.on_mouse_drag = on_drag

    def _on_close(self) -> None:
        self._open = False

    def _on_damage(self) -> None:
        self.damaged = True

    def _on_resize(self, width: int, height: int) -> None:
        self.damaged = True

    def make_current(self) -> None:
        """Make the renderer's context (the first window's) current."""
        self.windows[0].window.switch_to()

    def present(self, textures: dict[str, moderngl.Texture]) -> None:
        """Draw each output's texture into its window, letterboxed, and flip."""
        self.ctx.finish()  # the other windows read what this context just drew
        for w in self.windows:
            if w.viewports:
                self._present_span(w, textures)
                continue
            tex = textures[w.output.name]
            w.window.switch_to()
            if w.texture_glo != tex.glo:
                w.texture = w.ctx.external_texture(tex.glo, tex.size, 4, 0, "f1")
                w.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
                w.texture_glo = tex.glo
            fb_w, fb_h = w.window.get_framebuffer_size()
            screen = w.ctx.detect_framebuffer(0)
            screen.use()
            w.ctx.clear(0.0, 0.0, 0.0, 1.0)
            w.ctx.viewport = letterbox(tex.size, (fb_w, fb_h))
            assert w.texture is not None
            w.texture.use(0)
            w.vao.render(moderngl.TRIANGLE_STRIP)
            w.window.flip()
        self.damaged = False
        self.make_current()

    def _present_span(self, w: _Window, textures: dict[str, moderngl.Texture]) -> None:
        """Every output of a spanning window in its viewport, one flip."""
        w.window.switch_to()
        if w.textures is None:
            w.textures = {}
        screen = w.ctx.detect_framebuffer(0)
        screen.use()
        w.ctx.viewport = (0, 0, *w.window.get_framebuffer_size())
        w.ctx.clear(0.0, 0.0, 0.0, 1.0)
        fb_h = w.window.get_framebuffer_size()[1]
        for out, (x, y, vw, vh) in w.viewports:
            tex = textures[out.name]
            held = w.textures.get(out.name)
            if held is None or held[0] != tex.glo:
                shared = w.ctx.external_texture(tex.glo, tex.size, 4, 0, "f1")
                shared.filter = (moderngl.NEAREST, moderngl.NEAREST)
                held = w.textures[out.name] = (tex.glo, shared)
            w.ctx.viewport = (x, fb_h - y - vh, vw, vh)  # GL counts rows from the bottom
            held[1].use(0)
            w.vao.render(moderngl.TRIANGLE_STRIP)
        w.window.flip()

    def read_window(self, index: int = 0) -> np.ndarray:
        """What window ``index`` shows on the X display now, RGB rows top-first.

        Reads the pixels back from the X server (``XGetImage``), so it sees exactly what a
        projector on that display receives. X11 only.
        """
        import ctypes

        from pyglet.libs.x11 import xlib

        win = self.windows[index].window
        xlib.XSync(win._x_display, False)
        w, h = win.get_framebuffer_size()
        image = xlib.XGetImage(win._x_display, win._window, 0, 0, w, h, 0xFFFFFFFF, xlib.ZPixmap)
        if not image:
            raise RuntimeError(f"could not read window '{self.windows[index].output.name}'")
        c = image.contents
        if c.bits_per_pixel != 32:
            raise RuntimeError(f"unsupported X visual: {c.bits_per_pixel} bits per pixel")
        # ``data`` is declared c_char_p (it would stop at the first zero byte): take the pointer.
        ptr = ctypes.c_void_p.from_buffer(c, type(c).data.offset).value
        raw = np.frombuffer(ctypes.string_at(ptr, c.bytes_per_line * c.height), np.uint8)
        bgrx = raw.reshape(c.height, c.bytes_per_line // 4, 4)[:, : c.width]
        rgb = bgrx[..., [2, 1, 0]].copy()
        xlib.XFree(ptr)  # the pixels; the small XImage header is left to the process
        return rgb

    def poll(self) -> bool:
        """Handle window events; ``False`` once a window was closed."""
        for w in self.windows:
            w.window.dispatch_events()
        return self._open

    def close(self) -> None:
        for w in self.windows:
            w.window.close()
        self.windows.clear()


def _refresh_hz(screen: Any) -> float | None:
    """The screen's current refresh rate, or ``None`` when the display does not say."""
    try:
        rate = float(screen.get_mode().rate)
    except Exception:  # no XRandR (Xvfb), or a platform without modes
        return None
    return rate if 20.0 <= rate <= 500.0 else None


def projector_placement(
    output: Output, screen_rect: tuple[int, int, int, int]
) -> tuple[int, int, int, int] | None:
    """Where an output's window goes on its display: ``None`` for plain fullscreen.

    An output whose resolution is its display's and whose position is ``[0, 0]`` is
    fullscreen there. Otherwise (a display that carries several projectors, e.g. through a
    splitter that makes one wide desktop) it is a borderless window of ``resolution`` at
    ``position`` relative to the display's top-left: returns ``(x, y, width, height)`` in
    desktop coordinates.
    """
    sx, sy, sw, sh = screen_rect
    if tuple(output.resolution) == (sw, sh) and tuple(output.position) == (0, 0):
        return None
    return (sx + output.position[0], sy + output.position[1], *output.resolution)


def window_to_projector_px(
    point_window: tuple[float, float],
    window_size: tuple[int, int],
    framebuffer_size: tuple[int, int],
    output_size: tuple[int, int],
) -> tuple[float, float]:
    """A mouse position (pyglet window coordinates, origin bottom-left) → ``projector_px``.

    Accounts for HiDPI scaling (window vs framebuffer size) and the letterboxed viewport the
    output is shown in; the output's top row is at the top of the window.
    """
    sx = framebuffer_size[0] / max(1, window_size[0])
    sy = framebuffer_size[1] / max(1, window_size[1])
    x_fb, y_fb = point_window[0] * sx, point_window[1] * sy
    vx, vy, vw, vh = letterbox(output_size, framebuffer_size)
    x_px = (x_fb - vx) / vw * output_size[0]
    y_px = (vy + vh - y_fb) / vh * output_size[1]
    return x_px, y_px


def letterbox(
    content_size: tuple[int, int], target_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Largest viewport (x, y, w, h) of the content's aspect ratio centred in the target."""
    cw, ch = content_size
    tw, th = target_size
    scale = min(tw / cw, th / ch)
    w, h = max(1, round(cw * scale)), max(1, round(ch * scale))
    return ((tw - w) // 2, (th - h) // 2, w, h)
