"""The one error type of automatic calibration: a message that tells the technician what to fix.

:class:`CalibrationError` is raised by capture, decoding and solving for bad input (wrong
number or size of captures, covered lens, overexposure, a projector that never changed,
too few or collinear points, a camera that cannot be opened). Its text is written for the
person at the facade: what was found, and what to do about it. The CLI prints it and exits
non-zero without a traceback.
"""

from __future__ import annotations


class CalibrationError(Exception):
    """Bad calibration input; ``str(error)`` says what was found and what to fix."""
