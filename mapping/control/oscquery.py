"""OSCQuery discovery: the show's namespace over HTTP + WebSocket, advertised by mDNS/DNS-SD.

:class:`OscQueryServer` owns one aiohttp server on its own thread and event loop:

* ``GET /any/path`` answers the OSCQuery JSON node of that path (the whole tree at ``/``),
  generated from the command registry by :mod:`mapping.control.namespace`; ``?VALUE``,
  ``?TYPE``, ``?RANGE``, ``?ACCESS``, ``?DESCRIPTION``, ``?TAGS``, ``?FULL_PATH``,
  ``?CONTENTS`` answer one attribute; ``?HOST_INFO`` describes the server. Unknown paths
  are 404, unknown attributes 400, attributes a node does not have 204. Namespace and values
  are read on the render thread (``ShowPlayer.call_soon``), so one answer is one frame's
  consistent view; if no frame comes within ``request_timeout_s`` the answer is 503.
* A WebSocket on the same port takes ``{"COMMAND": "LISTEN" | "IGNORE", "DATA": path}``.
  A listened value is pushed as a binary OSC message (the address and its VALUE array) once
  when LISTEN arrives and then whenever it changes: after a command was applied, and at
  ``poll_interval_s`` for changes cues make on their own. When the live show is replaced
  (``LiveShow.generation``), every client gets ``{"COMMAND": "PATH_CHANGED", "DATA": p}``,
  ``p`` the deepest container of the added and removed addresses (``/`` when the structure
  is the same). Binary OSC messages from a client are commands, queued through
  ``ShowPlayer.submit`` like any other: the registry is the only way in.
* Requests from addresses outside ``allow`` (the show's ``[control] allow``) get 403, and
  so does a WebSocket opened by a web page of another origin (a browser sends ``Origin``;
  OSC tools do not): a page open in an operator's browser must not drive the show.
* The service is advertised with python-zeroconf as ``_oscjson._tcp`` (and ``_osc._udp``
  once the OSC port is known) on the bound interface only; without a usable multicast
  interface the server still runs and says so in the log.

Render-thread state (who listens to what, last pushed values, the known addresses) is only
touched by the render thread: in ``call_soon`` functions and the frame listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from mapping.commands import Command, Result
from mapping.control.loop_thread import LoopThread
from mapping.control.namespace import (
    ACCESS_READ,
    build_tree,
    common_path,
    find_node,
    read_value,
    readable,
    snapshot,
)
from mapping.control.osc_codec import Bundle, OscError, encode_message, parse_packet

if TYPE_CHECKING:
    from mapping.player import ShowPlayer

log = logging.getLogger(__name__)

OSCJSON_SERVICE = "_oscjson._tcp.local."
OSC_SERVICE = "_osc._udp.local."
ATTRIBUTES = (
    "FULL_PATH",
    "CONTENTS",
    "TYPE",
    "RANGE",
    "VALUE",
    "ACCESS",
    "DESCRIPTION",
    "TAGS",
)
EXTENSIONS = ("ACCESS", "VALUE", "RANGE", "DESCRIPTION", "TAGS", "LISTEN", "PATH_CHANGED")
"""The optional parts of the proposal this server implements (HOST_INFO's EXTENSIONS)."""

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
_CLIENT_QUEUE = 10_000


class _Client:
    """One WebSocket client: its send queue (filled from the render thread, in order)."""

    def __init__(self, ws: web.WebSocketResponse, loop: asyncio.AbstractEventLoop, peer: str):
        self.ws = ws
        self.loop = loop
        self.peer = peer
        self.queue: asyncio.Queue[bytes | str | None] = asyncio.Queue(_CLIENT_QUEUE)
        self.dropped = 0
        self.closed = False

    def post(self, payload: bytes | str | None) -> None:
        """Queue a message for this client (any thread)."""
        if self.closed and payload is not None:
            return
        try:
            self.loop.call_soon_threadsafe(self._put, payload)
        except RuntimeError:  # the loop is closed: the server is shutting down
            pass

    def _put(self, payload: bytes | str | None) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("OSCQuery client %s does not keep up: dropping updates", self.peer)

    async def send_loop(self) -> None:
        while (payload := await self.queue.get()) is not None:
            try:
                if isinstance(payload, bytes):
                    await self.ws.send_bytes(payload)
                else:
                    await self.ws.send_str(payload)
            except (ConnectionError, RuntimeError):  # the client went away mid-send
                self.closed = True
                return


class OscQueryServer:
    """OSCQuery for one :class:`~mapping.player.ShowPlayer` (see the module docstring).

    ``port`` 0 picks a free port (read :attr:`port` after :meth:`start`). ``osc_port`` is
    the OSC server's UDP port for HOST_INFO and ``_osc._udp``; pass it later with
    :meth:`set_osc_port` when the OSC server binds after this one.
    """

    def __init__(
        self,
        player: ShowPlayer,
        host: str = "127.0.0.1",
        port: int = 0,
        osc_port: int | None = None,
        name: str | None = None,
        *,
        allow: Sequence[str] = ("127.0.0.1/32", "::1/128"),
        advertise: bool = True,
        request_timeout_s: float = 2.0,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.player = player
        self.host = host
        self.requested_port = port
        self.osc_port = osc_port or None
        self._name = name
        self.allow = tuple(ipaddress.ip_network(n, strict=False) for n in allow)
        self.advertise = advertise
        self.request_timeout_s = request_timeout_s
        self.poll_interval_s = poll_interval_s
        self.port = 0
        self.app = web.Application(middlewares=[self._allow_middleware])
        """The aiohttp application. The operators' web panel adds its routes here before
        :meth:`start`; OSCQuery answers every GET that none of them takes."""
        self.advertiser: Advertiser | None = None
        self._advertising: asyncio.Task[None] | None = None
        self._server = LoopThread("oscquery")  # the server's own event loop and thread
        self._runner: web.AppRunner | None = None
        self._clients: set[_Client] = set()
        self._clients_lock = threading.Lock()
        self._closed = False
        # render-thread state
        self._listens: dict[str, set[_Client]] = {}
        self._last: dict[str, list[Any]] = {}
        self._addresses: frozenset[str] | None = None
        self._generation: int | None = None
        self._dirty = False
        self._last_poll = 0.0

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._server.loop

    # -- life cycle

    def start(self) -> OscQueryServer:
        """Serve on a background thread; returns once the port is bound (raises if not)."""
        self._server.start(self._startup, f"OSCQuery server on {self.host}:{self.requested_port}")
        self.player.frame_listeners.append(self._on_frame)
        self.player.processor.listeners.append(self._on_command)
        log.info(
            "OSCQuery on http://%s:%d/ (show '%s')", _url_host(self.host), self.port, self.name
        )
        return self

    def close(self) -> None:
        """Unadvertise, close every client and stop the server thread."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self.player.frame_listeners.remove(self._on_frame)
        with contextlib.suppress(ValueError):
            self.player.processor.listeners.remove(self._on_command)
        self._server.stop(self._shutdown, "OSCQuery server")

    def __enter__(self) -> OscQueryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_osc_port(self, port: int) -> None:
        """The OSC server's UDP port (HOST_INFO, ``_osc._udp``), once it is bound."""
        self.osc_port = port or None
        loop, advertiser = self._loop, self.advertiser
        if loop is not None and advertiser is not None and self.osc_port is not None:
            asyncio.run_coroutine_threadsafe(advertiser.register_osc(self.osc_port), loop)

    @property
    def name(self) -> str:
        """The name given, or else the name of the show playing now."""
        return self._name or self.player.status.show

    def host_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "NAME": self.name,
            "EXTENSIONS": {name: True for name in EXTENSIONS},
            "OSC_TRANSPORT": "UDP",
        }
        if self.osc_port is not None:
            info["OSC_PORT"] = self.osc_port
        if self.host not in _WILDCARD_HOSTS:
            info["OSC_IP"] = self.host
        return info

    async def _startup(self) -> None:
        self.app.router.add_get("/{tail:.*}", self._handle)  # last: routes added before win
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self.requested_port)
        try:
            await site.start()
        except BaseException:  # e.g. the port is taken: leave nothing behind
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]
        if self.advertise:
            self.advertiser = Advertiser(self.name, self.host, self.port, self.osc_port)
            self._advertising = asyncio.get_running_loop().create_task(self.advertiser.register())

    async def _shutdown(self) -> None:
        if self._advertising is not None and not self._advertising.done():
            self._advertising.cancel()  # closing while still probing the network
            with contextlib.suppress(asyncio.CancelledError):
                await self._advertising
        if self.advertiser is not None:
            await self.advertiser.close()
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- HTTP

    @web.middleware
    async def _allow_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if not self.allowed(request.remote):
            log.warning("OSCQuery: refused %s (not in [control] allow)", request.remote)
            raise web.HTTPForbidden(text=f"{request.remote} is not allowed to control this show")
        return await handler(request)

    def allowed(self, remote: str | None) -> bool:
        if not remote:
            return False
        try:
            address = ipaddress.ip_address(remote.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        attribute = request.query_string.split("&")[0].split("=")[0]
        if attribute == "HOST_INFO":
            return _json(self.host_info())
        path = request.path.rstrip("/") or "/"
        registry, live = self.player.registry, self.player.live
        snap = await self._on_render_thread(lambda: snapshot(registry, live, under=path))
        node = find_node(build_tree(snap), path)
        if node is None:
            raise web.HTTPNotFound(text=f"no OSC node {path}")
        if not attribute:
            return _json(node)
        if attribute not in ATTRIBUTES:
            raise web.HTTPBadRequest(
                text=f"unknown attribute {attribute}; expected one of HOST_INFO, "
                + ", ".join(ATTRIBUTES)
            )
        if attribute not in node or (
            attribute == "VALUE" and not node.get("ACCESS", 0) & ACCESS_READ
        ):
            return web.Response(status=204)
        return _json({attribute: node[attribute]})

    async def _on_render_thread(self, fn: Callable[[], Any]) -> Any:
        future = self.player.call_soon(fn)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.request_timeout_s)
        except TimeoutError:
            future.cancel()
            raise web.HTTPServiceUnavailable(
                text="the show is not running frames; try again"
            ) from None

    # -- WebSocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            # a web page from elsewhere, open in an operator's browser, must not drive the show
            log.warning("OSCQuery: refused a WebSocket from a page of %s", origin)
            raise web.HTTPForbidden(text=f"WebSocket from a page of {origin} refused")
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        client = _Client(ws, asyncio.get_running_loop(), str(request.remote))
        with self._clients_lock:
            self._clients.add(client)
        sender = asyncio.get_running_loop().create_task(client.send_loop())
        log.info("OSCQuery WebSocket client %s connected", client.peer)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(client, message.data)
                elif message.type == WSMsgType.BINARY:
                    self._on_osc(client, message.data)
        finally:
            client.closed = True
            with self._clients_lock:
                self._clients.discard(client)
            self.player.call_soon(lambda: self._forget(client))
            client.post(None)
            await sender
            log.info("OSCQuery WebSocket client %s left", client.peer)
        return ws

    def _on_text(self, client: _Client, text: str) -> None:
        try:
            message = json.loads(text)
            command, path = message["COMMAND"], message.get("DATA")
        except (ValueError, KeyError, TypeError):
            log.warning("OSCQuery client %s: not a COMMAND message: %.80s", client.peer, text)
            return
        if command == "LISTEN" and isinstance(path, str):
            self.player.call_soon(lambda: self._listen(client, path))
        elif command == "IGNORE" and isinstance(path, str):
            self.player.call_soon(lambda: self._ignore(client, path))
        else:
            log.warning("OSCQuery client %s: unsupported COMMAND %.40s", client.peer, command)

    def _on_osc(self, client: _Client, data: bytes) -> None:
        """A binary OSC message from a client: a command, through the registry."""
        try:
            message = parse_packet(data)
        except OscError as exc:
            log.warning("OSCQuery client %s: not an OSC message (%s)", client.peer, exc)
            return
        if isinstance(message, Bundle):
            log.warning("OSCQuery client %s: OSC bundles are not taken here", client.peer)
            return
        match = self.player.registry.match(message.address)
        if match is None:
            log.warning("OSCQuery client %s: unknown address %s", client.peer, message.address)
            return
        spec, path = match
        ticket = self.player.submit(
            spec.name, *message.args, path=path, source=f"oscquery {client.peer}"
        )
        if ticket.result is not None and not ticket.result.ok:  # refused before queueing
            log.warning("%s (from oscquery %s)", ticket.result.message, client.peer)

    # -- render thread

    def _on_command(self, command: Command, result: Result) -> None:
        if result.ok and command.mode != "query":
            self._dirty = True

    def _on_frame(self, player: ShowPlayer) -> None:
        if self._closed:
            return
        live = player.live
        if self._generation != live.generation:
            addresses = snapshot(player.registry, live, values=False).addresses
            if self._addresses is not None:
                self._path_changed(self._addresses, addresses)
            self._generation, self._addresses = live.generation, addresses
            self._dirty = True
        now = time.monotonic()
        if self._listens and (self._dirty or now - self._last_poll >= self.poll_interval_s):
            self._push_changes(player)
            self._last_poll = now
        self._dirty = False

    def _path_changed(self, before: frozenset[str], after: frozenset[str]) -> None:
        changed = before ^ after
        data = common_path(changed) if changed else "/"
        for address in before - after:  # the method is gone: so is listening to it
            self._listens.pop(address, None)
            self._last.pop(address, None)
        text = json.dumps({"COMMAND": "PATH_CHANGED", "DATA": data})
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            client.post(text)
        log.info("OSCQuery: namespace changed under %s (%d address(es))", data, len(changed))

    def _push_changes(self, player: ShowPlayer) -> None:
        for address, clients in list(self._listens.items()):
            value = self._read(player, address)
            if value is None or value == self._last.get(address):
                continue
            self._last[address] = value
            packet = osc_message(address, player.registry.match(address)[0], value)
            for client in clients:
                client.post(packet)

    def _read(self, player: ShowPlayer, address: str) -> list[Any] | None:
        match = player.registry.match(address)
        if match is None or not readable(match[0]):
            return None
        return read_value(match[0], player.live, match[1])

    def _listen(self, client: _Client, path: str) -> None:
        if not self._exists(path):
            log.warning("OSCQuery client %s: LISTEN to unknown path %s", client.peer, path)
            return
        self._listens.setdefault(path, set()).add(client)
        value = self._read(self.player, path)
        if value is not None:  # the current value first, then every change
            self._last[path] = value
            client.post(osc_message(path, self.player.registry.match(path)[0], value))

    def _exists(self, path: str) -> bool:
        """Whether the live show answers to ``path`` now (not the last frame's namespace)."""
        match = self.player.registry.match(path)
        if match is None:
            return False
        spec, values = match
        live = self.player.live
        return all(
            arg.names is None or values[arg.name] in [str(n) for n in arg.names(live, values)]
            for arg in spec.path_args
        )

    def _ignore(self, client: _Client, path: str) -> None:
        clients = self._listens.get(path)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._listens[path]

    def _forget(self, client: _Client) -> None:
        for path in list(self._listens):
            self._ignore(client, path)


