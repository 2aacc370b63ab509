#!/usr/bin/env python3
"""Screenshots of the web panel's pages for docs/panel.md (run by hand after changing them).

Runs the demo show headless on its own render thread with the panel, opens it in Debian's
chromium (headless, through Playwright), logs in, presses GO, selects a corner, and saves
``docs/panel-login.png``, ``panel-operator.png`` (a phone), ``panel-technician.png`` and
``panel-show.png`` (a tablet)::

    .venv/bin/python scripts/panel_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.panelkit import TOKEN, LiveShowThread, demo_copy  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 420, "height": 900}
TABLET = {"width": 820, "height": 1000}


def main() -> int:
    from playwright.sync_api import sync_playwright

    docs = REPO / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        live = LiveShowThread(demo_copy(Path(tmp)), size=None).start()  # the real sizes
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=PHONE, device_scale_factor=1)
                page = context.new_page()
                page.goto(live.url + "operator")
                page.screenshot(path=docs / "panel-login.png")
                page.fill("#token", TOKEN)
                page.click("#login")
                page.wait_for_selector("#connection.up")
                page.click("#go")
                page.wait_for_selector("#cue:has-text('2 clip')")
                page.click("#cue-list li[data-cue='3']")
                page.wait_for_function(
                    "() => document.querySelector('#thumb-right') && "
                    "document.querySelector('#thumb-right').naturalWidth > 0"
                )
                time.sleep(0.7)  # the fade is under way
                page.screenshot(path=docs / "panel-operator.png", full_page=True)
                page.set_viewport_size(TABLET)
                page.goto(live.url + "technician")
                page.wait_for_selector("#connection.up")
                page.select_option("#tech-output", "left")
                page.select_option("#tech-surface", "left-wing")
                page.wait_for_selector("#corner-0.on")
                page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    "() => document.querySelector('#tech-thumb').naturalWidth > 0"
                )
                page.wait_for_selector("#residuals tr")
                page.screenshot(path=docs / "panel-technician.png", full_page=True)
                page.goto(live.url + "show")
                page.wait_for_selector("#media tr")
                page.screenshot(path=docs / "panel-show.png", full_page=True)
                browser.close()
        finally:
            live.stop()
    for name in ("login", "operator", "technician", "show"):
        file = docs / f"panel-{name}.png"
        print(f"{file.relative_to(REPO)}: {file.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
