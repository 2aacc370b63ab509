"""GL context creation: headless (EGL) for tests, renders and monitoring.

Window contexts are created by :mod:`mapping.outputs` through pyglet; both kinds feed the
same :class:`~mapping.gl.renderer.Renderer`.
"""

from __future__ import annotations

import logging

import moderngl

log = logging.getLogger(__name__)

REQUIRED_GL = 330


def create_headless_context() -> moderngl.Context:
    """A standalone OpenGL 3.3+ core context with no window (EGL where available)."""
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL)
    except Exception as egl_exc:  # no EGL (e.g. macOS): let moderngl pick its default
        log.debug("EGL context failed (%s); trying the platform default", egl_exc)
        try:
            ctx = moderngl.create_standalone_context(require=REQUIRED_GL)
        except Exception as exc:
            raise RuntimeError(
                "could not create a headless OpenGL 3.3 context: install Mesa's EGL "
                f"libraries (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri); EGL said: {egl_exc}"
            ) from exc
    log.info("GL context: %s, OpenGL %s", ctx.info["GL_RENDERER"], ctx.info["GL_VERSION"])
    return ctx
