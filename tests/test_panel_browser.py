"""The web panel in a real browser: Debian's chromium, headless, driven by Playwright.

One browser for the module, one live headless show (its own render thread) with the panel.
Expected values come from the show file (cue labels) and from the corner arithmetic done
here in float64 (a 1 px nudge of corner 0)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from mapping import geometry
from mapping.control.corners import anchors_canvas_px
from tests.conftest import IN_CI
from tests.panelkit import TOKEN, LiveShowThread, demo_copy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 8000


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if shutil.which(CHROMIUM) is None:
        if IN_CI:
            raise RuntimeError(f"{CHROMIUM} missing: scripts/setup.sh installs chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveShowThread]:
    show = LiveShowThread(demo_copy(tmp_path_factory.mktemp("panel-browser"))).start()
    yield show
    show.stop()


def _context(browser):
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser, live):
    """A fresh browser profile (no cookie)."""
    context = _context(browser)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def logged_in(browser, live):
    """A browser profile that logged in through the login page once, for the module."""
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{live.url}operator")
    assert page.url.endswith("/login?next=/operator")
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_url("**/operator")
    close(page)
    yield context
    context.close()


@pytest.fixture
def panel(logged_in):
    page = logged_in.new_page()
    yield page
    close(page)


def close(page) -> None:
    """Close a page without waiting for Chromium to confirm: a plain ``page.close()`` right
    after a navigation can wait forever (Playwright 1.64+ with Chromium's RenderDocument,
    microsoft/playwright#42068; it hung this suite once, on the page just logged in). The
    context's close at the end of the module still ends every page."""
    page.close(run_before_unload=True)


def log_in(page, live: LiveShowThread, where: str = "operator") -> None:
    """Open a page of the panel in the logged-in profile; wait for its WebSocket."""
    page.goto(f"{live.url}{where}")
    page.wait_for_selector("#connection.up")


def test_a_wrong_token_is_refused_on_the_login_page(page, live):
    page.goto(live.url)
    page.fill("#token", "not-the-token")
    page.click("#login")
    page.wait_for_selector("#login-error:has-text('wrong token')")
    assert page.url.endswith("/login")
    assert not page.context.cookies()


def test_go_on_the_page_changes_the_cue_on_the_page_and_in_the_show(panel, live):
    page = panel
    log_in(page, live)
    player = live.player
    page.wait_for_selector("#cue:has-text('1 preshow')")
    assert page.text_content("#next-cue") == "2 clip"
    page.click("#go")
    page.wait_for_selector("#cue:has-text('2 clip')")
    assert player.status.cue == "2 clip"
    assert page.text_content("#next-cue") == "3 emblem"
    assert page.get_attribute("#cue-list li.current", "data-cue") == "2"


def test_thumbnails_update_on_the_page(panel, live):
    page = panel
    log_in(page, live)
    img = page.wait_for_selector("#thumb-left[data-seq]")
    first = int(img.get_attribute("data-seq"))
    page.wait_for_function(
        "s => Number(document.querySelector('#thumb-left').dataset.seq) > s", arg=first
    )
    page.wait_for_function("() => document.querySelector('#thumb-left').naturalWidth === 160")


def test_nudging_a_corner_with_the_arrow_key_moves_the_mapping(panel, live):
    page = panel
    log_in(page, live, "technician")
    player = live.player
    page.select_option("#tech-output", "left")
    page.select_option("#tech-surface", "left-wing")  # selects its corner 0
    page.wait_for_selector("#corner-0.on")
    before = player.live.show.surface("left-wing")
    x0, y0 = geometry.apply_homography(before.H_canvas_to_projector, anchors_canvas_px(before))[0]
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "x => Number(document.querySelector('#corner-0-x').textContent) > x", arg=float(x0)
    )
    after = player.live.show.surface("left-wing")
    corners = geometry.apply_homography(after.H_canvas_to_projector, anchors_canvas_px(after))
    assert corners[0] == pytest.approx([x0 + 1.0, y0], abs=1e-6)
    assert not np.allclose(after.H_canvas_to_projector, before.H_canvas_to_projector)
    assert float(page.text_content("#corner-0-x")) == pytest.approx(x0 + 1.0, abs=0.01)
    page.click("#undo")
    page.wait_for_function(
        "x => Math.abs(Number(document.querySelector('#corner-0-x').textContent) - x) < 0.01",
        arg=float(x0),
    )


