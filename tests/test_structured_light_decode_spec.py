"""Decoding specified bit by bit: tiny captures built from literal Gray-code tables.

The captures here are written out from the reflected Gray code tables below (not from
``calibration.structured_light``), in the OpenCV layout's frame order, with a camera that
sees the projector 1:1. Every expected position, confidence and rejection is worked out in
the test from the decoder's specification (module docstring of ``calibration.decode``):
a bit is the sign of ``pattern − inverse``, ambiguous below ``ceil(k_sigma·√2·σ)``; one
ambiguous bit whose other reading is the adjacent stripe puts the pixel on that edge;
confidence is ``snr / (snr + 10)`` of the weakest decision.
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings

import numpy as np
import pytest

from calibration.decode import (
    Correspondences,
    NoiseModel,
    check_white_black,
    decode,
    estimate_noise,
    to_grey,
)
from calibration.errors import CalibrationError
from calibration.structured_light import native_layout, opencv_layout

# Reflected binary Gray code, most significant bit first, written out by hand.
GRAY_3 = ["000", "001", "011", "010", "110", "111", "101", "100"]  # columns 0..7
GRAY_2 = ["00", "01", "11", "10"]  # rows 0..3
LAYOUT = opencv_layout((8, 4))  # frames: 3 column pairs, 2 row pairs, white, black
WHITE, BLACK = 200, 20
COL_LO, COL_HI = 30, 180  # column stripes: |pattern − inverse| = 150
ROW_LO, ROW_HI = 60, 150  # row stripes: 90


def captures() -> list[np.ndarray]:
    """The 12 frames a 1:1 camera (4 rows × 8 columns) sees, in the OpenCV order."""
    frames = []
    for bit in range(3):
        on = np.array([[int(GRAY_3[c][bit]) for c in range(8)] for _ in range(4)], bool)
        frames += [np.where(on, COL_HI, COL_LO), np.where(on, COL_LO, COL_HI)]
    for bit in range(2):
        on = np.array([[int(GRAY_2[r][bit])] * 8 for r in range(4)], bool)
        frames += [np.where(on, ROW_HI, ROW_LO), np.where(on, ROW_LO, ROW_HI)]
    frames += [np.full((4, 8), WHITE), np.full((4, 8), BLACK)]
    return [f.astype(np.uint8) for f in frames]


def conf(weakest_diff: float, sigma: float = 1.0) -> float:
    snr = weakest_diff / (math.sqrt(2.0) * sigma)
    return snr / (snr + 10.0)


def centres() -> np.ndarray:
    return np.stack(np.meshgrid(np.arange(8) + 0.5, np.arange(4) + 0.5), axis=-1)


def test_the_layout_under_test_is_the_literal_frame_order():
    assert [p for pair in LAYOUT.columns.gray_pairs for p in pair] == [0, 1, 2, 3, 4, 5]
    assert [p for pair in LAYOUT.rows.gray_pairs for p in pair] == [6, 7, 8, 9]
    assert (LAYOUT.white_index, LAYOUT.black_index, LAYOUT.count) == (10, 11, 12)


def test_clean_gray_code_decodes_every_pixel_to_its_centre_with_the_weakest_confidence():
    before = time.perf_counter()
    corr = decode(captures(), LAYOUT)
    took = time.perf_counter() - before
    np.testing.assert_array_equal(corr.proj_xy, centres().astype(np.float32))
    # Too few samples for a noise model: σ = 1 everywhere; rows are the weaker axis (90).
    np.testing.assert_allclose(corr.confidence, conf(90), rtol=1e-6)
    assert corr.projector_size == (8, 4)
    assert corr.camera_size == (8, 4)
    assert corr.valid_fraction == 1.0
    assert 0 < corr.decode_s <= took  # the time decode() took


def test_the_weaker_axis_sets_the_confidence_whichever_it_is():
    frames = captures()
    for p, q in LAYOUT.rows.gray_pairs:  # rows now stronger (150) than columns (120)
        frames[p] = np.where(frames[p] == ROW_HI, 180, 30).astype(np.uint8)
        frames[q] = np.where(frames[q] == ROW_HI, 180, 30).astype(np.uint8)
    for p, q in LAYOUT.columns.gray_pairs:
        frames[p] = np.where(frames[p] == COL_HI, 160, 40).astype(np.uint8)
        frames[q] = np.where(frames[q] == COL_HI, 160, 40).astype(np.uint8)
    corr = decode(frames, LAYOUT)
    np.testing.assert_array_equal(corr.proj_xy, centres().astype(np.float32))
    np.testing.assert_allclose(corr.confidence, conf(120), rtol=1e-6)


def _set_pair(frames, axis_pairs, bit, pixel, pattern, inverse):
    p, q = axis_pairs[bit]
    frames[p][pixel] = pattern
    frames[q][pixel] = inverse


def test_one_ambiguous_bit_between_adjacent_stripes_decodes_to_their_edge():
    frames = captures()
    cols = LAYOUT.columns.gray_pairs
    # Column 2 (011) and column 3 (010) differ only in the last bit: undecided there.
    _set_pair(frames, cols, 2, (0, 2), 100, 100)
    # Column 3 (010) read with an undecided last bit: 010 or 011, edge at x = 3 again.
    _set_pair(frames, cols, 2, (1, 3), 100, 97)
    # Column 4 (110) / column 3 (010) differ in the first bit: edge at x = 4.
    _set_pair(frames, cols, 0, (2, 4), 101, 99)
    rows = LAYOUT.rows.gray_pairs
    # Row 1 (01) / row 2 (11) differ in the first bit: edge at y = 2.
    _set_pair(frames, rows, 0, (1, 6), 100, 100)
    corr = decode(frames, LAYOUT)
    expected = centres()
    expected[0, 2, 0] = 3.0
    expected[1, 3, 0] = 3.0
    expected[2, 4, 0] = 4.0
    expected[1, 6, 1] = 2.0
    np.testing.assert_array_equal(corr.proj_xy, expected.astype(np.float32))
    # The undecided bit is left out of the weakest decision: rows (90) still set it.
    assert np.all(corr.confidence == np.float32(conf(90)))


def test_ambiguous_bits_that_could_mean_a_distant_stripe_reject_the_pixel():
    frames = captures()
    cols = LAYOUT.columns.gray_pairs
    _set_pair(frames, cols, 0, (1, 1), 100, 100)  # 001 or 101: column 1 or column 6
    _set_pair(frames, cols, 1, (2, 5), 100, 100)  # 111 with two bits undecided
    _set_pair(frames, cols, 2, (2, 5), 100, 100)
    _set_pair(frames, cols, 0, (3, 6), 102, 98)  # |Δ| = 4 < ceil(3·√2) = 5: undecided
    _set_pair(frames, cols, 0, (3, 7), 103, 98)  # |Δ| = 5: decided, the weakest decision
    corr = decode(frames, LAYOUT)
    rejected = [(1, 1), (2, 5), (3, 6)]
    for pixel in rejected:
        assert np.all(np.isnan(corr.proj_xy[pixel])), pixel
        assert corr.confidence[pixel] == 0.0
    np.testing.assert_array_equal(corr.proj_xy[3, 7], [7.5, 3.5])
    assert corr.confidence[3, 7] == pytest.approx(conf(5), rel=1e-6)
    others = np.ones((4, 8), bool)
    for pixel in [*rejected, (3, 7)]:
        others[pixel] = False
    np.testing.assert_array_equal(corr.proj_xy[others], centres()[others].astype(np.float32))
    assert corr.valid_fraction == pytest.approx(29 / 32)


def test_shadow_needs_k_sigma_noise_and_the_minimum_contrast():
    frames = captures()
    white, black = frames[LAYOUT.white_index], frames[LAYOUT.black_index]
    # k_sigma = 3, σ = 1: white − black must exceed 3·√2 = 4.24 (and reach 4).
    white[0, 0], black[0, 0] = 24, 20  # 4: shadow
    white[0, 1], black[0, 1] = 25, 20  # 5: lit
    corr = decode(frames, LAYOUT)
    assert np.all(np.isnan(corr.proj_xy[0, 0])) and corr.confidence[0, 0] == 0
    np.testing.assert_array_equal(corr.proj_xy[0, 1], [1.5, 0.5])

    # k_sigma = 1: the noise allows 1.42, the minimum contrast (4 levels) decides.
    white[0, 0], black[0, 0] = 23, 20  # 3 < 4: shadow
    white[0, 1], black[0, 1] = 24, 20  # 4: lit
    corr = decode(frames, LAYOUT, k_sigma=1.0)
    assert np.all(np.isnan(corr.proj_xy[0, 0]))
    np.testing.assert_array_equal(corr.proj_xy[0, 1], [1.5, 0.5])
    corr = decode(frames, LAYOUT, k_sigma=1.0, min_contrast=5.0)
    assert np.all(np.isnan(corr.proj_xy[0, 1]))
    # k_sigma = 1: a difference of 2 levels (≥ ceil(√2)) is a decided bit.
    _set_pair(frames, LAYOUT.columns.gray_pairs, 0, (2, 2), 99, 101)
    corr = decode(frames, LAYOUT, k_sigma=1.0)
    np.testing.assert_array_equal(corr.proj_xy[2, 2], [2.5, 2.5])
    assert corr.confidence[2, 2] == pytest.approx(conf(2), rel=1e-6)


def test_fixed_thresholds_are_opencvs_40_and_5():
    frames = captures()
    white, black = frames[LAYOUT.white_index], frames[LAYOUT.black_index]
    white[0, 0], black[0, 0] = 60, 20  # 40: not above 40
    white[0, 1], black[0, 1] = 61, 20  # 41
    _set_pair(frames, LAYOUT.columns.gray_pairs, 0, (2, 2), 98, 102)  # |Δ| = 4 < 5
    _set_pair(frames, LAYOUT.columns.gray_pairs, 0, (2, 3), 97, 102)  # |Δ| = 5
    corr = decode(frames, LAYOUT, noise_aware=False)
    assert np.all(np.isnan(corr.proj_xy[0, 0]))
    np.testing.assert_array_equal(corr.proj_xy[0, 1], [1.5, 0.5])
    assert np.all(np.isnan(corr.proj_xy[2, 2]))
    np.testing.assert_array_equal(corr.proj_xy[2, 3], [3.5, 2.5])
    assert corr.confidence[2, 3] == pytest.approx(conf(5), rel=1e-6)
    assert corr.confidence[1, 1] == pytest.approx(conf(90), rel=1e-6)


# --------------------------------------------------------------------------- noise model


def _noise_frames(level_white: int, level_black: int, d: int, size: int = 64) -> list:
    """Frames of one brightness whose ``pattern + inverse − white − black`` is ±d."""
    layout = opencv_layout((8, 4))
    frames = [None] * layout.count
    frames[layout.white_index] = np.full((size, size), level_white, np.uint8)
    frames[layout.black_index] = np.full((size, size), level_black, np.uint8)
    for n, (p, q) in enumerate(layout.columns.gray_pairs + layout.rows.gray_pairs):
        sign = 1 if n % 2 == 0 else -1
        frames[p] = np.full((size, size), level_white, np.uint8)
        frames[q] = np.full((size, size), level_black + sign * d, np.uint8)
    return frames, layout


def test_noise_sigma_is_the_mad_of_the_four_image_residual():
    frames, layout = _noise_frames(200, 20, 4)  # level 110: the bin [96, 112), centre 104
    model = estimate_noise(frames, layout)
    np.testing.assert_array_equal(model.levels, [104.0])
    np.testing.assert_allclose(model.sigmas, [1.4826 * 4 / 2.0], rtol=1e-6)


def test_noise_sigma_has_a_floor_of_half_a_level():
    frames, layout = _noise_frames(200, 20, 0)
    np.testing.assert_array_equal(estimate_noise(frames, layout).sigmas, [0.5])


def test_noise_bins_are_sixteen_levels_wide_closed_below():
    frames, layout = _noise_frames(200, 24, 2)  # level 112: the bin [112, 128)
    model = estimate_noise(frames, layout)
    np.testing.assert_array_equal(model.levels, [120.0])


def test_a_brightness_bin_needs_fifty_samples():
    # Stride 4 over 64×64: 16×16 = 256 samples; exactly 50, then 49, of them at level 24
    # (white 28, black 20; residual 0, so σ there is the floor).
    for count, expected in ((50, [24.0, 104.0]), (49, [104.0])):
        frames, layout = _noise_frames(200, 20, 4)
        grid = np.zeros((16, 16), bool)
        grid.flat[:count] = True
        dark = np.zeros((64, 64), bool)
        dark[::4, ::4] = grid
        frames[layout.white_index][dark] = 28
        for p, q in layout.columns.gray_pairs + layout.rows.gray_pairs:
            frames[p][dark] = 28
            frames[q][dark] = 20
        model = estimate_noise(frames, layout)
        np.testing.assert_array_equal(model.levels, expected)


def test_without_enough_samples_the_noise_is_one_level_everywhere():
    frames, layout = _noise_frames(200, 20, 4, size=8)  # 2×2 samples
    model = estimate_noise(frames, layout)
    np.testing.assert_array_equal(model.levels, [0.0, 255.0])
    np.testing.assert_array_equal(model.sigmas, [1.0, 1.0])


def test_noise_model_interpolates_sigma_by_brightness():
    model = NoiseModel(np.array([0.0, 100.0]), np.array([1.0, 3.0]))
    out = model.sigma(np.array([0.0, 50.0, 100.0, 200.0]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0, 3.0])


# --------------------------------------------------------------------------- images


def test_to_grey_takes_grey_single_channel_bgr_bgra_and_16_bit():
    grey = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_array_equal(to_grey(grey), grey)
    np.testing.assert_array_equal(to_grey(grey[:, :, None]), grey)
    # BT.601 luma of pure blue, green, red (OpenCV's BGR order): 0.114, 0.587, 0.299 × 255.
    bgr = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_array_equal(to_grey(bgr), [[29, 150, 76]])
    bgra = np.concatenate([bgr, np.full((1, 3, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(to_grey(bgra), [[29, 150, 76]])
    wide = np.array([[0x0000, 0x12FF, 0xFF00]], np.uint16)
    out = to_grey(wide)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[0x00, 0x12, 0xFF]])
    with pytest.raises(CalibrationError, match="captures must be 8-bit images, got dtype float32"):
        to_grey(grey.astype(np.float32))


def _lit_white_black(white_level: int, saturated_fraction: float):
    white = np.full((20, 20), white_level, np.uint8)
    black = np.full((20, 20), 10, np.uint8)
    white.flat[: round(saturated_fraction * 400)] = 255
    return white, black


def test_white_black_check_thresholds(caplog):
    white, black = _lit_white_black(100, 0.0)
    check_white_black(white, black)
    # 99th percentile below 12: covered lens; at 12: fine.
    with pytest.raises(CalibrationError, match="lens may be covered"):
        check_white_black(np.full((20, 20), 11, np.uint8), np.zeros((20, 20), np.uint8))
    check_white_black(np.full((20, 20), 12, np.uint8), np.zeros((20, 20), np.uint8))
    # Black saturated (≥ 250) on more than half the image; exactly half is not reported.
    black_sat = np.full((20, 20), 10, np.uint8)
    black_sat.flat[:201] = 250
    with pytest.raises(CalibrationError, match=r"black frame is saturated on 50% of the image"):
        check_white_black(np.full((20, 20), 255, np.uint8), black_sat)
    # Lit part saturated: over half → error; 6 % → a warning; 5 % → silent.
    white, black = _lit_white_black(100, 0.51)
    with pytest.raises(CalibrationError, match=r"overexposed: 51% of the lit part"):
        check_white_black(white, black)
    white, black = _lit_white_black(100, 0.5)
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    assert "50% of the lit part of the white capture is saturated" in caplog.text
    caplog.clear()
    white, black = _lit_white_black(100, 0.05)
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    assert caplog.text == ""
    white, black = _lit_white_black(100, 0.0525)  # 21 of 400
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    assert "5% of the lit part" in caplog.text


def test_a_projector_lifting_a_few_pixels_is_still_working():
    black = np.full((40, 40), 10, np.uint8)
    white = black.copy()
    with pytest.raises(CalibrationError, match="projector never changed"):
        check_white_black(white + 8, black)  # 8 levels everywhere: not above 2 × 4
    white[:, :] = 19  # 9 levels everywhere: above 8
    check_white_black(white, black)


# --------------------------------------------------------------------------- files


def test_correspondences_round_trip_through_npz(tmp_path):
    proj = np.full((3, 4, 2), np.nan, np.float32)
    proj[1, 2] = (5.25, 7.5)
    confidence = np.zeros((3, 4), np.float32)
    confidence[1, 2] = 0.75
    path = str(tmp_path / "c.npz")
    Correspondences(proj, confidence, (640, 480)).save(path)
    back = Correspondences.load(path)
    np.testing.assert_array_equal(back.proj_xy, proj)
    np.testing.assert_array_equal(back.confidence, confidence)
    assert back.projector_size == (640, 480)
    assert back.camera_size == (4, 3)
    assert back.valid.sum() == 1 and back.valid[1, 2]
    assert back.valid_fraction == pytest.approx(1 / 12)
    with np.load(path) as data:
        assert data["projector_size"].dtype == np.int32


def test_correspondences_without_a_projector_size_take_the_largest_position(tmp_path):
    proj = np.full((2, 2, 2), np.nan, np.float64)
    proj[0, 0] = (5.25, 7.5)
    proj[1, 1] = (3.0, 9.0)
    proj[0, 1] = (np.nan, 100.0)  # not decoded: x decides, whatever y holds
    path = tmp_path / "bare.npz"
    np.savez(path, proj_xy=proj, confidence=np.ones((2, 2)))
    back = Correspondences.load(str(path))
    assert back.projector_size == (6, 9)
    assert back.proj_xy.dtype == np.float32 and back.confidence.dtype == np.float32
    empty = tmp_path / "empty.npz"
    np.savez(empty, proj_xy=np.full((2, 2, 2), np.nan), confidence=np.zeros((2, 2)))
    assert Correspondences.load(str(empty)).projector_size == (0, 0)


def test_unreadable_or_misshapen_correspondences_say_what_to_run(tmp_path):
    missing = tmp_path / "none.npz"
    with pytest.raises(CalibrationError, match=r"cannot read correspondences from .*none\.npz"):
        Correspondences.load(str(missing))
    no_conf = tmp_path / "no_conf.npz"
    np.savez(no_conf, proj_xy=np.zeros((2, 2, 2)))
    with pytest.raises(CalibrationError) as error:
        Correspondences.load(str(no_conf))
    message = str(error.value)
    assert message.startswith(f"cannot read correspondences from {no_conf}: ")
    assert message.endswith(". Run 'calibrate decode' on the capture folder to write it.")
    for proj, confidence in (
        (np.zeros((2, 2)), np.zeros((2, 2))),
        (np.zeros((2, 2, 3)), np.zeros((2, 2))),
        (np.zeros((2, 2, 2)), np.zeros((2, 3))),
    ):
        bad = tmp_path / "bad.npz"
        np.savez(bad, proj_xy=proj, confidence=confidence)
        with pytest.raises(CalibrationError, match=r"proj_xy must be \(height, width, 2\)"):
            Correspondences.load(str(bad))


def test_codes_beyond_a_projector_narrower_than_its_code_are_rejected_but_its_edge_is_kept():
    # A 6-pixel-wide projector has the same 3 column bits; codes 6 and 7 do not exist.
    layout = opencv_layout((6, 4))
    assert (layout.columns.gray_pairs, layout.count) == (LAYOUT.columns.gray_pairs, 12)
    frames = captures()
    # Column 5 (111) with its middle bit undecided: 111 or 101 (column 6), edge at x = 6.
    _set_pair(frames, LAYOUT.columns.gray_pairs, 1, (0, 5), 100, 100)
    corr = decode(frames, layout)
    np.testing.assert_array_equal(corr.proj_xy[0, 5], [6.0, 0.5])
    assert np.all(np.isnan(corr.proj_xy[:, 6:]))
    np.testing.assert_array_equal(corr.proj_xy[1:, :6], centres()[1:, :6].astype(np.float32))


# --------------------------------------------------------------------------- fringes

NATIVE = native_layout((8, 4), period_px=4, phase_steps=4)  # Gray unit 2 px


def fringe(position: np.ndarray, step: int, amplitude: float = 100.0) -> np.ndarray:
    """``120 + A cos(2π x / 4 − 2π n / 4)``, rounded like a camera's uint8."""
    value = 120 + amplitude * np.cos(2 * np.pi * position / 4 - 2 * np.pi * step / 4)
    return np.round(value)


