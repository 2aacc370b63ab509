"""The OSCQuery server: the show's namespace over HTTP, values over WebSocket, mDNS discovery.

The test thread is the render thread (it owns the GL context): it steps the player while an
aiohttp client runs in another thread, so every answer goes through ``call_soon`` exactly as
in a live show.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from mapping.control.oscquery import (
    OSC_SERVICE,
    OSCJSON_SERVICE,
    Advertiser,
    OscQueryServer,
    start_for_show,
)
from mapping.live import ShowLibrary
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import Show, load_show
from tests.conftest import REPO

TIMEOUT_S = 5.0


def _tiny(show: Show) -> Show:
    """The same show on 32×18 pixel canvas and outputs: frames take milliseconds."""
    return dataclasses.replace(
        show,
        canvas=dataclasses.replace(show.canvas, size_px=(32, 18)),
        outputs=tuple(dataclasses.replace(o, resolution=(32, 18)) for o in show.outputs),
    )


def _tiny_loader(folder: Path) -> Show:
    return _tiny(load_show(folder))


@pytest.fixture
def shows(tmp_path: Path) -> Path:
    """A shows folder with the demo and 'short', the demo without its last cue."""
    shutil.copytree(REPO / "shows" / "demo", tmp_path / "demo")
    shutil.copytree(REPO / "shows" / "calibrations", tmp_path / "calibrations")
    shutil.copytree(tmp_path / "demo", tmp_path / "short")
    toml = tmp_path / "short" / "show.toml"
    text = toml.read_text()
    text = text.replace('name = "Demo facade"', 'name = "Short show"', 1)
    toml.write_text(text[: text.rindex("[[cues]]")])
    return tmp_path


@pytest.fixture
def player(ctx, shows: Path):
    p = ShowPlayer(
        _tiny_loader(shows / "demo"),
        HeadlessOutputs(ctx),
        start_cue="1",
        library=ShowLibrary(shows),
    )
    p.live.loader = _tiny_loader
    yield p
    p.renderer.release()


@pytest.fixture
def server(player):
    with OscQueryServer(player, "127.0.0.1", 0, osc_port=9000, advertise=False) as s:
        yield s


def drive(player: ShowPlayer, client: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``client()`` on its own thread and loop while this thread steps the player."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(client(), TIMEOUT_S))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    t, deadline = player.status.show_time_s, time.monotonic() + TIMEOUT_S + 1.0
    while thread.is_alive() and time.monotonic() < deadline:
        t += 1 / 30
        player.step(t)
        time.sleep(0.002)
    thread.join(1.0)
    assert not thread.is_alive(), "the client did not finish in time"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def get_all(server: OscQueryServer, *paths: str) -> Callable[[], Awaitable[list[tuple]]]:
    async def client() -> list[tuple[int, Any]]:
        out = []
        async with aiohttp.ClientSession() as session:
            for path in paths:
                async with session.get(f"http://127.0.0.1:{server.port}{path}") as r:
                    body = await r.text()
                    is_json = r.content_type == "application/json"
                    out.append((r.status, json.loads(body) if is_json else body))
        return out

    return client


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    """The next message: an OSC message as (address, params), a text as parsed JSON."""
    message = await asyncio.wait_for(ws.receive(), 3.0)
    if message.type == aiohttp.WSMsgType.BINARY:
        osc = OscMessage(message.data)
        return osc.address, osc.params
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


# -- HTTP


def test_the_root_is_the_whole_namespace_with_current_values(server, player):
    player.submit("master", 0.25)
    player.submit("layer.opacity", 0.5, path={"layer": "logo"})
    [(status, root)] = drive(player, get_all(server, "/"))
    assert status == 200 and root["FULL_PATH"] == "/"
    assert {"go", "cue", "layer", "surface", "output", "master", "show"} <= set(root["CONTENTS"])
    logo = root["CONTENTS"]["layer"]["CONTENTS"]["logo"]["CONTENTS"]["opacity"]
    assert logo["TYPE"] == "ff"
    assert logo["RANGE"] == [{"MIN": 0, "MAX": 1}, {"MIN": 0, "MAX": 3600}]
    assert logo["VALUE"] == [player.live.engine.opacity_target("logo"), 0.0] == [0.5, 0.0]
    assert root["CONTENTS"]["master"]["VALUE"] == [0.25, 0.0]
    assert sorted(root["CONTENTS"]["cue"]["CONTENTS"]) == ["1", "2", "3", "4"]
    for number in ("1", "2", "3", "4"):
        start = root["CONTENTS"]["cue"]["CONTENTS"][number]["CONTENTS"]["start"]
        assert start["FULL_PATH"] == f"/cue/{number}/start"


def test_sub_paths_and_attribute_queries_answer_one_node_or_one_attribute(server, player):
    answers = drive(
        player,
        get_all(
            server,
            "/layer/logo/opacity?TYPE",
            "/layer/logo/opacity?RANGE",
            "/layer/logo/opacity?ACCESS",
            "/master?VALUE",
            "/master?DESCRIPTION",
            "/surface/left-wing/",
            "/output/left/level?VALUE",
        ),
    )
    assert answers == [
        (200, {"TYPE": "ff"}),
        (200, {"RANGE": [{"MIN": 0.0, "MAX": 1.0}, {"MIN": 0.0, "MAX": 3600.0}]}),
        (200, {"ACCESS": 3}),
        (200, {"VALUE": [1.0, 0.0]}),
        (200, {"DESCRIPTION": "Master level of every output, ignoring the cue list"}),
        (200, answers[5][1]),
        (200, {"VALUE": [1.0, 0.0]}),
    ]
    surface = answers[5][1]
    assert surface["FULL_PATH"] == "/surface/left-wing"
    assert surface["CONTENTS"]["visible"]["VALUE"] == [1]


def test_unknown_paths_are_404_unknown_attributes_400_missing_ones_204(server, player):
    answers = drive(
        player, get_all(server, "/nope", "/layer/nope/opacity", "/master?BOGUS", "/go?VALUE")
    )
    assert [status for status, _ in answers] == [404, 404, 400, 204]
    assert "/layer/nope/opacity" in answers[1][1]


def test_host_info_names_the_show_the_osc_port_and_only_what_is_implemented(server, player):
    [(status, info)] = drive(player, get_all(server, "/?HOST_INFO"))
    assert status == 200
    assert info == {
        "NAME": "Demo facade",
        "OSC_IP": "127.0.0.1",
        "OSC_PORT": 9000,
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": {
            "ACCESS": True,
            "VALUE": True,
            "RANGE": True,
            "DESCRIPTION": True,
            "TAGS": True,
            "LISTEN": True,
            "PATH_CHANGED": True,
        },
    }
    server.set_osc_port(9001)
    assert drive(player, get_all(server, "/?HOST_INFO"))[0][1]["OSC_PORT"] == 9001


def test_clients_outside_the_allow_list_are_refused(player, caplog):
    with OscQueryServer(player, "127.0.0.1", 0, allow=("10.0.0.0/8",), advertise=False) as s:
        with caplog.at_level(logging.WARNING):
            answers = drive(player, get_all(s, "/", "/?HOST_INFO", "/master?VALUE"))
    assert [status for status, _ in answers] == [403, 403, 403]
    assert "not in [control] allow" in caplog.text


def test_routes_added_before_start_share_the_port_and_the_allow_list(player):
    server = OscQueryServer(player, "127.0.0.1", 0, advertise=False)

    async def hello(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text="panel")

    server.app.router.add_get("/panel", hello)  # what the operators' web panel will do
    with server:
        answers = drive(player, get_all(server, "/panel", "/master?ACCESS"))
    assert answers == [(200, "panel"), (200, {"ACCESS": 3})]


def test_a_port_in_use_is_logged_and_the_show_goes_on_without_oscquery(player, caplog):
    with OscQueryServer(player, "127.0.0.1", 0, advertise=False) as first:
        control = dataclasses.replace(player.live.show.control, oscquery_port=first.port)
        player.live.show = dataclasses.replace(player.live.show, control=control)
        with caplog.at_level(logging.ERROR):
            assert start_for_show(player) is None
        assert f"127.0.0.1:{first.port}" in caplog.text
        assert "the show runs without OSCQuery" in caplog.text
        assert start_for_show(player, port=0) is None  # --oscquery-port 0: off


def test_a_websocket_from_a_web_page_of_another_origin_is_refused(server, player):
    async def client() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for origin in ("http://evil.example", f"http://127.0.0.1:{server.port}"):
                try:
                    url = f"http://127.0.0.1:{server.port}/"
                    async with session.ws_connect(url, headers={"Origin": origin}):
                        statuses.append(101)
                except aiohttp.WSServerHandshakeError as exc:
                    statuses.append(exc.status)
        return statuses

    assert drive(player, client) == [403, 101]  # the page served by the show itself may


def test_the_allow_list_matches_networks_ipv4_mapped_and_scoped_addresses(player):
    server = OscQueryServer(player, allow=("192.168.1.0/24", "::1/128"), advertise=False)
    assert server.allowed("192.168.1.77") and server.allowed("::ffff:192.168.1.77")
    assert server.allowed("::1") and not server.allowed("fe80::1%eth0")
    assert not server.allowed("192.168.2.1") and not server.allowed("127.0.0.1")
    assert not server.allowed(None) and not server.allowed("not an address")


def test_without_frames_a_request_is_answered_503_not_left_hanging(player):
    with OscQueryServer(player, "127.0.0.1", 0, advertise=False, request_timeout_s=0.2) as s:
        outcome: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: outcome.update(r=asyncio.run(get_all(s, "/master")()))
        )
        thread.start()
        thread.join(TIMEOUT_S)  # no player.step: the render thread never answers
    assert outcome["r"][0][0] == 503


# -- WebSocket


def test_listen_pushes_the_value_then_every_change_until_ignore(server, player):
    async def client() -> list[Any]:
        seen = []
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{server.port}/") as ws:
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/master"})
                seen.append(await receive(ws))  # the current value first
                player.submit("master", 0.25, 1.5)
                seen.append(await receive(ws))
                await ws.send_json({"COMMAND": "IGNORE", "DATA": "/master"})
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/layer/nope/opacity"})
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/blackout"})
                seen.append(await receive(ws))  # IGNORE (and the unknown path) came first
                player.submit("master", 0.75)
                player.submit("blackout", 1)
                seen.append(await receive(ws))  # not /master any more
        return seen

    assert drive(player, client) == [
        ("/master", [1.0, 0.0]),
        ("/master", [0.25, 0.0]),  # the level set; VALUE's fade is the default
        ("/blackout", [0]),
        ("/blackout", [1]),
    ]


def test_changes_made_by_cues_are_pushed_too(server, player):
    async def client() -> list[Any]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{server.port}/") as ws:
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/layer/sky/opacity"})
                first = await receive(ws)
                player.submit("go")  # cue 2 "clip" takes the sky to 1.0
                return [first, await receive(ws)]

    assert drive(player, client) == [  # OSC floats are 32 bit
        ("/layer/sky/opacity", pytest.approx([0.4, 0.0])),  # cue 1 "preshow"
        ("/layer/sky/opacity", [1.0, 0.0]),
    ]


def test_osc_messages_over_the_websocket_are_registry_commands(server, player):
    async def client() -> Any:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{server.port}/") as ws:
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/layer/logo/opacity"})
                await receive(ws)
                message = OscMessageBuilder("/layer/logo/opacity")
                message.add_arg(0.5, "f")
                await ws.send_bytes(message.build().dgram)
                return await receive(ws)

    assert drive(player, client) == ("/layer/logo/opacity", [0.5, 0.0])
    assert player.live.engine.opacity_target("logo") == 0.5


def test_loading_another_show_sends_path_changed_and_serves_the_new_namespace(server, player):
    async def client() -> Any:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{server.port}/") as ws:
                await ws.send_json({"COMMAND": "LISTEN", "DATA": "/master"})
                await receive(ws)  # the server knows this client now
                player.submit("show.load", "short")
                changed = await receive(ws)
        return changed, await get_all(
            server, "/cue/4/start", "/cue?CONTENTS", "/show/load?VALUE", "/?HOST_INFO"
        )()

    changed, answers = drive(player, client)
    assert changed == {"COMMAND": "PATH_CHANGED", "DATA": "/cue/4"}  # 'short' lost cue 4
    assert answers[0][0] == 404
    assert sorted(answers[1][1]["CONTENTS"]) == ["1", "2", "3"]
    assert answers[2][1] == {"VALUE": ["short"]}
    assert answers[3][1]["NAME"] == "Short show"


# -- mDNS / DNS-SD


def test_a_zeroconf_browser_on_loopback_finds_the_show_until_it_closes(player):
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

    seen: list[tuple[str, str]] = []

    class Listener:
        def add_service(self, zc: Any, service: str, name: str) -> None:
            seen.append(("added", name))

        def remove_service(self, zc: Any, service: str, name: str) -> None:
            seen.append(("removed", name))

        def update_service(self, zc: Any, service: str, name: str) -> None:
            pass

    async def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not condition():
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.02)

    async def browse() -> tuple[OscQueryServer, dict[str, str], list[Any]]:
        zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
        browser = AsyncServiceBrowser(zc.zeroconf, [OSCJSON_SERVICE], listener=Listener())
        server = OscQueryServer(player, "127.0.0.1", 0, name="OSCQuery test").start()
        try:
            server.set_osc_port(9000)  # the OSC server bound after OSCQuery started
            advertiser = server.advertiser
            assert advertiser is not None
            await until(lambda: len(advertiser.service_names) == 2 or advertiser.error is not None)
            assert advertiser.error is None
            names = advertiser.service_names  # "...-2" if another test run holds the name
            await until(lambda: ("added", names[OSCJSON_SERVICE]) in seen)
            infos = await asyncio.gather(
                *(
                    zc.async_get_service_info(service, names[service], timeout=3000)
                    for service in (OSCJSON_SERVICE, OSC_SERVICE)
                )
            )
        finally:
            await asyncio.to_thread(server.close)
        await until(lambda: ("removed", names[OSCJSON_SERVICE]) in seen)  # goodbye on close
        await browser.async_cancel()
        await zc.async_close()
        return server, names, infos

    server, names, (oscjson, osc) = asyncio.run(browse())
    for service in (OSCJSON_SERVICE, OSC_SERVICE):
        assert names[service].startswith("OSCQuery test") and names[service].endswith(service)
    assert oscjson is not None and oscjson.port == server.port
    assert oscjson.parsed_addresses() == ["127.0.0.1"]
    assert osc is not None and osc.port == 9000


def test_advertising_where_there_is_no_such_interface_logs_and_goes_on(caplog):
    advertiser = Advertiser("nowhere", "198.51.100.254", 1234, None)  # TEST-NET-2: not here
    with caplog.at_level(logging.WARNING):
        asyncio.run(advertiser.register())
        asyncio.run(advertiser.close())
    assert advertiser.registered.is_set() and advertiser.error is not None
    assert "cannot advertise by mDNS" in caplog.text


# -- command line


def test_run_serves_oscquery_on_the_port_given_on_the_command_line_and_takes_quit():
    with socket.socket() as probe:  # a free port (the CLI needs a number)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["run", "shows/demo", "--headless", "--duration", "30", "--oscquery-port", str(port)]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_show.py"), *argv],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    async def client() -> tuple[Any, Any]:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20.0
            while True:  # until the show is up
                try:
                    async with session.get(f"http://127.0.0.1:{port}/?HOST_INFO") as r:
                        info = await r.json()
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "no OSCQuery server came up"
                    await asyncio.sleep(0.1)
            async with session.get(f"http://127.0.0.1:{port}/master?VALUE") as r:
                value = await r.json()
            async with session.ws_connect(f"http://127.0.0.1:{port}/") as ws:
                await ws.send_bytes(OscMessageBuilder("/quit").build().dgram)
        return info, value

    try:
        info, value = asyncio.run(client())
        output, _ = process.communicate(timeout=20.0)
    finally:
        process.kill()
    assert info["NAME"] == "Demo facade" and "OSC_PORT" not in info  # the demo has no OSC
    assert value == {"VALUE": [1.0, 0.0]}
    assert process.returncode == 0, output
    assert f"OSCQuery on http://127.0.0.1:{port}/" in output