def osc_message(address: str, spec: Any, value: list[Any]) -> bytes:
    """The binary OSC message carrying a VALUE array (type tags from the command's args)."""
    args: list[Any] = []
    arg_of = list(spec.value_args)
    if arg_of and arg_of[0].type is tuple:  # a typed parameter: its components come first
        arg_of = [arg_of[0]] * max(1, len(value) - len(arg_of) + 1) + arg_of[1:]
    for arg, item in zip(arg_of, value, strict=False):
        if item is None:
            args.append(None)
        elif arg.type is tuple:  # bool (T/F), int, float as they are; anything else a text
            args.append(item if isinstance(item, bool | int | float) else str(item))
        elif arg.type is float:
            args.append(float(item))
        elif arg.type in (int, bool):
            args.append(int(item))
        else:
            args.append(str(item))
    return encode_message(address, *args)


class Advertiser:
    """mDNS/DNS-SD records for the show (python-zeroconf), on the bound interface only."""

    def __init__(self, name: str, host: str, http_port: int, osc_port: int | None) -> None:
        self.name = _instance_name(name)
        self.host = host
        self.http_port = http_port
        self.osc_port = osc_port
        self.zeroconf: Any = None
        self.infos: dict[str, Any] = {}
        """The registered ServiceInfo of each service type."""
        self.registered = threading.Event()
        """Set once the registration finished (or was given up)."""
        self.error: str | None = None
        self._started: set[str] = set()

    @property
    def service_names(self) -> dict[str, str]:
        """Service type → registered instance name (zeroconf renames on a conflict)."""
        return {service: info.name for service, info in list(self.infos.items())}

    async def register(self) -> None:
        try:
            from zeroconf.asyncio import AsyncZeroconf

            interfaces, addresses, version = self._interfaces()
            self.zeroconf = AsyncZeroconf(interfaces=interfaces, ip_version=version)
            services = [(OSCJSON_SERVICE, self.http_port)]
            if self.osc_port is not None:
                services.append((OSC_SERVICE, self.osc_port))
            await asyncio.gather(*(self._register(s, p, addresses) for s, p in services))
            log.info("OSCQuery advertised by mDNS as %s", ", ".join(self.service_names.values()))
        except Exception as exc:  # no multicast here: discovery is a convenience, go on
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "OSCQuery: cannot advertise by mDNS on %s (%s); clients must be given "
                "the address and port",
                self.host or "all interfaces",
                self.error,
            )
        finally:
            self.registered.set()

    async def register_osc(self, port: int) -> None:
        """Advertise ``_osc._udp`` on ``port`` (or move it there), once OSC is bound."""
        self.osc_port = port
        if self.zeroconf is None:  # not started yet (it will use osc_port) or impossible
            return
        try:
            info = self.infos.get(OSC_SERVICE)
            if info is not None and info.port != port:
                info.port = port
                await self.zeroconf.async_update_service(info)
            elif OSC_SERVICE not in self._started:
                _, addresses, _ = self._interfaces()
                await self._register(OSC_SERVICE, port, addresses)
        except Exception as exc:
            log.warning("OSCQuery: cannot advertise the OSC port by mDNS (%s)", exc)

    async def _register(self, service: str, port: int, addresses: list[bytes]) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        info = AsyncServiceInfo(
            service,
            f"{self.name}.{service}",
            port=port,
            addresses=addresses,
            server=f"{_hostname()}.local.",
        )
        self._started.add(service)
        task = await self.zeroconf.async_register_service(info, allow_name_change=True)
        await task
        self.infos[service] = info

    def _interfaces(self) -> tuple[Any, list[bytes], Any]:
        from zeroconf import InterfaceChoice, IPVersion

        if self.host in _WILDCARD_HOSTS:
            import ifaddr

            addresses = [
                ipaddress.ip_address(ip.ip).packed
                for adapter in ifaddr.get_adapters()
                for ip in adapter.ips
                if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback
            ]
            return InterfaceChoice.All, addresses, IPVersion.V4Only
        address = ipaddress.ip_address(self.host)
        if address.version == 6:
            return [self.host], [address.packed], IPVersion.V6Only
        return [self.host], [address.packed], IPVersion.V4Only

    async def close(self) -> None:
        if self.zeroconf is None:
            return
        try:
            await self.zeroconf.async_unregister_all_services()
        except Exception as exc:
            log.warning("OSCQuery: mDNS unregistration failed (%s)", exc)
        finally:
            await self.zeroconf.async_close()
            self.zeroconf = None


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _instance_name(name: str) -> str:
    """A DNS-SD instance name: at most 63 bytes of UTF-8, no dots (they split labels)."""
    name = (name.replace(".", "-").strip() or "facade-mapper").encode()[:63]
    return name.decode(errors="ignore")


def _hostname() -> str:
    label = socket.gethostname().split(".")[0] or "facade-mapper"
    return "".join(c if c.isalnum() or c == "-" else "-" for c in label)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else (host or "0.0.0.0")


def start_for_show(player: ShowPlayer, port: int | None = None) -> OscQueryServer | None:
    """Start OSCQuery as the live show's ``[control]`` table says (``port`` overrides
    ``oscquery_port``; 0: no OSCQuery). A server that cannot start is logged and the show
    goes on without it; None then.
    """
    control = player.live.show.control
    port = control.oscquery_port if port is None else port
    if not port:
        return None
    server = OscQueryServer(
        player, control.bind, port, osc_port=control.osc_port or None, allow=control.allow
    )
    try:
        return server.start()
    except (OSError, RuntimeError) as exc:
        log.error("%s; the show runs without OSCQuery", exc)
        return None
