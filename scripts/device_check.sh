#!/usr/bin/env bash
# The prepared run for a machine with an NVIDIA GPU (issue 19, "CUDA"): what the GPU changes, measured in one go.
#
#   OUT=/some/folder PY=/path/to/python scripts/device_check.sh
#
# Needs a Python environment with PixelPatrol installed with the `cuda` extra (onnxruntime-gpu with its CUDA and
# cuDNN wheels) and, for the Ray check, the `cluster` extra; nothing is downloaded here. Writes to $OUT:
#   providers.txt     onnxruntime's version and providers, nvidia-smi
#   cuda-tests.txt    tests/core/test_cuda_device.py: a shipped model, a whole scan and the Ray engine on the GPU,
#                     each equal to the CPU within 1e-4 (they skip, saying why, when no CUDA session can be made)
#   bench-cuda.*      benchmarks/bench_scan.py --device cuda: 12 MP photos and 10,000 CIFAR-sized JPEGs, engine
#                     against the minimal script and the decode-only limit (default scan, shipped models)
#   bench-cpu.*       the same on the CPU of the same machine, the reference for the ratios
# Every step runs even when one before it failed; the exit status is the first failure's.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
status=0
step() {  # name, command...: run, keep its output, remember the first failure
    local name=$1
    shift
    echo "== $name: $*" | tee "$OUT/$name.txt"
    "$@" 2>&1 | tee -a "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc" | tee -a "$OUT/$name.txt"
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
}
step providers sh -c "$PY -c 'import onnxruntime as o; print(o.__version__, o.get_available_providers())'; nvidia-smi"
step cuda-tests env QT_QPA_PLATFORM=offscreen "$PY" -m pytest -q -rs tests/core/test_cuda_device.py
for dev in cuda cpu; do
    step "bench-$dev" "$PY" benchmarks/bench_scan.py --device "$dev" --large 12 --small 10000 --rounds 2 \
        --no-latency --model onnx_models/cifake-cnn.onnx --engine-model auto --json "$OUT/bench-$dev.json"
done
echo "results in $OUT (exit $status)"
exit "$status"
