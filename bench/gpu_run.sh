#!/usr/bin/env bash
# The device check for a lent GPU machine, in one call (see README "Benchmarks"). Prepare on
# your own machine first:  bash ../shared/gpu/prepare.sh astral zeroconf ifaddr watchdog
#                          cp ../shared/bench/make_stress_show.py .gl/
# then run on the device with carry [".whl", ".gl"]:  bash .gl/run.sh bash bench/gpu_run.sh
# Each step is bounded; the outputs go to $OUT when set.
set -u
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
step() { echo; echo "=== $*"; }
step "GPU"
nvidia-smi -L 2>&1 | head -2
step "bench_render: demo show, 2 x 1280x720 (GL vs numpy+OpenCV baseline)"
timeout 120 python3 bench/bench_render.py --frames 120 2>&1 | tee "$out/bench_render_demo.txt"
step "bench_render: stress show, 4 x 3840x2160, 64 surfaces, 1080p H.264"
timeout 120 python3 .gl/make_stress_show.py shows/demo /tmp/stress >/dev/null 2>&1 \
  && timeout 150 python3 bench/bench_render.py --show /tmp/stress --cue all --frames 60 --skip-cpu \
     2>&1 | tee "$out/bench_render_stress.txt"
step "bench_osc: GO to frame at 60 Hz, messages/s"
timeout 120 python3 bench/bench_osc.py --gos 300 --seconds 2 2>&1 | tee "$out/bench_osc.txt"
step "bench_hap: 4K H.264 vs HAP vs HAP Q (needs the ffmpeg CLI to make the clips)"
if command -v ffmpeg >/dev/null; then
  timeout 240 python3 bench/bench_hap.py 2>&1 | tee "$out/bench_hap.txt"
else
  echo "no ffmpeg CLI on this machine: bench_hap skipped"
fi
step "bench_frugal: CPU of a held still picture, video and generator cues"
timeout 120 python3 bench/bench_frugal.py --seconds 5 2>&1 | tee "$out/bench_frugal.txt"
step "bench_live: a live layer's capture-to-drawn latency (named-pipe camera, lavfi), 720p and 1080p"
timeout 60 python3 bench/bench_live.py --seconds 3 2>&1 | tee "$out/bench_live.txt"
timeout 60 python3 bench/bench_live.py --seconds 3 --size 1920x1080 2>&1 | tee -a "$out/bench_live.txt"
step "tests (no display on this machine: the Xvfb window tests are left out)"
timeout 300 python3 -m pytest -q -p no:cacheprovider \
  --deselect tests/test_window_output.py --deselect tests/test_osc_cli.py \
  --deselect tests/test_structured_light_window.py 2>&1 | tail -40 | tee "$out/pytest.txt"
