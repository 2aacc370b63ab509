#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the system GL/X libraries and the
# Python packages. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Mesa's EGL + llvmpipe (headless GL), GLX for windows, Xvfb for the window test.
for pkg in libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libgles2 xvfb xauth; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install the Mesa EGL/GL libraries and Xvfb: ${need_apt[*]}" >&2
  fi
fi

python -m pip install -q --disable-pip-version-check -e ".[dev]"
