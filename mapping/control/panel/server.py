"""The web panel's server: aiohttp on its own thread and event loop, inside the show process.

:class:`PanelServer` serves the pages in ``static/`` and a small JSON API, all behind the
rules of :mod:`.security` (token login, session cookie, CSRF token, same-origin check,
rate limits):

* ``POST /api/login`` ``{"token": ...}`` → session cookie and ``{"csrf": ...}``;
  ``POST /api/logout``; ``GET /api/session`` → the CSRF token of the cookie's session.
* ``POST /api/command`` ``{"name": "go", "args": [...], "path": {...}}`` → the command's
  :class:`~mapping.commands.Result` once the render thread applied it. Every action of the
  pages is one of these: :meth:`ShowPlayer.submit` with ``source="panel"``, exactly as OSC
  (so the show lock, undo and the registry's checks apply). ``quit`` is refused: the panel
  cannot end the show program.
* ``GET /ws?csrf=...`` — a WebSocket that pushes ``{"type": "state", "data": {...}}``: the
  whole :mod:`.state` once, then only what changed, computed by a frame listener from the
  per-frame ``Status`` snapshot (as OSC feedback); ``{"type": "thumb", "output", "seq"}``
  when a new thumbnail is ready; ``{"type": "error", "message"}`` for every refused command
  and every warning the show logs (at most ``ERRORS_PER_S`` a second). The socket closes
  when its session expires or logs out (the page then asks for the token again).
* ``GET /api/thumb/{output}`` — the latest thumbnail as JPEG. Thumbnails are shrunk on the
  GPU from the rendered output textures (:class:`mapping.gl.thumbnails.Thumbnailer`) by the
  frame listener, one output per frame, each about ``thumb_fps`` times a second, only while
  a page is connected and only when the output was redrawn; JPEG encoding runs here, off the
  render thread.
* ``GET /api/media`` (the show folder's media, probed as ``run_show.py media`` does, cached
  until a file changes; and the renderer's errors now), ``/api/surfaces`` (corners and the last
  fit's residuals from the calibration files), ``/api/schedule`` (tonight's plan).

Reads of the live show happen on the render thread (``ShowPlayer.call_soon``); render-thread
state (the last state pushed, the thumbnailer) is only touched there.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import mimetypes
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from mapping.commands import Command, Result
from mapping.control.loop_thread import LoopThread
from mapping.control.panel.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Session,
    Sessions,
    resolve_token,
    same_origin,
    token_matches,
)
from mapping.control.panel.state import StateDiff

if TYPE_CHECKING:
    from mapping.player import ShowPlayer

log = logging.getLogger(__name__)

DEFAULT_PANEL_PORT = 8470
DEFAULT_PANEL_BIND = "127.0.0.1"
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGES = ("operator", "technician", "show")
REFUSED_COMMANDS = frozenset({"quit"})
ERRORS_PER_S = 20
THUMB_FPS = 4.0
JPEG_QUALITY = 80
SESSION_CHECK_S = 10.0
"""How often an open WebSocket checks that its session has not expired or logged out."""
_CLIENT_QUEUE = 1000
_CSP = (
    "default-src 'self'; img-src 'self' blob:; connect-src 'self'; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class _Client:
    """One WebSocket client: its send queue, filled from the render thread in order."""

    def __init__(self, ws: web.WebSocketResponse, loop: asyncio.AbstractEventLoop, peer: str):
        self.ws = ws
        self.loop = loop
        self.peer = peer
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(_CLIENT_QUEUE)
        self.dropped = 0

    def post(self, text: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: shutting down
            self.loop.call_soon_threadsafe(self._put, text)

    def _put(self, text: str | None) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("panel client %s does not keep up: dropping updates", self.peer)

    async def send_loop(self) -> None:
        while (text := await self.queue.get()) is not None:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class _PanelLogHandler(logging.Handler):
    """Warnings and errors the show logs, pushed to the pages as they happen."""

    def __init__(self, server: PanelServer) -> None:
        super().__init__(logging.WARNING)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("aiohttp") or record.name == __name__:
            return
        try:
            self.server.push_error(record.getMessage().splitlines()[0], record.levelname.lower())
        except Exception:  # logging must never fail the caller
            pass


class PanelServer:
    """The web panel of one :class:`~mapping.player.ShowPlayer` (see the module docstring).

    ``port`` 0 picks a free port (read :attr:`port` after :meth:`start`). ``token`` None:
    ``$MAPPING_PANEL_TOKEN`` or a generated one (:attr:`token`, logged at start).
    """

    def __init__(
        self,
        player: ShowPlayer,
        host: str = DEFAULT_PANEL_BIND,
        port: int = DEFAULT_PANEL_PORT,
        token: str | None = None,
        *,
        thumb_fps: float = THUMB_FPS,
        thumb_width: int = 192,
        sessions: Sessions | None = None,
        request_timeout_s: float = 2.0,
        token_file: Path | None = None,
    ) -> None:
        self.player = player
        self.host = host
        self.requested_port = port
        self.token_file = token_file
        self.token, self.token_generated = resolve_token(token, token_file=token_file)
        self.thumb_fps = thumb_fps
        self.thumb_width = thumb_width
        self.sessions = sessions or Sessions()
        self.request_timeout_s = request_timeout_s
        self.session_check_s = SESSION_CHECK_S
        self.port = 0
        self.app = web.Application(middlewares=[self._headers_middleware])
        self._static = _load_static()
        self._server = LoopThread("panel")  # the server's own event loop and thread
        self._runner: web.AppRunner | None = None
        self._clients: set[_Client] = set()
        self._clients_lock = threading.Lock()
        self._closed = False
        self._log_handler = _PanelLogHandler(self)
        self._errors_second = 0.0
        self._errors_sent = 0
        self._media_cache: tuple[Any, list[dict[str, Any]]] | None = None
        self._media_lock = threading.Lock()
        self.thumbs: dict[str, tuple[int, bytes]] = {}
        """Output name → (sequence number, JPEG bytes) of its latest thumbnail."""
        self._thumb_seq = 0
        # render-thread state
        self._diff = StateDiff()
        self._thumbnailer: Any = None
        self._thumb_thread: int | None = None
        self._thumb_next = 0.0
        self._thumb_turn = 0
        self._thumb_drawn: dict[str, int] = {}
        self.thumbnail_captures = 0
        self._node_thumb_seq = 0  # the nodes' thumbnails taken from the cluster controller

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._server.loop

    # -- life cycle

    def start(self) -> PanelServer:
        """Serve on a background thread; returns once the port is bound (raises if not)."""
        self._server.start(self._startup, f"web panel on {self.host}:{self.requested_port}")
        self.player.frame_listeners.append(self._on_frame)
        self.player.processor.listeners.append(self._on_command)
        logging.getLogger().addHandler(self._log_handler)
        if self.token_generated:
            log.info(
                "web panel on %s — access token %s (generated%s; set your own with "
                "--panel-token or $MAPPING_PANEL_TOKEN)",
                self.url,
                self.token,
                f", kept in {self.token_file}" if self.token_file is not None else "",
            )
        else:
            log.info("web panel on %s", self.url)
        return self

    def close(self, release_gl: bool = False) -> None:
        """Stop serving. ``release_gl``: also free the thumbnails' GL objects (only from the
        render thread, while its context is alive; otherwise they go with the context)."""
        if self._closed:
            return
        self._closed = True
        logging.getLogger().removeHandler(self._log_handler)
        with contextlib.suppress(ValueError):
            self.player.frame_listeners.remove(self._on_frame)
        with contextlib.suppress(ValueError):
            self.player.processor.listeners.remove(self._on_command)
        if release_gl and self._thumbnailer is not None:
            if threading.get_ident() == self._thumb_thread:
                self._thumbnailer.release()
            self._thumbnailer = None
        self._server.stop(self._shutdown, "web panel")

    def __enter__(self) -> PanelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _startup(self) -> None:
        r = self.app.router
        r.add_get("/", self._root)
        r.add_get("/login", self._login_page)
        for page in PAGES:
            r.add_get(f"/{page}", self._page)
        r.add_get("/static/{name}", self._asset)
        r.add_post("/api/login", self._login)
        r.add_post("/api/logout", self._logout)
        r.add_get("/api/session", self._session_info)
        r.add_get("/api/state", self._state)
        r.add_post("/api/command", self._command)
        r.add_get("/api/thumb/{output}", self._thumb)
        r.add_get("/api/media", self._media)
        r.add_get("/api/surfaces", self._surfaces)
        r.add_get("/api/schedule", self._schedule)
        r.add_get("/ws", self._websocket)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self.requested_port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            client.post(None)
            with contextlib.suppress(Exception):
                await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- rules

    @web.middleware
    async def _headers_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def _require(self, request: web.Request, *, post: bool = False) -> Session:
        """The request's session; for changes also its origin and CSRF token. Else 401/403."""
        if not same_origin(request.headers.get("Origin"), request.host):
            log.warning(
                "web panel: refused a request from a page of %s", request.headers.get("Origin")
            )
            raise _error(web.HTTPForbidden, "cross-site request refused")
        session = self._session(request)
        if session is None:
            raise _error(web.HTTPUnauthorized, "not logged in (or the session expired)")
        if post and not self.sessions.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            log.warning("web panel: refused a request without a valid CSRF token")
            raise _error(web.HTTPForbidden, "missing or wrong CSRF token")
        return session

    # -- pages

    async def _root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/operator" if self._session(request) else "/login")

    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        return self._file("login.html")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if self._session(request) is None:
            raise web.HTTPSeeOther(f"/login?next={request.path}")
        return self._file("index.html")

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.Response:
        found = self._static.get(name)
        if found is None:
            raise web.HTTPNotFound(text=f"no file {name}")
        body, content_type = found
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    # -- session

    async def _login(self, request: web.Request) -> web.StreamResponse:
        peer = str(request.remote)
        if not same_origin(request.headers.get("Origin"), request.host):
            log.warning("web panel: refused a login from a page of %s", request.headers["Origin"])
            raise _error(web.HTTPForbidden, "cross-site request refused")
        if self.sessions.login_blocked(peer):
            raise _error(web.HTTPTooManyRequests, "too many wrong tokens: wait a minute")
        try:
            body = await request.json()
            given = str(body["token"])
        except (ValueError, KeyError, TypeError):
            raise _error(web.HTTPBadRequest, 'expected JSON {"token": "..."}') from None
        if not token_matches(self.token, given):
            self.sessions.login_failed(peer)
            log.warning("web panel: wrong token from %s", peer)
            raise _error(web.HTTPUnauthorized, "wrong token")
        session = self.sessions.open(peer)
        log.info("web panel: %s logged in", peer)
        response = web.json_response({"ok": True, "csrf": session.csrf})
        response.set_cookie(
            SESSION_COOKIE,
            session.id,
            max_age=int(self.sessions.ttl_s),
            httponly=True,
            samesite="Strict",
            path="/",
        )
        return response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        self._require(request, post=True)
        self.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = web.json_response({"ok": True})
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def _session_info(self, request: web.Request) -> web.StreamResponse:
        session = self._require(request)
        return web.json_response({"csrf": session.csrf, "show": self.player.status.show})

    # -- API

    async def _on_render_thread(self, fn: Callable[[], Any]) -> Any:
        future = self.player.call_soon(fn)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.request_timeout_s)
        except TimeoutError:
            future.cancel()
            raise _error(web.HTTPServiceUnavailable, "the show is not running frames") from None

    async def _state(self, request: web.Request) -> web.StreamResponse:
        self._require(request)
        diff = self._diff
        state = await self._on_render_thread(lambda: diff.state(self.player, time.monotonic()))
        return web.json_response(state)

    async def _command(self, request: web.Request) -> web.StreamResponse:
        session = self._require(request, post=True)
        if not session.commands.take():
            raise _error(web.HTTPTooManyRequests, "too many commands: slow down")
        try:
            body = await request.json()
            name = str(body["name"])
            args = body.get("args", [])
            path = body.get("path") or None
            if not isinstance(args, list) or not (path is None or isinstance(path, dict)):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise _error(
                web.HTTPBadRequest, 'expected JSON {"name": ..., "args": [...], "path": {...}}'
            ) from None
        if name in REFUSED_COMMANDS:
            result = Result.error(name, f"{name}: not from the web panel")
            self.push_error(result.message)
            return web.json_response(_result_json(result))
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()

        def deliver(result: Result) -> None:
            def settle() -> None:
                if not done.done():
                    done.set_result(result)

            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle)

        self.player.submit(name, *args, path=path, source="panel", on_result=deliver)
        try:
            result = await asyncio.wait_for(done, self.request_timeout_s)
        except TimeoutError:
            raise _error(web.HTTPServiceUnavailable, "the show is not running frames") from None
        return web.json_response(_result_json(result))

    async def _thumb(self, request: web.Request) -> web.StreamResponse:
        self._require(request)
        found = self.thumbs.get(request.match_info["output"])
        if found is None:
            raise _error(web.HTTPNotFound, "no thumbnail yet")
        seq, jpeg = found
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"X-Seq": str(seq)})

    async def _media(self, request: web.Request) -> web.StreamResponse:
        self._require(request)
        live = self.player.live
        show, errors = await self._on_render_thread(
            lambda: (live.show, dict(self.player.renderer.errors))
        )
        files = await asyncio.get_running_loop().run_in_executor(None, self._probed, show)
        return web.json_response({"root": str(show.root), "files": files, "errors": errors})

    def _probed(self, show: Any) -> list[dict[str, Any]]:
        """The media listing, probed again only when a file of the show folder changed."""
        key = (id(show), _folder_signature(show.root))
        with self._media_lock:
            if self._media_cache is None or self._media_cache[0] != key:
                self._media_cache = (key, media_listing(show))
            return self._media_cache[1]

    async def _surfaces(self, request: web.Request) -> web.StreamResponse:
        self._require(request)
        show = await self._on_render_thread(lambda: self.player.live.show)
        rows = await asyncio.get_running_loop().run_in_executor(None, surface_residuals, show)
        return web.json_response({"surfaces": rows})

    async def _schedule(self, request: web.Request) -> web.StreamResponse:
        self._require(request)
        rows = await self._on_render_thread(lambda: schedule_rows(self.player.live))
        return web.json_response(rows)

    # -- WebSocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        session = self._require(request)
        if not self.sessions.csrf_ok(session, request.query.get("csrf")):
            log.warning("web panel: refused a WebSocket without a valid CSRF token")
            raise _error(web.HTTPForbidden, "missing or wrong CSRF token")
        ws = web.WebSocketResponse(heartbeat=15.0)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        client = _Client(ws, loop, str(request.remote))
        sender = loop.create_task(client.send_loop())
        diff = self._diff

        def welcome() -> None:  # render thread: the whole state, then every change, in order
            # everyone is brought to the same state first, so the next differences suit all
            changes = diff.changes(self.player, time.monotonic())
            if changes:
                self._broadcast({"type": "state", "data": changes})
            client.post(json.dumps({"type": "state", "data": diff.last, "full": True}))
            for name, (seq, _) in list(self.thumbs.items()):
                client.post(json.dumps({"type": "thumb", "output": name, "seq": seq}))
            with self._clients_lock:
                self._clients.add(client)

        self.player.call_soon(welcome)

        async def expire() -> None:  # an open page keeps its session only until it ends
            while not ws.closed:
                await asyncio.sleep(self.session_check_s)
                if not self.sessions.alive(session.id):
                    await ws.close(code=4001, message=b"session ended")

        expiry = loop.create_task(expire())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT and message.data == "ping":
                    client.post('{"type": "pong"}')
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            expiry.cancel()
            with self._clients_lock:
                self._clients.discard(client)
            client.post(None)
            with contextlib.suppress(Exception):
                await sender
        return ws

    def _broadcast(self, payload: dict[str, Any]) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        if not clients:
            return
        text = json.dumps(payload)
        for client in clients:
            client.post(text)

    @property
    def watching(self) -> int:
        with self._clients_lock:
            return len(self._clients)

    def push_error(self, message: str, level: str = "error") -> None:
        """Tell every page (any thread); at most ``ERRORS_PER_S`` a second."""
        now = time.monotonic()
        if now - self._errors_second >= 1.0:
            self._errors_second, self._errors_sent = now, 0
        if self._errors_sent >= ERRORS_PER_S:
            return
        self._errors_sent += 1
        self._broadcast({"type": "error", "level": level, "message": message})

    # -- render thread

    def _on_command(self, command: Command, result: Result) -> None:
        if not result.ok:
            self.push_error(result.message)

    def _on_frame(self, player: ShowPlayer) -> None:
        if not self.watching:
            return
        now = time.monotonic()
        changes = self._diff.changes(player, now)
        if changes:
            self._broadcast({"type": "state", "data": changes})
        self._thumbnails(player, now)
        self._node_thumbnails(player)

    def _node_thumbnails(self, player: ShowPlayer) -> None:
        """A multi-machine show: the render nodes send thumbnails of their outputs while a
        page watches (``docs/cluster.md``); they are served like the controller's own."""
        cluster = getattr(player, "cluster", None)
        if cluster is None or self.thumb_fps <= 0 or self._loop is None:
            return
        cluster.want_thumbs(self.thumb_fps)
        for name, seq, jpeg in cluster.thumbs_since(self._node_thumb_seq):
            self._node_thumb_seq = max(self._node_thumb_seq, seq)
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._store_thumb, name, jpeg)

    def _store_thumb(self, name: str, jpeg: bytes) -> None:
        """(The server's loop.) The latest thumbnail of an output, told to every page."""
        self._thumb_seq += 1
        self.thumbs[name] = (self._thumb_seq, jpeg)
        self._broadcast({"type": "thumb", "output": name, "seq": self._thumb_seq})

    def _thumbnails(self, player: ShowPlayer, now: float) -> None:
        if self.thumb_fps <= 0:
            return
        if self._thumbnailer is None:
            from mapping.gl.thumbnails import Thumbnailer

            player.outputs.make_current()
            self._thumbnailer = Thumbnailer(player.outputs.ctx, self.thumb_width)
            self._thumb_thread = threading.get_ident()
        thumbnailer = self._thumbnailer
        for name in thumbnailer.pending():  # captured last frame: the read-back is done
            image = thumbnailer.collect(name)
            if image is not None and self._loop is not None:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._encode, name, image)
        names = player.renderer.output_names()
        if not names or now < self._thumb_next:
            return
        self._thumb_next = now + 1.0 / (self.thumb_fps * len(names))
        if len(self._thumb_drawn) > len(names):
            thumbnailer.forget(set(names))
            self._thumb_drawn = {n: d for n, d in self._thumb_drawn.items() if n in names}
        for i in range(len(names)):  # the next output in turn that was redrawn since
            name = names[(self._thumb_turn + i) % len(names)]
            if self._thumb_drawn.get(name) != player.drawn:
                self._thumb_turn = (self._thumb_turn + i + 1) % len(names)
                self._thumb_drawn[name] = player.drawn
                player.outputs.make_current()
                thumbnailer.capture(name, player.renderer.output_texture(name))
                self.thumbnail_captures += 1
                return

    def _encode(self, name: str, image: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        future = loop.run_in_executor(None, encode_jpeg, image)

        def done(f: asyncio.Future[bytes]) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            self._store_thumb(name, f.result())

        future.add_done_callback(done)


def encode_jpeg(image_rgb: Any, quality: int = JPEG_QUALITY) -> bytes:
    import cv2

    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def media_listing(show: Any) -> list[dict[str, Any]]:
    """What ``run_show.py media`` prints, as rows: every file the show names or holds under
    ``media/`` and ``shaders/``, probed (:func:`mapping.media.report.media_report`): kind,
    codec, resolution, frame rate, duration, size, the show keys that use it, its problems
    and notes."""
    from mapping.media.report import media_report

    report = media_report(show).to_json()
    keys = (
        "file kind codec width height fps vfr duration_s size_bytes alpha used uses problems notes"
    ).split()
    return [{k: item.get(k) for k in keys} for item in report["files"]]


def _folder_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``root`` with its size and modification time (a probe is redone
    only when this changes)."""
    out = []
    for path in root.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file():
                st = path.stat()
                out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def surface_residuals(show: Any) -> list[dict[str, Any]]:
    """Per surface: its output, and the last fit's residuals when its calibration file has
    them (``residual_rms_px``, ``residual_max_px``, ``method``, ``updated``)."""
    from calibration.store import load_calibration

    files: dict[Path, Any] = {}
    rows = []
    for surface in show.surfaces:
        row: dict[str, Any] = {"name": surface.name, "output": surface.output}
        file = surface.calibration_file
        if file is not None:
            if file not in files:
                try:
                    files[file] = load_calibration(file)
                except Exception as exc:
                    files[file] = exc
            cal = files[file]
            row["calibration"] = str(file)
            if isinstance(cal, Exception):
                row["problem"] = str(cal)
            else:
                entry = cal.surfaces.get(surface.calibration_entry or surface.name)
                if entry is not None:
                    row.update(
                        method=entry.method,
                        updated=entry.updated,
                        residual_rms_px=entry.residual_rms_px,
                        residual_max_px=entry.residual_max_px,
                        points=entry.points,
                    )
        rows.append(row)
    return rows


def schedule_rows(live: Any) -> dict[str, Any]:
    """Tonight's schedule (render thread): each planned show with its times, or none."""
    state = getattr(live, "schedule", None)
    if state is None:
        return {"running": False, "shows": []}
    from mapping.control.schedule import evening_of, plan

    schedule = state.schedule
    now = state.now()
    evening = evening_of(now.now, schedule.venue)
    skipped = state.overrides.skipped
    rows = []
    for planned in plan(schedule, evening):
        rows.append(
            {
                "show": planned.entry.show,
                "start": _hm(planned.start),
                "end": _hm(planned.end),
                "problem": planned.problem,
                "skipped": planned.slot in skipped,
                "running": now.current is not None and now.current.planned.slot == planned.slot,
            }
        )
    return {
        "running": True,
        "evening": evening.isoformat(),
        "now": now.describe(),
        "held": now.held,
        "shows": rows,
    }


def _hm(when: dt.datetime | None) -> str | None:
    return None if when is None else when.strftime("%H:%M")


def _result_json(result: Result) -> dict[str, Any]:
    value = result.value
    if not isinstance(value, str | int | float | bool | type(None) | list):
        value = str(value)
    return {"ok": result.ok, "command": result.command, "message": result.message, "value": value}


def _error(cls: type[web.HTTPException], message: str) -> web.HTTPException:
    return cls(text=json.dumps({"ok": False, "message": message}), content_type="application/json")


def _load_static() -> dict[str, tuple[bytes, str]]:
    files = {}
    for path in STATIC_DIR.iterdir():
        if path.is_file():
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files[path.name] = (path.read_bytes(), content_type)
    return files


def start_for_show(
    player: ShowPlayer,
    port: int | None = None,
    bind: str | None = None,
    token: str | None = None,
    token_file: Path | None = None,
) -> PanelServer | None:
    """Start the panel for a live show: ``port`` (``--panel-port``; None: the default
    ``DEFAULT_PANEL_PORT``; 0: no panel) on ``bind`` (``--panel-bind``; default 127.0.0.1,
    this machine only). A port in use is logged and the show goes on without the panel."""
    port = DEFAULT_PANEL_PORT if port is None else port
    if not port:
        log.info("web panel off (--panel-port 0)")
        return None
    try:
        server = PanelServer(player, bind or DEFAULT_PANEL_BIND, port, token, token_file=token_file)
    except ValueError as exc:
        log.error("web panel: %s; the show runs without it", exc)
        return None
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        log.warning("%s; the show runs without the web panel", exc)
        return None
