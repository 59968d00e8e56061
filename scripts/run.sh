#!/usr/bin/env bash
# Installs PixelPatrol (app + scanner, no TensorFlow) into .venv and starts the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/pixelpatrol "$@"
