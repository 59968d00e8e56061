#!/usr/bin/env bash
# Installs PixelPatrol with the training and test extras into .venv and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet -e ".[train,test]"
# A broken install must fail here, not turn the training tests into skips.
.venv/bin/python -c "import tensorflow.python, tf2onnx, keras_tuner, onnxruntime, PySide6.QtWidgets, pyqtgraph"
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
