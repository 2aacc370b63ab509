"""Who may use the web panel (pure, no sockets): the access token, sessions, CSRF, rate limits.

* The **access token** is set by the technician (``--panel-token``, or the environment
  variable ``MAPPING_PANEL_TOKEN``); when none is set a random one is made at the first
  start, kept in the state folder's ``panel-token`` file (owner-only) for later starts, and
  logged (:func:`resolve_token`). It is compared in constant time.
* Logging in with the token opens a **session**: a random id in an ``HttpOnly``,
  ``SameSite=Strict`` cookie, and a separate random **CSRF token** that the page sends in
  the ``X-CSRF-Token`` header of every POST and in the WebSocket URL. A session expires
  after ``ttl_s`` (an evening) and after ``idle_s`` without a request; at most
  ``MAX_SESSIONS`` are kept (the oldest goes).
* **Cross-site requests**: a request whose ``Origin`` is another site is refused
  (:func:`same_origin`); a request with no ``Origin`` (a script, curl) must still carry the
  CSRF token of a session.
* **Rate limits**: each session may send ``COMMANDS_PER_S`` commands a second (a burst of
  ``COMMAND_BURST``); each client address may fail ``LOGIN_FAILURES`` logins a minute
  before further tries are refused without being checked.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TOKEN_ENV = "MAPPING_PANEL_TOKEN"
SESSION_COOKIE = "panel_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 12 * 3600.0
SESSION_IDLE_S = 4 * 3600.0
MAX_SESSIONS = 64
COMMANDS_PER_S = 20.0
COMMAND_BURST = 40.0
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
MIN_TOKEN_LENGTH = 8


def resolve_token(
    given: str | None,
    environ: Mapping[str, str] | None = None,
    token_file: Path | None = None,
) -> tuple[str, bool]:
    """The access token and whether it was generated: ``given`` (``--panel-token``), else
    ``$MAPPING_PANEL_TOKEN``, else the one in ``token_file`` (made by an earlier run, so a
    show restarted by its supervisor keeps its token), else a new random one (written to
    ``token_file``, readable by its owner only). A token shorter than ``MIN_TOKEN_LENGTH``
    characters is refused with ValueError."""
    env = os.environ if environ is None else environ
    token = given if given else env.get(TOKEN_ENV, "")
    if token:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the panel token must be at least {MIN_TOKEN_LENGTH} characters long")
        return token, False
    if token_file is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            saved = token_file.read_text(encoding="utf-8").strip()
            if len(saved) >= MIN_TOKEN_LENGTH:
                return saved, True
    token = secrets.token_urlsafe(9)
    if token_file is not None:
        try:
            token_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(token + "\n")
        except OSError:  # the token is still logged; it only changes at the next start
            pass
    return token, True


def token_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a request's ``Origin`` header allows it: absent (not a browser page), or the
    page's own scheme-less host:port. ``null`` (sandboxed frames, files) is refused."""
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


class TokenBucket:
    """``rate`` events per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    last_seen: float
    peer: str
    commands: TokenBucket
    expires: float = field(default=0.0)


class Sessions:
    """The open sessions, their CSRF tokens, expiry and rate limits (thread-safe enough: only
    the panel's event loop touches it)."""

    def __init__(
        self,
        *,
        ttl_s: float = SESSION_TTL_S,
        idle_s: float = SESSION_IDLE_S,
        rate: float = COMMANDS_PER_S,
        burst: float = COMMAND_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s, self.idle_s = ttl_s, idle_s
        self.rate, self.burst = rate, burst
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, peer: str) -> Session:
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(24),
            now,
            now,
            peer,
            TokenBucket(self.rate, self.burst, self.clock),
            now + self.ttl_s,
        )
        self._sessions[session.id] = session
        while len(self._sessions) > MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this cookie value (its idle timer restarts), or None."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now >= session.expires or now - session.last_seen >= self.idle_s:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def alive(self, session_id: str) -> bool:
        """Whether the session is still open (without restarting its idle timer)."""
        session = self._sessions.get(session_id)
        now = self.clock()
        return (
            session is not None and now < session.expires and now - session.last_seen < self.idle_s
        )

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def csrf_ok(self, session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(session.csrf.encode(), str(given).encode())

    # -- login attempts

    def login_blocked(self, peer: str) -> bool:
        """Whether ``peer`` failed ``LOGIN_FAILURES`` logins in the last minute."""
        now = self.clock()
        recent = [t for t in self._failures.get(peer, []) if now - t < LOGIN_WINDOW_S]
        if recent:
            self._failures[peer] = recent
        else:
            self._failures.pop(peer, None)
        return len(recent) >= LOGIN_FAILURES

    def login_failed(self, peer: str) -> None:
        self._failures.setdefault(peer, []).append(self.clock())
        if len(self._failures) > 1000:  # a scan of many addresses: forget the oldest
            del self._failures[next(iter(self._failures))]
