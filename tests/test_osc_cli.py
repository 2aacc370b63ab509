"""run_show.py's OSC options: a port or interface it cannot use ends with a plain message."""

from __future__ import annotations

import os
import socket

from mapping.control.osc_codec import encode_message
from tests.osc_kit import OSC_SHOW, ShowProcess, UdpClient
from tests.test_cli import run_cli
from tests.test_window_output import xvfb_display  # noqa: F401 (a fixture)


def test_an_interface_osc_cannot_listen_on_is_a_plain_error_not_a_traceback():
    result = run_cli(
        "shows/demo", "--headless", "--osc-port", "0", "--osc-bind", "203.0.113.7", timeout=60
    )
    assert result.returncode == 1
    assert "OSC cannot listen on 203.0.113.7 port 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_named():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run_cli("shows/demo", "--headless", "--osc-port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"OSC cannot listen on 127.0.0.1 port {port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_osc_works_the_same_with_projector_windows(xvfb_display):  # noqa: F811
    env = {**os.environ, "DISPLAY": xvfb_display}
    with ShowProcess(
        str(OSC_SHOW), "--windowed", "--osc-port", "0", "--duration", "60", env=env
    ) as show:
        client = UdpClient(show.port)
        try:
            client.send(encode_message("/go"))
            assert client.wait_for("/reply/go", timeout_s=10) == ["ok", "2 clip"]
            client.send(encode_message("/quit"))
            assert show.proc.wait(timeout=10) == 0
        finally:
            client.close()
