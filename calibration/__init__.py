"""Projector calibration: calibration files today; patterns, capture, decoding and solvers to come."""
