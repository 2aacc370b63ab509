"""The render benchmark's claim "same picture" is checked: it fails when GL and CPU differ."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_render():
    sys.path.insert(0, str(REPO / "bench"))  # the scripts import their sibling _common
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_render", REPO / "bench" / "bench_render.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(REPO / "bench"))


ARGS = ["--frames", "1", "--warmup", "0", "--log-level", "WARNING"]


def test_the_benchmark_times_every_row_and_finds_the_same_picture(bench_render, capsys):
    assert bench_render.main(ARGS) == 0
    out = capsys.readouterr().out
    for row in ("GL render (ctx.finish)", "GL render + read_output", "CPU numpy + OpenCV"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert float(line.split()[-5]) > 0  # a mean time was measured
    check = next(line for line in out.splitlines() if line.startswith("GL vs CPU"))
    assert "left:" in check and "right:" in check


def test_the_benchmark_fails_when_the_cpu_picture_differs(bench_render, capsys, monkeypatch):
    real_warp = bench_render.geometry.warp_image_reference

    def warp_one_pixel_off(image, H, size):
        return np.roll(real_warp(image, H, size), 1, axis=1)

    monkeypatch.setattr(bench_render.geometry, "warp_image_reference", warp_one_pixel_off)
    assert bench_render.main(ARGS) == 1
    captured = capsys.readouterr()
    assert "FAIL: GL and CPU do not draw the same picture on left, right" in captured.err
    assert "CPU numpy + OpenCV" in captured.out  # the table is still printed


@pytest.mark.parametrize(
    ("mean", "share", "same"),
    [(0.36, 0.27, True), (0.5, 0.5, True), (0.51, 0.1, False), (0.1, 0.51, False)],
)
def test_same_picture_thresholds(bench_render, mean, share, same):
    assert bench_render.same_picture(mean, share, 0.5, 0.5) is same


def test_the_blend_benchmark_times_every_variant_against_plain(capsys):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_blend", REPO / "bench" / "bench_blend.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.main(["--frames", "1", "--warmup", "0", "--log-level", "WARNING"]) == 0
    finally:
        sys.path.remove(str(REPO / "bench"))
    out = capsys.readouterr().out
    for row in ("plain", "blend", "mesh 16×16", "colour + 33³ LUT", "all"):
        line = next(line for line in out.splitlines() if line.startswith(row + " "))
        assert float(line.split()[-1]) > 0  # a ratio to plain
    assert next(line for line in out.splitlines() if line.startswith("plain ")).endswith("1.00")