def native_captures(col_phase_px=None, col_amplitude=None) -> list[np.ndarray]:
    """A 1:1 camera (4 × 8) on the native layout; column fringes optionally per pixel."""
    cols = np.broadcast_to(np.arange(8) + 0.5, (4, 8))
    rows = np.broadcast_to((np.arange(4) + 0.5)[:, None], (4, 8))
    col_pos = cols if col_phase_px is None else col_phase_px
    col_amp = np.full((4, 8), 100.0) if col_amplitude is None else col_amplitude
    frames = [None] * NATIVE.count
    frames[NATIVE.white_index] = np.full((4, 8), 230)
    frames[NATIVE.black_index] = np.full((4, 8), 10)
    for code, pos, gray in ((NATIVE.columns, cols, ["00", "01", "11", "10"]),
                            (NATIVE.rows, rows, ["0", "1"])):  # fmt: skip
        stripe = (pos // 2).astype(int)
        for bit, (p, q) in enumerate(code.gray_pairs):
            on = np.vectorize(lambda s, b=bit, g=gray: g[s][b] == "1")(stripe)
            frames[p], frames[q] = np.where(on, 200, 40), np.where(on, 40, 200)
    for n, index in enumerate(NATIVE.columns.phase_indices):
        frames[index] = fringe(col_pos, n, col_amp)
    for n, index in enumerate(NATIVE.rows.phase_indices):
        frames[index] = fringe(rows, n)
    return [np.asarray(f).astype(np.uint8) for f in frames]


def test_native_layout_under_test():
    assert (NATIVE.columns.bits, NATIVE.rows.bits, NATIVE.count) == (2, 1, 16)
    assert NATIVE.columns.phase_indices == (8, 9, 10, 11)


def test_fringes_give_the_position_and_the_weakest_snr_sets_the_confidence():
    amplitude = np.full((4, 8), 100.0)
    amplitude[2, 3] = 10.0  # a faint fringe at one pixel
    frames = native_captures(col_amplitude=amplitude)
    corr = decode(frames, NATIVE)
    np.testing.assert_allclose(corr.proj_xy, centres(), atol=0.01)
    # SNR of the fringe: amplitude (2/N)|Σ Iₙ e^{iθₙ}| over σ √(2/N), σ = 1 (no noise model).
    # With fringes, the Gray bits only pick the period: the fringe SNR is the confidence.
    theta = 2 * np.pi * np.arange(4) / 4
    snrs = []
    for code in (NATIVE.columns, NATIVE.rows):
        stack = np.stack([frames[i].astype(np.float64) for i in code.phase_indices])
        amp = (2 / 4) * np.abs(np.tensordot(np.exp(1j * theta), stack, axes=1))
        snrs.append(amp / np.sqrt(2 / 4))
    snr = np.minimum(*snrs)
    assert 12 < snr[2, 3] < 16 and np.all(np.delete(snr.ravel(), 2 * 8 + 3) > 130)
    np.testing.assert_allclose(corr.confidence, snr / (snr + 10), rtol=1e-5)
    # A fringe below k_sigma = 3 noise levels rejects the pixel.
    amplitude[2, 3] = 2.0
    corr = decode(native_captures(col_amplitude=amplitude), NATIVE)
    assert np.all(np.isnan(corr.proj_xy[2, 3]))


def test_a_phase_that_disagrees_with_the_gray_code_by_over_three_eighths_of_a_period():
    # Column 2: Gray stripe 1, whose centre is x = 3.0. Fringes placed at 3.0 + 1.2 are kept
    # (1.2 ≤ 0.375 · 4 = 1.5); at 3.0 + 1.8 (still nearer than the other period) rejected.
    phase = np.broadcast_to(np.arange(8) + 0.5, (4, 8)).copy()
    phase[0, 2] = 4.2
    phase[1, 2] = 4.8
    corr = decode(native_captures(col_phase_px=phase), NATIVE)
    assert corr.proj_xy[0, 2, 0] == pytest.approx(4.2, abs=0.01)
    assert np.all(np.isnan(corr.proj_xy[1, 2]))


def test_an_unreadable_gray_code_is_rejected_whatever_the_fringes_say():
    frames = native_captures()
    for p, q in NATIVE.columns.gray_pairs:  # both column bits undecided at (3, 5)
        frames[p][3, 5] = frames[q][3, 5] = 120
    corr = decode(frames, NATIVE)
    assert np.all(np.isnan(corr.proj_xy[3, 5]))
    assert corr.valid.sum() == 31


def test_a_stuck_projector_is_judged_on_pixels_lit_by_more_than_20_levels():
    # 40 × 40 frames, sampled every 4th pixel: 100 samples. Every pattern equals its inverse.
    def frames(white_level: int) -> list[np.ndarray]:
        out = [np.full((40, 40), 30, np.uint8) for _ in range(LAYOUT.count)]
        out[LAYOUT.white_index] = np.full((40, 40), white_level, np.uint8)
        out[LAYOUT.black_index] = np.full((40, 40), 20, np.uint8)
        return out

    corr = decode(frames(40), LAYOUT)  # lit by exactly 20: not judged, nothing decodes
    assert corr.valid_fraction == 0.0
    with pytest.raises(CalibrationError, match=r"frames 0 and 1 \(a pattern and its inverse\)"):
        decode(frames(41), LAYOUT)


def test_capture_problems_are_reported_in_full():
    with pytest.raises(CalibrationError) as error:
        decode(captures()[:-1], LAYOUT)
    assert str(error.value) == (
        "expected 12 captures for a 8x4 projector in the opencv layout, got 11. Check "
        "--projector and --layout, and that no photo is missing or extra."
    )
    bad = captures()
    bad[3] = bad[3][:, :-1]
    with pytest.raises(CalibrationError) as error:
        decode(bad, LAYOUT)
    assert str(error.value) == (
        "capture 3 is 7x4 but the white capture is 8x4; every capture must come from the "
        "same camera at the same resolution."
    )
    stuck = [np.full((40, 40), 30, np.uint8) for _ in range(LAYOUT.count)]
    stuck[LAYOUT.white_index] = np.full((40, 40), 41, np.uint8)
    stuck[LAYOUT.black_index] = np.full((40, 40), 20, np.uint8)
    with pytest.raises(CalibrationError) as error:
        decode(stuck, LAYOUT)
    assert str(error.value) == (
        "frames 0 and 1 (a pattern and its inverse) look the same: the projector stopped "
        "changing during the capture (cable, input switching, screen saver or a frozen "
        "output). Check the projector and capture again."
    )


def test_with_k_sigma_zero_no_bit_is_ambiguous():
    frames = captures()
    _set_pair(frames, LAYOUT.columns.gray_pairs, 2, (0, 2), 100, 100)  # 011 read as 010
    corr = decode(frames, LAYOUT, k_sigma=0.0)
    np.testing.assert_array_equal(corr.proj_xy[0, 2], [3.5, 0.5])  # not the edge at 3.0


# --------------------------------------------------------------------------- exact boundaries
# Inputs chosen so that a decision lands exactly on its threshold: the decoder's rule
# (strict or not) is then visible. Fringe values are written per pixel as (I₀, I₁, I₂, I₃)
# for θₙ = 0, π/2, π, 3π/2: Σ Iₙ sin θₙ = I₁ − I₃ and Σ Iₙ cos θₙ = I₀ − I₂, exact in float32
# when I₂ = 0 (sin π and cos π/2 are not exactly 0 in floating point, but 0 × them is).

WIDE = native_layout((16, 4), period_px=8, phase_steps=4)  # Gray unit 4 px, 2 column bits


def wide_captures() -> list[np.ndarray]:
    """A 1:1 camera (4 × 16) on ``WIDE``: Gray stripes 00 01 11 10 of 4 px, fringes A = 100."""
    cols = np.broadcast_to(np.arange(16) + 0.5, (4, 16))
    rows = np.broadcast_to((np.arange(4) + 0.5)[:, None], (4, 16))
    frames = [None] * WIDE.count
    frames[WIDE.white_index] = np.full((4, 16), 230)
    frames[WIDE.black_index] = np.full((4, 16), 10)
    stripe = (cols // 4).astype(int)
    for bit, (p, q) in enumerate(WIDE.columns.gray_pairs):
        on = np.vectorize(lambda s, b=bit: ["00", "01", "11", "10"][s][b] == "1")(stripe)
        frames[p], frames[q] = np.where(on, 200, 40), np.where(on, 40, 200)
    (p, q) = WIDE.rows.gray_pairs[0]  # one row stripe: Gray "0"
    frames[p], frames[q] = np.full((4, 16), 40), np.full((4, 16), 200)
    for code, pos in ((WIDE.columns, cols), (WIDE.rows, rows)):
        for n, index in enumerate(code.phase_indices):
            frames[index] = np.round(120 + 100 * np.cos(2 * np.pi * pos / 8 - np.pi * n / 2))
    return [np.asarray(f).astype(np.uint8) for f in frames]


def _set_fringe(frames, pixel, values):
    for index, value in zip(WIDE.columns.phase_indices, values, strict=True):
        frames[index][pixel] = value


def test_wide_layout_under_test():
    assert (WIDE.columns.unit_px, WIDE.columns.bits, WIDE.rows.bits) == (4, 2, 1)
    assert WIDE.columns.phase_indices == (8, 9, 10, 11) and WIDE.count == 16
    corr = decode(wide_captures(), WIDE)
    expected = np.broadcast_to(np.arange(16) + 0.5, (4, 16))
    np.testing.assert_allclose(corr.proj_xy[..., 0], expected, atol=0.002)
    assert corr.valid_fraction == 1.0


def test_positions_exactly_at_the_projector_edges_are_kept():
    frames = wide_captures()
    # Phase 0 (sin sum 50 − 50 = 0, cos sum 100): x = 0 in every period. Stripe 0 (Gray
    # centre 2) unwraps to 0, stripe 3 (centre 14) to 16: both edges of a 16-px projector.
    _set_fringe(frames, (0, 1), (100, 50, 0, 50))
    _set_fringe(frames, (0, 14), (100, 50, 0, 50))
    corr = decode(frames, WIDE)
    assert corr.proj_xy[0, 1, 0] == 0.0
    assert corr.proj_xy[0, 14, 0] == 16.0
    assert corr.valid.all()


def test_a_phase_exactly_three_eighths_of_a_period_from_the_gray_edge_is_kept():
    frames = wide_captures()
    p, q = WIDE.columns.gray_pairs[1]
    # Pixels 3 (stripe 0) and 5 (stripe 1) with their last bit undecided: the edge x = 4.
    # Fringes at phase +π/4 (sin sum = cos sum = 100): x = 1; at −π/4: x = 7. Both are
    # 3 = 0.375 · 8 from the edge: the limit, kept.
    for pixel, values in (((1, 3), (100, 150, 0, 50)), ((1, 5), (100, 50, 0, 150))):
        frames[p][pixel] = frames[q][pixel] = 120
        _set_fringe(frames, pixel, values)
    corr = decode(frames, WIDE)
    assert corr.proj_xy[1, 3, 0] == pytest.approx(1.0, abs=1e-6)
    assert corr.proj_xy[1, 5, 0] == 7.0
    assert corr.valid.all()


def test_a_fringe_snr_exactly_k_sigma_is_rejected():
    frames = wide_captures()
    # (4, 0, 0, 0): cos sum 4, sin sum 0, amplitude (2/4)·4 = 2; σ = 1 (too few samples
    # for a noise model), fringe noise σ·√(2/4): SNR 2/√0.5 = 2√2, as float32 here.
    _set_fringe(frames, (2, 1), (4, 0, 0, 0))
    snr = np.float32(2.0) / np.float32(math.sqrt(0.5))
    corr = decode(frames, WIDE, k_sigma=float(snr))
    assert np.all(np.isnan(corr.proj_xy[2, 1])) and corr.valid.sum() == 63
    corr = decode(frames, WIDE, k_sigma=float(np.nextafter(snr, np.float32(0))))
    np.testing.assert_array_equal(corr.proj_xy[2, 1, 0], 0.0)
    assert corr.confidence[2, 1] == pytest.approx(float(snr) / (float(snr) + 10), rel=1e-6)
    assert corr.valid.all()


def test_the_noise_sigma_of_a_bin_is_its_upper_quartile():
    # 256 samples (stride 4 over 64 × 64) of one brightness; sample i has a residual of
    # ±(i // 16) levels, so the 75th percentile of 0…15 (16 of each) is 11.25
    # (index 0.75 · 255 = 191.25, between 11 and 12); the 76th would be 12.
    frames, layout = _noise_frames(200, 20, 0)
    d = np.zeros((64, 64), int)
    d[::4, ::4] = (np.arange(256) // 16).reshape(16, 16)
    for n, (_, q) in enumerate(layout.columns.gray_pairs + layout.rows.gray_pairs):
        frames[q] = (20 + (1 if n % 2 == 0 else -1) * d).astype(np.uint8)
    model = estimate_noise(frames, layout)
    np.testing.assert_array_equal(model.levels, [104.0])
    np.testing.assert_allclose(model.sigmas, [1.4826 * 11.25 / 2], rtol=1e-6)


def test_noise_samples_of_large_images_are_spread_to_about_65536():
    # 1600 × 1024 = 25 · 65536 pixels: every 5th row and column (√25), not every 4th.
    # Only pixels on the 5-grid carry a residual of ±4; on the 4-grid, 1 in 25 would.
    layout = opencv_layout((8, 4))
    white = np.full((1024, 1600), 200, np.uint8)
    black = np.full((1024, 1600), 20, np.uint8)
    up, down = black.copy(), black.copy()
    up[::5, ::5], down[::5, ::5] = 24, 16
    frames = [None] * layout.count
    frames[layout.white_index], frames[layout.black_index] = white, black
    for n, (p, q) in enumerate(layout.columns.gray_pairs + layout.rows.gray_pairs):
        frames[p], frames[q] = white, (up if n % 2 == 0 else down)
    model = estimate_noise(frames, layout)
    np.testing.assert_allclose(model.sigmas, [1.4826 * 4 / 2.0], rtol=1e-6)


def _uniform(pattern: int, inverse: int, size: int = 40) -> list[np.ndarray]:
    """Every pattern ``pattern``, every inverse ``inverse``; white 120, black 20."""
    out = [np.zeros((size, size), np.uint8) for _ in range(LAYOUT.count)]
    for p, q in LAYOUT.columns.gray_pairs + LAYOUT.rows.gray_pairs:
        out[p] = np.full((size, size), pattern, np.uint8)
        out[q] = np.full((size, size), inverse, np.uint8)
    out[LAYOUT.white_index] = np.full((size, size), 120, np.uint8)
    out[LAYOUT.black_index] = np.full((size, size), 20, np.uint8)
    return out


def test_a_pattern_differing_from_its_inverse_by_a_tenth_of_white_minus_black_is_a_change():
    # |70 − 60| / (120 − 20) = 0.1 exactly: not below 0.1, so the projector did change.
    decode(_uniform(70, 60), LAYOUT)
    with pytest.raises(CalibrationError, match=r"frames 0 and 1 \(a pattern and its inverse\)"):
        decode(_uniform(69, 60), LAYOUT)  # 0.09


def test_a_stuck_projector_is_judged_on_every_fourth_pixel():
    # Pattern and inverse equal on the 4-pixel grid only: that grid is what is judged.
    frames = _uniform(70, 20)
    for p, q in LAYOUT.columns.gray_pairs + LAYOUT.rows.gray_pairs:
        frames[p][::4, ::4] = frames[q][::4, ::4] = 40
    with pytest.raises(CalibrationError, match="pattern and its inverse"):
        decode(frames, LAYOUT)
    # 36 × 36: 9 × 9 = 81 samples, under the 100 needed to judge; nothing decodes.
    assert decode(_uniform(40, 40, size=36), LAYOUT).valid_fraction == 0.0


def _magnified_captures() -> list[np.ndarray]:
    """``captures()`` seen 8× magnified (64 × 32 camera pixels): enough samples for a noise
    model. Left half: white 200, black 8 (level 104, the centre of the bin [96, 112)), every
    pair 180 / 32, so pattern + inverse − white − black = +4. Right half: white 232, black 8
    (level 120, centre of [112, 128)), pairs 200 / 48: residual +8."""
    left = np.arange(64)[None, :] < 32
    on, off = np.where(left, 180, 200), np.where(left, 32, 48)
    frames = []
    for frame in captures():  # the Gray frames hold 150 or 180 where lit, 30 or 60 where not
        lit = np.kron(frame > 100, np.ones((8, 8), bool))
        frames.append(np.where(lit, on, off).astype(np.uint8))
    frames[LAYOUT.white_index][:, :32], frames[LAYOUT.white_index][:, 32:] = 200, 232
    frames[LAYOUT.black_index][...] = 8
    return frames


def test_each_pixel_takes_the_noise_of_its_own_brightness(caplog):
    frames = _magnified_captures()
    assert {int(frames[p][0, 0]) + int(frames[q][0, 0]) for p, q in LAYOUT.columns.gray_pairs} == {
        212
    }
    with caplog.at_level(logging.DEBUG, logger="calibration.decode"):
        corr = decode(frames, LAYOUT)
    expected = np.stack(np.meshgrid(np.arange(64) // 8 + 0.5, np.arange(32) // 8 + 0.5), axis=-1)
    np.testing.assert_array_equal(corr.proj_xy, expected.astype(np.float32))
    # σ = 1.4826 · |residual| / 2 in each bin; the weakest decision is |180 − 32| = 148 on
    # the left, |200 − 48| = 152 on the right.
    sigma_left, sigma_right = 1.4826 * 4 / 2, 1.4826 * 8 / 2
    np.testing.assert_allclose(corr.confidence[:, :32], conf(148, sigma_left), rtol=1e-6)
    np.testing.assert_allclose(corr.confidence[:, 32:], conf(152, sigma_right), rtol=1e-6)
    # The noise model at DEBUG, then the summary at INFO.
    noise, summary = caplog.records
    assert noise.levelno == logging.DEBUG and noise.msg == "noise model: levels %s sigma %s"
    np.testing.assert_array_equal(noise.args[0], [104.0, 120.0])
    np.testing.assert_allclose(noise.args[1], [sigma_left, sigma_right], rtol=1e-6)
    assert re.fullmatch(
        r"noise model: levels \[104\. 120\.\] sigma \[2\.965\d* 5\.930\d*\]", noise.getMessage()
    )
    assert summary.levelno == logging.INFO
    assert re.fullmatch(
        r"decoded 64x32 camera pixels: 100\.0% valid in \d+\.\d{3} s", summary.getMessage()
    )


def test_the_summary_gives_the_valid_percentage_to_one_decimal(caplog):
    frames = captures()
    frames[LAYOUT.white_index][0, 0] = 20  # one pixel of 32 in the shadow: 96.875 %
    with caplog.at_level(logging.INFO, logger="calibration.decode"):
        corr = decode(frames, LAYOUT, noise_aware=False)
    assert corr.valid_fraction == 31 / 32
    (summary,) = caplog.records
    assert re.fullmatch(
        r"decoded 8x4 camera pixels: 96\.9% valid in \d+\.\d{3} s", summary.getMessage()
    )
    assert summary.args[3] == corr.decode_s


def test_white_minus_black_exactly_k_sigma_noise_levels_is_shadow():
    # σ = 1: the limit is k_sigma · √2. This k_sigma (the float32 nearest 5 / √2) makes it
    # exactly 5.0 in float32; 5 levels are not above it, 6 are.
    k_sigma = float(np.float32(5.0) / np.float32(math.sqrt(2.0)))
    assert np.float32(k_sigma) * np.float32(math.sqrt(2.0)) == np.float32(5.0)
    frames = captures()
    white, black = frames[LAYOUT.white_index], frames[LAYOUT.black_index]
    white[0, 0], black[0, 0] = 25, 20
    white[0, 1], black[0, 1] = 26, 20
    corr = decode(frames, LAYOUT, k_sigma=k_sigma)
    assert np.all(np.isnan(corr.proj_xy[0, 0]))
    np.testing.assert_array_equal(corr.proj_xy[0, 1], [1.5, 0.5])


def test_a_negative_k_sigma_decides_bits_like_zero():
    # The bit threshold ceil(k_sigma · √2 · σ) is clipped at 0: no bit is ambiguous.
    frames = captures()
    _set_pair(frames, LAYOUT.columns.gray_pairs, 2, (0, 2), 100, 100)
    for k_sigma in (0.0, -1.0):
        corr = decode(frames, LAYOUT, k_sigma=k_sigma)
        np.testing.assert_array_equal(corr.proj_xy[0, 2], [3.5, 0.5])
        assert corr.valid.all()


def test_white_black_messages_in_full():
    # 99th percentile of 396 pixels at 11 and 4 at 100 (index 0.99 · 399 = 395.01):
    # 11 + 0.01 · 89 = 11.89, below 12. The brightest 1 % is not enough.
    white = np.full((20, 20), 11, np.uint8)
    white.flat[:4] = 100
    with pytest.raises(CalibrationError) as error:
        check_white_black(white, np.zeros((20, 20), np.uint8))
    assert str(error.value) == (
        "the white capture is black (99% of pixels below level 12): the lens may be covered, "
        "the camera not pointed at the facade, or the projector off. Uncover the lens, aim the "
        "camera and capture again."
    )
    black = np.full((20, 20), 10, np.uint8)
    black.flat[:300] = 251
    with pytest.raises(CalibrationError) as error:
        check_white_black(np.full((20, 20), 255, np.uint8), black)
    assert str(error.value) == (
        "the captures are overexposed: even the black frame is saturated on 75% of the image. "
        "Lower the exposure time, gain or aperture and capture again."
    )
    white, black = _lit_white_black(100, 0.75)
    with pytest.raises(CalibrationError) as error:
        check_white_black(white, black)
    assert str(error.value) == (
        "the captures are overexposed: 75% of the lit part of the white capture is saturated, "
        "so stripes cannot be told apart. Lower the exposure time, gain or aperture and "
        "capture again."
    )


def test_a_black_frame_saturated_on_exactly_half_the_image_is_accepted(caplog):
    # Black at 250 on 200 of 400 pixels (white 255 there), 10 elsewhere (white 100): half the
    # lit part saturated is a warning, not an error.
    black = np.full((20, 20), 10, np.uint8)
    white = np.full((20, 20), 100, np.uint8)
    black.flat[:200], white.flat[:200] = 250, 255
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    assert "50% of the lit part of the white capture is saturated" in caplog.text


def _white_black_mix(*parts: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """20 × 20 white and black captures made of ``(count, white, black)`` pixel groups."""
    white = np.full(400, 100, np.uint8)
    black = np.full(400, 10, np.uint8)
    start = 0
    for count, w, b in parts:
        white[start : start + count], black[start : start + count] = w, b
        start += count
    assert start == 400
    return white.reshape(20, 20), black.reshape(20, 20)


def test_the_lit_part_is_more_than_20_levels_above_black_and_250_is_saturated(caplog):
    # 100 saturated pixels (white 250: saturated from 250 on), 100 lit by 21 levels,
    # 200 by exactly 20 (not lit, whatever their sum): half of the lit part is saturated.
    white, black = _white_black_mix((100, 250, 10), (100, 31, 10), (200, 30, 10))
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    (record,) = caplog.records
    assert record.getMessage() == (
        "50% of the lit part of the white capture is saturated: those pixels lose precision; "
        "lower the exposure a little next time"
    )
    # 20 saturated of 66 lit: 30.3 %, written to the nearest percent.
    caplog.clear()
    white, black = _white_black_mix((20, 255, 10), (46, 100, 10), (334, 30, 10))
    with caplog.at_level(logging.WARNING, logger="calibration.decode"):
        check_white_black(white, black)
    assert caplog.records[0].getMessage().startswith("30% of the lit part")


def test_white_black_check_of_a_capture_with_no_lit_pixel_gives_no_numpy_warning():
    white, black = _white_black_mix((400, 30, 10))  # lit by 20: not lit; 5×5 contrast 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_white_black(white, black)


def test_the_projector_must_lift_half_a_percent_of_the_image_by_over_8_levels_in_5x5():
    # 50 × 100 = 5000 pixels, one of them lifted: its 5×5 neighbourhood (25 pixels, 0.5 %)
    # averages 201 / 25 = 8.04 (above 8) or 200 / 25 = 8 (not above).
    black = np.full((50, 100), 20, np.uint8)
    white = black.copy()
    white[25, 50] = 221
    check_white_black(white, black)
    white[25, 50] = 220
    with pytest.raises(CalibrationError) as error:
        check_white_black(white, black)
    assert str(error.value) == (
        "the white and black captures are the same: the projector never changed. Check the "
        "projector cable and input, that the right output shows the patterns, and that the "
        "projector shutter is open."
    )
