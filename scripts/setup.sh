#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine, safe to run again (it only installs what
# is missing): the system GL/X libraries, then a virtual environment in .venv with the
# project and its Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
need_apt=()
# Mesa's EGL + llvmpipe (headless GL), GLX for windows, Xvfb for the window test,
# liblo-tools (oscsend/oscdump: the OSC tests talk to the show with another implementation),
# ffmpeg (the CLI encodes the HAP test clips and bench clips: PyAV's FFmpeg cannot encode HAP;
# the live-input tests compare with its own RGB conversion of the same source; and it makes
# the colour-bar clips the video tests check against; it also encodes the audio test files
# and decodes them as the reference), chromium (the web panel's tests drive Debian's
# headless browser with Playwright), libportaudio2 (sound output through `sounddevice`) and
# jackd2 (the tests play through a real JACK server with its dummy driver, no sound card;
# jack_lsp reads its latencies), chrony and linuxptp (the cluster's clock sources read
# chronyd and ptp4l; the tests run them in network namespaces, in modes that never set the
# clock; note that installing Debian's chrony also enables its service, which replaces
# systemd-timesyncd) and iproute2 (ip netns).
for pkg in libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libgles2 xvfb xauth liblo-tools ffmpeg \
  chromium libportaudio2 jackd2 chrony linuxptp iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install the Mesa EGL/GL libraries, Xvfb, liblo-tools, ffmpeg, chromium, libportaudio2, jackd2, chrony, linuxptp, iproute2 and python3-venv: ${need_apt[*]}" >&2
  fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: Python 3.11 or newer is needed (found $("$PYTHON" --version)); set PYTHON=..." >&2
  exit 1
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
echo "setup: ready (.venv)"
