#!/usr/bin/env bash
# System packages the Python stack needs but pip cannot install:
#   ffmpeg  - the shared libraries torchcodec loads to decode and encode audio
#             (datasets' Audio feature goes through torchcodec).
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q 'libavcodec\.so'; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "system-deps: installing Debian package ffmpeg (torchcodec needs its libraries)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q ffmpeg >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q ffmpeg >/dev/null; }
else
  echo "system-deps: the FFmpeg shared libraries are missing. Install them first, e.g." >&2
  echo "  sudo apt-get install ffmpeg      (Debian/Ubuntu)" >&2
  echo "  brew install ffmpeg              (macOS)" >&2
  exit 1
fi
