"""ISF audio inputs hear the show's soundtrack: a real tone in a show (WAV encoded by the
ffmpeg CLI, played by an ``audio`` layer) reaches an ``audioFFT`` input as its magnitude
spectrum and an ``audio`` input as its waveform, read back from the picture.

Expected values: the tones' amplitudes in the bins they were put in (1500 Hz and 3000 Hz
are bins 32 and 64 of a 1024-sample block at 48 kHz), and the waveform's samples computed
in float64 numpy at the show time of the frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mapping.gl.sources.isf import spectrum_texture_data, waveform_texture_data
from mapping.outputs import HeadlessOutputs
from mapping.player import ShowPlayer
from mapping.show import load_show
from tests.audiokit import CODECS, RATE, encode
from tests.isfkit import level, write_isf

SHOW = """
schema_version = 1
name = "listen"
[canvas]
size = [4, 1]
[[outputs]]
name = "out"
resolution = [4, 1]
[[surfaces]]
name = "all"
output = "out"
polygon = [[0, 0], [4, 0], [4, 1], [0, 1]]
corners = [[0, 0], [4, 0], [4, 1], [0, 1]]
[[layers]]
name = "tone"
kind = "audio"
file = "media/tone.wav"
[[layers]]
name = "meter"
kind = "isf"
shader = "shaders/meter.fs"
"""


def signal(samples: np.ndarray) -> np.ndarray:
    t = samples / RATE
    return np.stack(
        [0.5 * np.sin(2 * np.pi * 1500 * t), 0.25 * np.sin(2 * np.pi * 3000 * t)], axis=1
    )


def test_audio_and_fft_inputs_hear_a_tone_playing_in_the_show(ctx, tmp_path: Path):
    (tmp_path / "media").mkdir()
    encode(signal(np.arange(RATE)), tmp_path / "media" / "tone.wav", CODECS["wav"])
    write_isf(
        tmp_path / "shaders",
        "meter",
        {
            "ISFVSN": "2",
            "INPUTS": [
                {"NAME": "spectrum", "TYPE": "audioFFT"},
                {"NAME": "wave", "TYPE": "audio", "MAX": 1024},
            ],
        },
        """
        void main() {
            float x = floor(gl_FragCoord.x);
            if (x == 0.0)  // bins 32 and 64 of the left and right channels, and bin 10
                gl_FragColor = vec4(IMG_PIXEL(spectrum, vec2(32.5, 0.5)).r,
                                    IMG_PIXEL(spectrum, vec2(64.5, 1.5)).r,
                                    IMG_PIXEL(spectrum, vec2(10.5, 0.5)).r, 1.0);
            else if (x == 1.0)  // samples 1023, 1000 and 500 of the left channel
                gl_FragColor = vec4(IMG_PIXEL(wave, vec2(1023.5, 0.5)).r,
                                    IMG_PIXEL(wave, vec2(1000.5, 0.5)).r,
                                    IMG_PIXEL(wave, vec2(500.5, 0.5)).r, 1.0);
            else  // sample 1023 of the right channel
                gl_FragColor = vec4(IMG_PIXEL(wave, vec2(1023.5, 1.5)).r, 0.0, 0.0, 1.0);
        }
        """,
    )
    (tmp_path / "show.toml").write_text(SHOW)
    player = ShowPlayer(load_show(tmp_path), HeadlessOutputs(ctx), offline=True)
    show_time = 0.5
    try:
        player.step(show_time - 0.1)  # the tap meets the tone already playing: a ramp
        player.step(show_time)
        out = player.renderer.read_output("out")[0].astype(float)
    finally:
        player.close()
    assert abs(out[0, 0] - level(0.5)) <= 1 and abs(out[0, 1] - level(0.25)) <= 1
    assert out[0, 2] <= 1
    end = round(show_time * RATE)
    expected = signal(np.arange(end - 1024, end).astype(float))
    wave = 0.5 + 0.5 * expected
    got = [*out[1, :3], out[2, 0]]
    want = [level(wave[1023, 0]), level(wave[1000, 0]), level(wave[500, 0]), level(wave[1023, 1])]
    assert np.abs(np.subtract(got, want)).max() <= 1, (got, want)


def test_the_texture_layouts_are_one_row_per_channel():
    block = np.zeros((8, 2), np.float32)
    block[:, 1] = 1.0
    wave = waveform_texture_data(block)
    assert wave.shape == (2, 8, 4)
    assert (wave[0, :, 0] == 0.5).all() and (wave[1, :, 0] == 1.0).all()
    assert (wave[..., 3] == 1.0).all()
    n = 1024
    tone = np.sin(2 * np.pi * 16 * np.arange(n) / n)[:, None] * np.array([[1.0, 0.5]])
    spectrum = spectrum_texture_data(tone)
    assert spectrum.shape == (2, n // 2 + 1, 4)
    assert abs(spectrum[0, 16, 0] - 1.0) < 1e-6 and abs(spectrum[1, 16, 0] - 0.5) < 1e-6
    assert spectrum[0, 20, 0] < 1e-3  # a Hann window leaks only to the next bins
