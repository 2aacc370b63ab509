"""The web panel's HTTP API and security rules, with a plain aiohttp client against a live
headless show (its own render thread): login, sessions, CSRF, Origin, rate limits, the show
lock, commands through the registry, pushed state and thumbnails."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest

from mapping.control.panel.security import (
    LOGIN_FAILURES,
    TOKEN_ENV,
    Sessions,
    resolve_token,
    same_origin,
)
from mapping.control.panel.server import start_for_show
from tests.panelkit import REPO, TOKEN, LiveShowThread, demo_copy
from tests.showkit import ctrl_c_works

# the demo show's cues as the operator reads them (shows/demo/show.toml, numbered 1..4)
CUE_1, CUE_2, CUE_3 = "1 preshow", "2 clip", "3 emblem"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveShowThread]:
    show = LiveShowThread(demo_copy(tmp_path_factory.mktemp("panel-api"))).start()
    yield show
    show.stop()


def run(client: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(client(), 10.0))


def session() -> aiohttp.ClientSession:
    # the panel is reached by IP address: the client must keep its cookie anyway
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(s: aiohttp.ClientSession, url: str, token: str = TOKEN) -> str:
    async with s.post(url + "api/login", json={"token": token}) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["csrf"]


def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- pure rules


def test_sessions_expire_after_their_lifetime_and_when_idle():
    now = [0.0]
    sessions = Sessions(ttl_s=100.0, idle_s=30.0, clock=lambda: now[0])
    a = sessions.open("p")
    now[0] = 25.0
    assert sessions.get(a.id) is a  # seen: the idle timer restarts
    now[0] = 50.0
    assert sessions.get(a.id) is a
    now[0] = 80.0  # 30 s idle
    assert sessions.get(a.id) is None
    b = sessions.open("p")
    for t in (100.0, 120.0, 140.0, 160.0, 179.0):
        now[0] = t
        assert sessions.get(b.id) is b
    now[0] = 180.0  # 100 s after it opened, however busy
    assert sessions.get(b.id) is None
    assert sessions.get("made-up") is None and sessions.get(None) is None


def test_csrf_tokens_belong_to_their_session():
    sessions = Sessions()
    a, b = sessions.open("p"), sessions.open("p")
    assert sessions.csrf_ok(a, a.csrf)
    assert not sessions.csrf_ok(a, b.csrf)
    assert not sessions.csrf_ok(a, "") and not sessions.csrf_ok(a, None)


def test_logins_from_an_address_are_blocked_for_a_minute_after_five_failures():
    now = [0.0]
    sessions = Sessions(clock=lambda: now[0])
    for _ in range(LOGIN_FAILURES):
        assert not sessions.login_blocked("a")
        sessions.login_failed("a")
    assert sessions.login_blocked("a") and not sessions.login_blocked("b")
    now[0] = 61.0
    assert not sessions.login_blocked("a")


def test_the_command_rate_limit_is_per_session():
    now = [0.0]
    sessions = Sessions(rate=20.0, burst=40.0, clock=lambda: now[0])
    a, b = sessions.open("p"), sessions.open("p")
    assert sum(a.commands.take() for _ in range(100)) == 40
    assert b.commands.take()
    now[0] = 0.5  # 10 more
    assert sum(a.commands.take() for _ in range(100)) == 10


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        (None, "127.0.0.1:8470", True),
        ("http://127.0.0.1:8470", "127.0.0.1:8470", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8470", False),
        ("http://evil.example", "127.0.0.1:8470", False),
        ("null", "127.0.0.1:8470", False),
        ("http://Show.local:8470", "show.local:8470", True),
    ],
)
def test_same_origin(origin, host, ok):
    assert same_origin(origin, host) is ok


def test_the_token_comes_from_the_option_the_environment_or_a_kept_file(tmp_path: Path):
    assert resolve_token("given-token", {TOKEN_ENV: "env-token-x"}) == ("given-token", False)
    assert resolve_token(None, {TOKEN_ENV: "env-token-x"}) == ("env-token-x", False)
    with pytest.raises(ValueError, match="at least 8"):
        resolve_token("short", {})
    file = tmp_path / "state" / "panel-token"
    token, generated = resolve_token(None, {}, file)
    assert generated and len(token) >= 12
    assert file.read_text().strip() == token
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert resolve_token(None, {}, file) == (token, True)  # a restart keeps it
    assert resolve_token(None, {}, None)[0] != token


# -- over HTTP


def test_a_wrong_token_is_refused_and_five_block_the_address(live):
    url = live.url

    async def client() -> list[int]:
        statuses = []
        async with session() as s:
            for _ in range(LOGIN_FAILURES + 1):
                async with s.post(url + "api/login", json={"token": "wrong-token"}) as r:
                    statuses.append(r.status)
            async with s.post(url + "api/login", json={"token": TOKEN}) as r:
                statuses.append(r.status)  # even the right one, for a minute
            assert not s.cookie_jar.filter_cookies(url)
        return statuses

    try:
        assert run(client) == [401] * LOGIN_FAILURES + [429, 429]
    finally:
        live.panel.sessions._failures.clear()


def test_without_a_session_everything_but_the_login_page_is_refused(live):
    url = live.url

    async def client() -> list[Any]:
        async with aiohttp.ClientSession() as s:
            out = []
            for path in ("api/state", "api/session", "api/thumb/left", "api/media", "ws"):
                async with s.get(url + path) as r:
                    out.append(r.status)
            async with s.post(url + "api/command", json={"name": "go"}) as r:
                out.append(r.status)
            async with s.get(url + "operator", allow_redirects=False) as r:
                out.append((r.status, r.headers["Location"]))
            async with s.get(url + "login") as r:
                out.append(r.status)
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            return out

    assert run(client) == [401] * 6 + [(303, "/login?next=/operator"), 200]


def test_go_is_a_registry_command_and_the_new_cue_is_pushed(live):
    url, player = live.url, live.player

    async def client() -> tuple[dict, dict, list[dict]]:
        async with session() as s:
            csrf = await login(s, url)
            async with s.ws_connect(f"{url}ws?csrf={csrf}") as ws:
                first = await ws.receive_json()
                async with s.post(
                    url + "api/command", json={"name": "go"}, headers={"X-CSRF-Token": csrf}
                ) as r:
                    result = await r.json()
                pushed = []
                while not any(m["type"] == "state" and "cue" in m["data"] for m in pushed):
                    pushed.append(await ws.receive_json())
                return first, result, pushed

    assert player.status.cue == CUE_1
    seen: list = []
    player.processor.listeners.append(lambda c, r: seen.append((c.name, c.source, r.ok)))
    first, result, pushed = run(client)
    assert first["type"] == "state" and first["full"]
    assert first["data"]["cue"] == CUE_1 and first["data"]["next_cue"] == CUE_2
    assert [c["label"] for c in first["data"]["cues"]][:3] == [CUE_1, CUE_2, CUE_3]
    assert result == {"ok": True, "command": "go", "message": "", "value": CUE_2}
    assert ("go", "panel", True) in seen
    assert pushed[-1]["data"]["cue"] == CUE_2 and player.status.cue == CUE_2


def test_a_request_from_another_origin_or_without_the_csrf_token_is_refused(live):
    url, player = live.url, live.player
    before = player.status.cue

    async def client() -> list[int]:
        async with session() as s:
            csrf = await login(s, url)
            out = []
            cases = [
                {"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
                {"X-CSRF-Token": csrf, "Origin": "null"},
                {},
                {"X-CSRF-Token": "not-the-token"},
            ]
            for headers in cases:
                async with s.post(url + "api/command", json={"name": "go"}, headers=headers) as r:
                    out.append(r.status)
            for query, headers in (
                ("", {}),
                ("?csrf=wrong", {}),
                (f"?csrf={csrf}", {"Origin": "http://evil.example"}),
            ):
                async with s.get(url + "ws" + query, headers=headers) as r:
                    out.append(r.status)
            async with s.post(
                url + "api/login", json={"token": TOKEN}, headers={"Origin": "http://evil.example"}
            ) as r:
                out.append(r.status)
            return out

    assert run(client) == [403] * 8
    time.sleep(0.1)  # a few frames: nothing was queued
    assert player.status.cue == before


def test_commands_beyond_the_rate_limit_are_refused_with_429(live):
    url = live.url

    async def client() -> list[int]:
        async with session() as s:
            csrf = await login(s, url)

            async def one() -> int:
                async with s.post(
                    url + "api/command",
                    json={"name": "master", "args": [1.0]},
                    headers={"X-CSRF-Token": csrf},
                ) as r:
                    return r.status

            return await asyncio.gather(*(one() for _ in range(60)))

    statuses = run(client)
    assert statuses.count(429) >= 15 and statuses.count(200) >= 40


def test_the_show_lock_refuses_editing_commands_and_the_page_is_told(live):
    url = live.url

    async def client() -> tuple[dict, dict, list]:
        async with session() as s:
            csrf = await login(s, url)
            h = {"X-CSRF-Token": csrf}
            async with s.ws_connect(f"{url}ws?csrf={csrf}") as ws:
                await ws.receive_json()
                async with s.post(
                    url + "api/command", json={"name": "lock", "args": [1]}, headers=h
                ):
                    pass
                body = {"name": "output.testpattern", "args": ["grid"], "path": {"output": "left"}}
                async with s.post(url + "api/command", json=body, headers=h) as r:
                    refused = await r.json()
                async with s.post(url + "api/command", json={"name": "quit"}, headers=h) as r:
                    quit_ = await r.json()
                async with s.post(
                    url + "api/command", json={"name": "lock", "args": [0]}, headers=h
                ):
                    pass
                errors = []
                while len(errors) < 2:
                    m = await ws.receive_json()
                    if m["type"] == "error":
                        errors.append(m["message"])
            return refused, quit_, errors

    refused, quit_, errors = run(client)
    assert not refused["ok"] and "locked" in refused["message"]
    assert not quit_["ok"] and "not from the web panel" in quit_["message"]
    assert any("locked" in e for e in errors)
    assert live.player.live.patterns["left"] is None and live.player.running


def test_an_expired_session_is_refused_and_its_websocket_closed(live):
    url, sessions, panel = live.url, live.panel.sessions, live.panel

    async def client() -> tuple[int, int, int | None]:
        async with session() as s:
            csrf = await login(s, url)
            async with s.get(url + "api/state") as r:
                fresh = r.status
            async with s.ws_connect(f"{url}ws?csrf={csrf}") as ws:
                await ws.receive_json()
                sessions.idle_s = 0.0
                try:
                    async with s.get(url + "api/state") as r:
                        expired = r.status
                    while (await ws.receive()).type not in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                    ):
                        pass
                finally:
                    sessions.idle_s = 4 * 3600.0
                return fresh, expired, ws.close_code

    panel.session_check_s = 0.05
    try:
        assert run(client) == (200, 401, 4001)
    finally:
        panel.session_check_s = 10.0


def test_thumbnails_are_the_rendered_outputs_shrunk(live):
    url, player, panel = live.url, live.player, live.panel

    async def client() -> tuple[bytes, list[int]]:
        async with session() as s:
            csrf = await login(s, url)
            seqs: list[int] = []
            async with s.ws_connect(f"{url}ws?csrf={csrf}") as ws:
                while len(seqs) < 3:
                    m = await ws.receive_json()
                    if m["type"] == "thumb" and m["output"] == "left":
                        seqs.append(m["seq"])
                async with s.get(url + "api/thumb/left") as r:
                    assert r.headers["Content-Type"] == "image/jpeg"
                    return await r.read(), seqs

    jpeg, seqs = run(client)
    assert seqs == sorted(set(seqs))  # new pictures keep coming while a page watches
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (90, 160, 3)  # the 160×90 outputs: shown 1:1
    assert panel.thumbnail_captures >= 3
    # the output as rendered now (the sky moves: compare the still parts' mean level)
    output = player.call_soon(lambda: player.renderer.read_output("left")).result(5.0)
    assert abs(float(image.mean()) - float(output[..., :3].mean())) < 12.0


def test_the_show_page_lists_media_and_residuals(live):
    url = live.url

    async def client() -> tuple[dict, dict, dict]:
        async with session() as s:
            await login(s, url)
            async with s.get(url + "api/media") as r:
                media = await r.json()
            async with s.get(url + "api/surfaces") as r:
                surfaces = await r.json()
            async with s.get(url + "api/schedule") as r:
                schedule = await r.json()
            return media, surfaces, schedule

    media, surfaces, schedule = run(client)
    files = {f["file"]: f for f in media["files"]}
    clip = live.show_dir / "media" / "clip.mp4"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "csv=p=0", str(clip)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    width, height = (int(v) for v in probe.stdout.strip().split(","))
    entry = files["media/clip.mp4"]
    assert (entry["kind"], entry["width"], entry["height"]) == ("video", width, height)
    assert entry["size_bytes"] == clip.stat().st_size
    assert entry["used"] and entry["uses"] == ["layers[1].file"]  # the show's 2nd layer
    assert files["media/facade.png"]["uses"] == ["canvas.reference"]
    assert media["errors"] == {}

    (live.show_dir / "media" / "broken.mp4").write_bytes(b"not a video")  # probed anew
    media = run(client)[0]
    broken = next(f for f in media["files"] if f["file"] == "media/broken.mp4")
    assert not broken["used"] and broken["problems"]
    right = next(s for s in surfaces["surfaces"] if s["name"] == "right-wing")
    assert right["residual_rms_px"] == 0.41 and right["points"] == 12  # calibrations/demo-venue
    assert schedule == {"running": False, "shows": []}


def test_a_port_in_use_is_logged_and_the_show_goes_on_without_the_panel(live, caplog):
    assert start_for_show(live.player, port=live.panel.port, token=TOKEN) is None
    assert "without the web panel" in caplog.text
    assert start_for_show(live.player, port=0) is None


def test_run_serves_the_panel_with_a_kept_token_and_goes_by_the_registry(tmp_path: Path):
    with socket.socket() as probe:  # a free port (the CLI needs a number)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    argv = ["run", "shows/demo", "--headless", "--duration", "60", "--panel-port", str(port)]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_show.py"), *argv, "--state-dir", str(state)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ctrl_c_works,
    )
    url = f"http://127.0.0.1:{port}/"

    async def client() -> dict:
        async with session() as s:
            deadline = time.monotonic() + 20.0
            while True:  # until the show is up
                try:
                    async with s.get(url + "login") as r:
                        assert r.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "no panel came up"
                    await asyncio.sleep(0.1)
            token = (state / "panel-token").read_text().strip()
            csrf = await login(s, url, token)
            async with s.post(
                url + "api/command", json={"name": "go"}, headers={"X-CSRF-Token": csrf}
            ) as r:
                return await r.json()

    try:
        result = run(client)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20.0)
    finally:
        process.kill()
    token_file = state / "panel-token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert result["ok"] and result["value"] == CUE_2
    assert f"web panel on {url}" in output and token_file.read_text().strip() in output


def test_the_schedule_rows_say_what_runs_tonight(tmp_path: Path):
    from types import SimpleNamespace

    from mapping.control.panel.server import schedule_rows
    from mapping.control.schedule import ScheduleState, load_schedule
    from tests.schedulekit import FakeWall, paris, shows_folder, write_schedule

    entries = (
        '[[entries]]\nshow = "tiny"\nstart = "20:00"\nduration = "30m"\n\n'
        '[[entries]]\nshow = "finale"\nstart = "21:00"\nduration = "30m"\n'
    )
    schedule = load_schedule(write_schedule(shows_folder(tmp_path), entries))
    state = ScheduleState(schedule, wall=FakeWall(paris(2026, 12, 4, 21, 10)), persist=False)
    rows = schedule_rows(SimpleNamespace(schedule=state))
    assert rows["running"] and rows["evening"] == "2026-12-04" and not rows["held"]
    assert [(r["show"], r["start"], r["end"], r["running"]) for r in rows["shows"]] == [
        ("tiny", "20:00", "20:30", False),
        ("finale", "21:00", "21:30", True),
    ]
    assert "now: finale" in rows["now"]
    assert schedule_rows(SimpleNamespace(schedule=None)) == {"running": False, "shows": []}


def test_a_mesh_point_is_selected_and_nudged_like_a_corner_then_a_corner_takes_over(live):
    url, player = live.url, live.player
    surface = player.live.show.surfaces[0].name

    async def client() -> tuple[list[dict], dict]:
        async with session() as s:
            csrf = await login(s, url)
            results = []
            for name, values in (
                ("surface.mesh", [3, 3]),
                ("calibrate.point", [surface, 1, 2]),
                ("calibrate.pointnudge", [1.5, -0.5]),
                ("calibrate.select", [surface, 0]),
            ):
                body = {"name": name, "args": values}
                if name == "surface.mesh":
                    body = {"name": name, "args": values, "path": {"surface": surface}}
                async with s.post(
                    url + "api/command", json=body, headers={"X-CSRF-Token": csrf}
                ) as r:
                    results.append(await r.json())
                if name == "calibrate.pointnudge":
                    async with s.ws_connect(f"{url}ws?csrf={csrf}") as ws:
                        state = (await ws.receive_json())["data"]
            return results, state

    try:
        results, state = run(client)
        assert [r["ok"] for r in results] == [True] * 4, results
        mesh = player.live.show.surface(surface).mesh
        assert mesh is not None and mesh.offsets_px.shape == (3, 3, 2)
        np.testing.assert_allclose(mesh.offsets_px[2, 1], [1.5, -0.5])  # row 2, column 1
        assert not np.any(np.delete(mesh.offsets_px.reshape(-1, 2), 7, axis=0))
        # the page saw the mesh and the selected point while it was selected
        assert next(s for s in state["surfaces"] if s["name"] == surface)["mesh"] == [3, 3]
        assert state["mesh_selection"] == [surface, 1, 2]
        assert player.live.mesh.selected is None  # selecting a corner took the nudges back
    finally:
        player.submit("surface.mesh", 0, 0, path={"surface": surface}, source="test")
