"""``run_show.py calibrate …``: the calibration command line, one module per kind of work.

* :mod:`calibration.cli_camera` — ``patterns``, ``capture``, ``decode``, ``solve``
  (automatic calibration with a camera and structured light);
* :mod:`calibration.cli_files` — ``history`` (list and restore earlier versions) and
  ``fit`` (point pairs with every point's residual).

Each module adds its subcommands and runs them with its own error reporting: a plain
message and a non-zero exit, never a traceback; a failed run never writes a calibration file.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_calibrate_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``calibrate`` and every subcommand to ``run_show.py``'s subparsers."""
    from calibration import cli_camera, cli_files

    calibrate = sub.add_parser(
        "calibrate",
        help="calibration: patterns, capture, decode, solve, fit, history",
    )
    commands = calibrate.add_subparsers(
        dest="calibrate_command", required=True, metavar="SUBCOMMAND"
    )
    before = set(commands.choices)
    cli_camera.add_commands(commands)
    for name in set(commands.choices) - before:
        commands.choices[name].set_defaults(calibrate_run=cli_camera.run)
    before = set(commands.choices)
    cli_files.add_commands(commands)
    for name in set(commands.choices) - before:
        commands.choices[name].set_defaults(calibrate_run=cli_files.run)
    return calibrate


def run(args: argparse.Namespace) -> int:
    """Run the parsed ``calibrate`` subcommand; returns the exit status."""
    return int(args.calibrate_run(args))
