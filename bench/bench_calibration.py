"""Automatic calibration: accuracy on simulated venues, real captures, and decode speed.

What it measures
    (a) Simulated accuracy. A projector (default 1024×768) lights a planar facade seen by a
        camera (default 1280×960) with barrel distortion; the native sequence (complementary
        Gray code + 8-step fringes, period 16 px) is rendered by
        ``calibration.camera.FacadeScene`` under each condition, decoded, and solved with the
        true lens model (as from a camera calibration file) and exact surface marks. The fitted
        ``H_canvas_to_projector`` is compared with the true one on a 21×21 grid across the
        surface (projector px, RMS and max). Extra rows: no lens model, a lens model estimated
        from the correspondences. Beside them, two baselines on the same surface: the
        4-corner manual pin with 1 px click noise (each corner off by a normal error of
        σ = 1 projector px per axis; 500 trials: mean per-trial RMS, mean per-trial max,
        worst max), and the automatic fit with the same 1 px click noise on the four camera
        marks (what a technician clicking corners in the camera image adds).
    (b) Real captures (``../shared/data/graycode-real``, OpenCV order, 1-pixel stripes, no
        fringes): valid fraction (noise-aware and fixed thresholds), the homography of the
        9×7 chessboard plane (corners from ``cv2.findChessboardCorners`` on the white
        capture, their projector positions from local fits to the decoded pixels): fit and
        held-out residual (3×3 checkerboard blocks), and the dense held-out residual of every
        decoded pixel on the board.
    (c) Decode time for a 1920×1080 projector seen by a 1920×1080 camera (simulated
        captures, in memory, both layouts), best and median of ``--repeats`` runs. Beside it,
        OpenCV contrib's ``GrayCodePattern`` on the same OpenCV-order captures, in the same
        run: ``getProjPixel`` called pixel by pixel from Python on a random sample of camera
        pixels (time extrapolated to the full frame) and its C++ ``decode`` (it decodes two
        cameras; it is given the same captures twice). Contrib must not enter the project's
        environment: it runs in a subprocess of a separate venv (``--contrib-venv``, default
        ``/tmp/bench-contrib-venv``, created with ``python -m venv`` + ``pip install
        opencv-contrib-python-headless numpy`` when missing; ``--no-contrib`` skips it).

Run ``python bench/bench_calibration.py [--quick]``; ``--quick`` uses smaller framebuffers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import format_table
from calibration.camera import render_sequence
from calibration.decode import decode
from calibration.simulation import default_scene, mapping_error_px
from calibration.solve import (
    estimate_radial_distortion,
    fit_camera_to_projector,
    fit_canvas_to_camera,
    projector_points_at,
    sample_correspondences,
    solve_surface,
)
from calibration.structured_light import (
    generate_patterns,
    native_layout,
    opencv_layout,
)
from mapping.geometry import apply_homography, homography_from_points

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "graycode-real" / "capture_0"


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


def _texture(camera_size: tuple[int, int]) -> np.ndarray:
    w, h = camera_size
    noise = np.random.default_rng(5).random((h // 4, w // 4)).astype(np.float32)
    smooth = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2), (w, h))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.where(smooth < 0.35, 0.08, 0.9).astype(np.float32)


def _window(projector: tuple[int, int], camera: tuple[int, int]) -> dict:
    w, h = camera
    scene, _ = default_scene(projector, camera)
    recess = np.array([[1.02, 0, 0.02 * w], [0, 1.02, 0.015 * h], [0, 0, 1]])
    return {
        "window_polygon_camera_px": np.array(
            [[0.42 * w, 0.38 * h], [0.56 * w, 0.38 * h], [0.56 * w, 0.58 * h], [0.42 * w, 0.58 * h]]
        ),
        "H_projector_to_camera_window": recess @ scene.H_projector_to_camera,
    }


def section_a(projector: tuple[int, int], camera: tuple[int, int], seed: int) -> str:
    moderate = {"blur_px": 1.0, "noise_read": 1.0, "noise_shot": 0.05, "ambient": 10.0}
    conditions: list[tuple[str, dict, str]] = [
        ("moderate (blur 1, noise 1+shot, ambient 10, vignette 20 %, γ 2.2)", {}, "truth"),
        ("  same, no lens model", {}, "none"),
        ("  same, lens estimated from correspondences", {}, "estimate"),
        ("sharp, clean", {"blur_px": 0.3, "noise_read": 0.5, "noise_shot": 0.0}, "truth"),
        ("blur 2.5 px", {"blur_px": 2.5}, "truth"),
        ("noise ×4 (read 4, shot 0.2)", {"noise_read": 4.0, "noise_shot": 0.2}, "truth"),
        ("ambient 60 (of 150 signal)", {"ambient": 60.0, "exposure": 150.0}, "truth"),
        ("vignetting 50 %", {"vignetting": 0.5}, "truth"),
        ("gamma 2.8", {"gamma": 2.8}, "truth"),
        ("strong barrel k1 -0.3", {"distortion": (-0.3, 0.1, 0.0, 0.0)}, "truth"),
        ("recessed window in the surface", {"window": True}, "truth"),
        ("textured facade (albedo 0.08 / 0.9)", {"albedo": True}, "truth"),
    ]
    layout = native_layout(projector)
    patterns = generate_patterns(layout)
    rows = []
    rng = np.random.default_rng(seed)
    for label, options, lens in conditions:
        opts = {**moderate, **options}
        distortion = opts.pop("distortion", (-0.12, 0.03, 0.0, 0.0))
        if opts.pop("window", False):
            opts.update(_window(projector, camera))
        if opts.pop("albedo", False):
            opts["albedo"] = _texture(camera)
        scene, truth = default_scene(projector, camera, distortion=distortion, **opts)
        captures = render_sequence(scene, patterns, seed=seed)
        corr = decode(captures, layout)
        model = truth.camera_model
        if lens == "none":
            model = None
        elif lens == "estimate":
            cam, proj = sample_correspondences(corr, truth.surface_camera_px)
            model = estimate_radial_distortion(cam, proj, corr.camera_size)
        solution = solve_surface(
            corr,
            name="facade",
            output="main",
            points_canvas_px=truth.surface_canvas_px,
            points_camera_px=truth.surface_camera_px,
            camera_model=model,
        )
        error = mapping_error_px(solution.H_canvas_to_projector, truth)
        # Same decode, four camera marks clicked with 1 px noise (200 trials).
        noisy = []
        for _ in range(200):
            marks = truth.surface_camera_px + rng.normal(0, 1.0, truth.surface_camera_px.shape)
            H_canvas_to_camera = fit_canvas_to_camera(
                truth.surface_canvas_px, marks, camera_model=model
            )
            H = solution.H_camera_to_projector @ H_canvas_to_camera
            noisy.append(mapping_error_px(H / H[2, 2], truth))
        noisy_arr = np.array(noisy)
        rows.append(
            [
                label,
                f"{100 * corr.valid_fraction:.1f}",
                f"{solution.fit.held_out.rms_px:.3f}",
                f"{_rms(error):.4f}",
                f"{error.max():.4f}",
                f"{np.mean([_rms(e) for e in noisy_arr]):.3f}",
                f"{np.mean(noisy_arr.max(axis=1)):.3f}",
            ]
        )
        logging.info("(a) %s done", label.strip())

    # Manual 4-corner pin: the projector-space corners dragged to the facade corners.
    _, truth = default_scene(projector, camera)
    corners_projector_px = apply_homography(truth.H_canvas_to_projector, truth.surface_canvas_px)
    trials = []
    for _ in range(500):
        clicked = corners_projector_px + rng.normal(0, 1.0, corners_projector_px.shape)
        H = homography_from_points(truth.surface_canvas_px, clicked)
        trials.append(mapping_error_px(H, truth))
    pin = np.array(trials)
    pin_text = (
        f"4-corner manual pin, 1 px click noise (σ = 1 px per axis, 500 trials): "
        f"mean RMS {np.mean([_rms(t) for t in pin]):.3f} px, mean max {np.mean(pin.max(1)):.3f} "
        f"px, worst max {pin.max():.3f} px"
    )
    headers = [
        "condition",
        "valid %",
        "held-out RMS",
        "map RMS",
        "map max",
        "+1px marks RMS",
        "+1px marks max",
    ]
    return "\n".join(
        [
            f"(a) simulated accuracy: projector {projector[0]}x{projector[1]}, camera "
            f"{camera[0]}x{camera[1]}, native layout ({layout.count} frames), projector px",
            format_table(headers, rows),
            pin_text,
            "target (moderate, lens distortion present): map RMS <= 0.10 px, max <= 0.25 px",
        ]
    )


def section_b() -> str:
    if not REAL.is_dir():
        return f"(b) real captures: skipped, {REAL} not found"
    files = sorted(REAL.glob("*.png"), key=lambda p: int("".join(filter(str.isdigit, p.name))))
    captures = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in files]
    layout = opencv_layout((1024, 768))
    corr = decode(captures, layout)
    fixed = decode(captures, layout, noise_aware=False)
    white = captures[layout.white_index]
    found, corners = cv2.findChessboardCorners(white, (9, 7))
    rows = [
        ["valid fraction (noise-aware thresholds)", f"{corr.valid_fraction:.3f}"],
        ["valid fraction (fixed: shadow 40, bit 5)", f"{fixed.valid_fraction:.3f}"],
        ["decode time (1280x1024, 42 frames)", f"{corr.decode_s:.3f} s"],
    ]
    if found:
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 50, 1e-3)
        corners = cv2.cornerSubPix(white, corners, (5, 5), (-1, -1), criteria)
        corners_camera_px = corners.reshape(-1, 2).astype(np.float64) + 0.5
        corners_projector_px = projector_points_at(corr, corners_camera_px)
        ok = np.isfinite(corners_projector_px[:, 0])
        fit = fit_camera_to_projector(corners_camera_px[ok], corners_projector_px[ok], blocks=3)
        hull = cv2.convexHull(corners_camera_px.astype(np.float32)).reshape(-1, 2)
        cam, proj = sample_correspondences(corr, hull)
        dense = fit_camera_to_projector(cam, proj)
        rows += [
            ["chessboard corners used", f"{int(ok.sum())} / 63"],
            ["chessboard homography fit residual", f"RMS {fit.fit.rms_px:.3f}, max "
             f"{fit.fit.max_px:.3f} px"],
            ["chessboard held-out residual (3x3 blocks)", f"RMS {fit.held_out.rms_px:.3f}, max "
             f"{fit.held_out.max_px:.3f} px"],
            ["dense pixels on the board, held-out (4x4)", f"RMS {dense.held_out.rms_px:.3f}, "
             f"max {dense.held_out.max_px:.3f} px ({dense.held_out.points} pts)"],
        ]  # fmt: skip
    else:
        rows.append(["chessboard", "not found"])
    return "\n".join(
        ["(b) real captures (graycode-real/capture_0)", format_table(["measure", "value"], rows)]
    )


CONTRIB_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, cv2
    data = np.load(sys.argv[1])
    caps, sample = data["captures"], data["sample"]
    width, height = int(data["projector"][0]), int(data["projector"][1])
    pats = [c for c in caps[:-2]]
    white, black = caps[-2], caps[-1]
    g = cv2.structured_light.GrayCodePattern.create(width, height)
    g.setWhiteThreshold(5)
    g.setBlackThreshold(40)
    t0 = time.perf_counter()
    out = []
    for x, y in sample:
        err, pix = g.getProjPixel(pats, int(x), int(y))
        lit = int(white[y, x]) - int(black[y, x]) > 40
        out.append((0 if err or not lit else 1, pix[0], pix[1]))
    per_pixel = (time.perf_counter() - t0) / len(sample)
    t0 = time.perf_counter()
    try:
        ok, disparity = g.decode([pats, pats], None, [black, black], [white, white],
                                 cv2.structured_light.DECODE_3D_UNDERWORLD)
        full = time.perf_counter() - t0
    except cv2.error as exc:
        full = None
    print(json.dumps({"per_pixel_s": per_pixel, "decode_s": full, "pixels": out,
                      "version": cv2.__version__}))
    """
)


