"""The live projector side: a pattern shown with WindowProjector reaches the X display exactly."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.test_window_output import xvfb_display  # noqa: F401  (fixture)

PROBE = """
import numpy as np
from calibration.structured_light import generate_patterns, native_layout
from calibration.window_projector import WindowProjector

layout = native_layout((64, 48), period_px=8)
patterns = generate_patterns(layout)
with WindowProjector(0, (64, 48)) as projector:
    for index in (2, 5, layout.columns.phase_indices[3]):
        projector.show(patterns[index])
        on_screen = projector.read_back()
        assert on_screen.shape == (48, 64, 3), on_screen.shape
        expected = np.repeat(patterns[index][:, :, None], 3, axis=2)
        assert np.array_equal(on_screen, expected), index
print("ok")
"""


def test_patterns_reach_the_display_pixel_for_pixel(xvfb_display):  # noqa: F811
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DISPLAY": xvfb_display},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
