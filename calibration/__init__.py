"""Projector calibration.

Calibration files today; patterns, capture, decoding and solvers to come.
"""
