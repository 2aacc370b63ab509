"""Shared fixtures: one headless EGL context per test session, GL errors checked per test.

A missing GL context is an error here: GL tests must run in CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import moderngl
import pytest
from hypothesis import settings

from mapping.gl.context import create_headless_context

# Hypothesis: the default profile keeps the suite fast; HYPOTHESIS_PROFILE=thorough runs
# many more examples (minutes) before a release or after touching the pure core.
settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
"""In CI nothing may skip for want of shared/ data or a machine capability: it fails instead."""


REALTIME_MODULES = frozenset(
    {
        "test_sound_output",  # clicks heard at their show times through JACK
        "test_sound_live",
        "test_sound_mixer",
        "test_sound_show",
        "test_cluster",  # nodes frame-locked through a lossy relay
        "test_cluster_netns",
        "test_cluster_evening",
        "test_cluster_reload",
        "test_bench_cluster",
        "test_clock_daemons",  # chronyd and ptp4l measuring offsets
    }
)
"""Test modules that measure real time (not those that only bound a wait generously, nor
the player's frame slots, which run on a test clock). The suite runs on pytest-xdist workers
(``-n 4 --dist loadgroup``, pyproject.toml); these modules share the xdist group
``realtime``, so they run one after another on one worker and never two at once, while the
other workers run the rest."""


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in REALTIME_MODULES:
            item.add_marker(pytest.mark.xdist_group("realtime"))
        elif item.path.stem == "test_panel_browser":  # one browser, not one per worker
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs in tests keep their journal, status file and evening logs in a temporary
    folder, never in the user's ~/.local/state."""
    state = tmp_path_factory.mktemp("xdg-state")
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    os.environ.pop("STATE_DIRECTORY", None)
    yield state
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(scope="session")
def gl_session() -> Iterator[moderngl.Context]:
    ctx = create_headless_context()
    yield ctx
    ctx.release()


@pytest.fixture
def ctx(gl_session: moderngl.Context) -> Iterator[moderngl.Context]:
    """The session's GL context, with GL errors checked before and after the test."""
    assert gl_session.error == "GL_NO_ERROR"
    yield gl_session
    assert gl_session.error == "GL_NO_ERROR"


@pytest.fixture
def show_dir(tmp_path: Path) -> Path:
    """A private copy of the demo show, with the venue's calibration folder beside it."""
    shutil.copytree(REPO / "shows" / "demo", tmp_path / "demo")
    shutil.copytree(REPO / "shows" / "calibrations", tmp_path / "calibrations")
    return tmp_path / "demo"


@pytest.fixture(scope="session")
def jack_server() -> Iterator[object]:
    """A real JACK server with the dummy driver (no sound card), PortAudio re-scanned so its
    JACK host API offers it (tests/jackkit.py)."""
    from tests.jackkit import JackServer

    if shutil.which("jackd") is None and not IN_CI:
        pytest.skip("jackd not installed (scripts/setup.sh installs jackd2)")
    with JackServer() as server:
        yield server
