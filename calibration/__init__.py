"""Projector calibration.

Calibration files (``store``) and automatic camera calibration: structured-light patterns,
cameras and capture, decoding, solving, and the ``calibrate`` command line
(``docs/calibration.md``).
"""