def _contrib_python(venv: Path) -> Path | None:
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import cv2; cv2.structured_light.GrayCodePattern"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    logging.info("creating %s with opencv-contrib-python-headless (bench only)", venv)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "opencv-contrib-python-headless", "numpy"],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        logging.warning("could not set up %s: %s", venv, exc)
        return None
    ok = subprocess.run(probe, capture_output=True).returncode == 0
    return python if ok else None


def section_c(size: tuple[int, int], repeats: int, contrib_venv: Path | None, seed: int) -> str:
    rows = []
    notes = []
    opencv_captures = None
    opencv_corr = None
    for kind in ("native", "opencv"):
        layout = native_layout(size) if kind == "native" else opencv_layout(size)
        scene, _ = default_scene(size, size, supersample=1)
        captures = render_sequence(scene, generate_patterns(layout), seed=seed)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            corr = decode(captures, layout)
            times.append(time.perf_counter() - t0)
        rows.append(
            [
                f"facade-mapper decode, {kind} layout ({layout.count} frames)",
                f"{min(times):.3f}",
                f"{np.median(times):.3f}",
                f"{100 * corr.valid_fraction:.1f}",
            ]
        )
        if kind == "opencv":
            opencv_captures, opencv_corr = captures, corr
    if contrib_venv is None:
        notes.append("OpenCV contrib column skipped (--no-contrib)")
    else:
        python = _contrib_python(contrib_venv)
        if python is None:
            notes.append(f"OpenCV contrib column skipped: no usable venv at {contrib_venv}")
        else:
            assert opencv_captures is not None and opencv_corr is not None
            rng = np.random.default_rng(seed)
            w, h = size
            sample = np.stack([rng.integers(0, w, 20000), rng.integers(0, h, 20000)], axis=1)
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "captures.npz"
                np.savez(
                    data,
                    captures=np.stack(opencv_captures),
                    sample=sample,
                    projector=np.array(size),
                )
                script = Path(tmp) / "contrib.py"
                script.write_text(CONTRIB_SCRIPT)
                proc = subprocess.run(
                    [str(python), str(script), str(data)], capture_output=True, text=True
                )
            if proc.returncode != 0:
                notes.append(f"OpenCV contrib run failed: {proc.stderr.strip()[-300:]}")
            else:
                result = json.loads(proc.stdout)
                per_pixel = result["per_pixel_s"]
                rows.append(
                    [
                        f"OpenCV contrib {result['version']} getProjPixel, pixel by pixel "
                        "(extrapolated from 20000)",
                        f"{per_pixel * w * h:.1f}",
                        "",
                        "",
                    ]
                )
                if result["decode_s"] is not None:
                    rows.append(
                        [
                            "OpenCV contrib decode() in C++ (two cameras: captures given twice)",
                            f"{result['decode_s']:.2f}",
                            "",
                            "",
                        ]
                    )
                pixels = np.array(result["pixels"], dtype=np.float64)
                theirs_ok = pixels[:, 0] == 1
                ours = opencv_corr.proj_xy[sample[:, 1], sample[:, 0]]
                both = theirs_ok & np.isfinite(ours[:, 0])
                diff = np.abs(ours[both] - (pixels[both, 1:] + 0.5))
                notes.append(
                    f"on the 20000 sampled pixels: contrib decoded {100 * theirs_ok.mean():.1f} %, "
                    f"facade-mapper {100 * np.isfinite(ours[:, 0]).mean():.1f} %; where both did, "
                    f"{100 * np.mean(np.all(diff <= 0.5, axis=1)):.2f} % agree within 0.5 px "
                    "(facade-mapper puts edge pixels on the stripe edge, contrib on a centre)"
                )
    headers = ["decoder", "best s", "median s", "valid %"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return "\n".join(
        [
            f"(c) decode time: {size[0]}x{size[1]} projector seen by a {size[0]}x{size[1]} "
            f"camera, captures in memory, {repeats} runs; {os.cpu_count()} CPU cores, "
            f"load average {load} (other work on the machine slows every row)",
            format_table(headers, rows),
            *notes,
            "target: facade-mapper decode under 1 s",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller framebuffers")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contrib-venv", type=Path, default=Path("/tmp/bench-contrib-venv"))
    parser.add_argument("--no-contrib", action="store_true")
    parser.add_argument("--only", choices=("a", "b", "c"), help="run one section")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    machine = platform.processor() or platform.machine()
    versions = f"numpy {np.__version__}, OpenCV {cv2.__version__}"
    print(f"bench_calibration on {machine}, {os.cpu_count()} cores, {versions}\n")
    projector, camera = ((512, 384), (640, 480)) if args.quick else ((1024, 768), (1280, 960))
    decode_size = (960, 540) if args.quick else (1920, 1080)
    if args.only in (None, "a"):
        print(section_a(projector, camera, args.seed), "\n", flush=True)
    if args.only in (None, "b"):
        print(section_b(), "\n", flush=True)
    if args.only in (None, "c"):
        venv = None if args.no_contrib else args.contrib_venv
        print(section_c(decode_size, args.repeats, venv, args.seed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