def test_a_mesh_point_chosen_on_the_page_takes_the_arrow_keys(panel, live):
    page = panel
    player = live.player
    player.submit("surface.mesh", 3, 3, path={"surface": "left-wing"}, source="test").wait(5)
    try:
        log_in(page, live, "technician")
        page.select_option("#tech-output", "left")
        page.select_option("#tech-surface", "left-wing")
        page.wait_for_selector("#mesh-controls:not([hidden])")
        page.fill("#mesh-column", "2")
        page.fill("#mesh-row", "1")
        page.click("#mesh-select")
        page.wait_for_function(
            "() => document.querySelector('#mesh-selected').textContent.includes('2, 1 of 3×3')"
        )
        page.keyboard.press("ArrowDown")
        mesh = None
        for _ in range(100):
            mesh = player.live.show.surface("left-wing").mesh
            if mesh is not None and mesh.offsets_px[1, 2, 1] != 0.0:
                break
            time.sleep(0.05)
        assert mesh is not None
        np.testing.assert_allclose(mesh.offsets_px[1, 2], [0.0, 1.0])  # row 1, column 2
    finally:
        player.submit("surface.mesh", 0, 0, path={"surface": "left-wing"}, source="test").wait(5)


class _EvilPage(BaseHTTPRequestHandler):
    """Another site, open in the operator's browser, trying to press GO on the panel."""

    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><script>"
            f"fetch('{self.target}api/command', {{method: 'POST', credentials: 'include', "
            "mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, "
            "body: JSON.stringify({name: 'go'})}).finally(() => document.title = 'sent');"
            "</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cross_site_request_from_another_page_is_refused(panel, live, caplog):
    page = panel
    log_in(page, live)  # the browser holds a valid session cookie
    cue = live.player.status.cue
    _EvilPage.target = live.url
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _EvilPage)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_function("() => document.title === 'sent'")
    finally:
        evil.shutdown()
    time.sleep(0.2)  # frames run: a queued GO would have fired
    assert live.player.status.cue == cue
    assert "refused a request from a page of http://127.0.0.1:" in caplog.text


def test_a_page_that_loses_the_connection_says_so_and_reconnects(panel, live):
    page = panel
    log_in(page, live)
    page.wait_for_selector("#cue:not(:has-text('–'))")
    server = live.panel
    with server._clients_lock:
        sockets = [c.ws for c in server._clients]
    assert sockets
    for ws in sockets:  # the show's side drops the connection (a network loss looks the same)
        asyncio.run_coroutine_threadsafe(ws.close(), server._loop).result(5.0)
    page.wait_for_selector("#connection.down:has-text('reconnecting')")
    assert "offline" in page.get_attribute("body", "class")
    page.wait_for_selector("#connection.up")
    before = page.text_content("#cue")
    page.click("#go")  # and it works again
    page.wait_for_function("c => document.querySelector('#cue').textContent !== c", arg=before)


def test_the_operator_page_lists_the_render_nodes_with_their_health(panel, live, tmp_path):
    """Issue 12: node health on the operator page while a show runs on several machines
    (a real cluster controller with two render nodes on loopback, one clock 20 ms off)."""
    import socket

    from mapping.cluster.clock import OffsetClock
    from mapping.cluster.controller import ClusterController
    from mapping.cluster.node import RenderNode
    from mapping.show import load_show
    from tests.clusterkit import ReferenceClock, write_cluster_show

    ports = []
    for _ in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    addresses = {"left": f"127.0.0.1:{ports[0]}", "right": f"127.0.0.1:{ports[1]}"}
    show = load_show(write_cluster_show(tmp_path / "c", addresses))
    controller = ClusterController(show, 30.0, clock=ReferenceClock(), bind=("127.0.0.1", 0))
    late_clock = OffsetClock(ReferenceClock(), 0.02)
    nodes = [
        RenderNode(show, "left", ("127.0.0.1", ports[0]), clock=ReferenceClock()),
        RenderNode(show, "right", ("127.0.0.1", ports[1]), clock=late_clock),
    ]
    page = panel
    try:
        log_in(page, live)
        assert page.is_hidden("#nodes-section")  # a one-machine show has no nodes
        controller.start(0.0)
        for node in nodes:
            node.start()
        live.player.cluster = controller  # what ClusterController.attach sets
        page.wait_for_selector("#nodes tr[data-node='left'] td:has-text('ok')")
        page.wait_for_selector("#nodes tr[data-node='right'].node-warning")
        right = page.text_content("#nodes tr[data-node='right']")
        assert "20 ms" in right and "quarter frame" in right
        assert (
            page.get_attribute("#nodes tr[data-node='right'] td:nth-child(5)", "class") == "alarm"
        )
    finally:
        del live.player.cluster
        controller.close()
        for node in nodes:
            node.close()
