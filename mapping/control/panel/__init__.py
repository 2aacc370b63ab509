"""The web panel: operators and technicians drive the running show from a browser.

:mod:`.security` (tokens, sessions, CSRF, rate limits; pure), :mod:`.state` (the panel's
view of the live show and its per-frame differences; pure), :mod:`.server` (the aiohttp
server on its own thread, thumbnails, WebSocket pushes) and ``static/`` (the pages: plain
HTML, CSS and JavaScript served by the show itself). ``docs/panel.md`` is the user guide.
"""

from mapping.control.panel.server import (
    DEFAULT_PANEL_BIND,
    DEFAULT_PANEL_PORT,
    PanelServer,
    start_for_show,
)

__all__ = ["DEFAULT_PANEL_BIND", "DEFAULT_PANEL_PORT", "PanelServer", "start_for_show"]
