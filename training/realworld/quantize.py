"""int8 weights and activations for the exported real-world detector (onnxruntime static quantization, QDQ).

    python -m training.realworld.quantize --model FP32.onnx --pack PACK --out INT8.onnx [--calibration 256]

Calibration uses packed *validation* views (never test data). The contract (ONNX metadata) is carried
over unchanged, with the quantization recorded in its card; the input stays float32 [0, 255], so the scan
engine feeds it exactly as before. Reports the largest score difference against the float model on other
validation views; measure the quantized file through the app (scripts/evaluate_scan.py) before shipping it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spec.contract import CONTRACT_KEY


def quantize(src: Path, dst: Path, views: np.ndarray, check: np.ndarray) -> dict[str, Any]:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(views):
                return None
            batch = views[self.i:self.i + 32].astype(np.float32)
            self.i += 32
            return {"image": batch}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        out = Path(tmp) / "int8.onnx"
        quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        original = onnx.load(str(src), load_external_data=False)
        contract = json.loads({p.key: p.value for p in original.metadata_props}[CONTRACT_KEY])
        contract["card"] = dict(contract.get("card", {}), quantization=(
            f"onnxruntime static int8 (QDQ, per-channel weights), calibrated on {len(views)} validation views"))
        model = onnx.load(str(out))
        del model.metadata_props[:]
        entry = model.metadata_props.add()
        entry.key, entry.value = CONTRACT_KEY, json.dumps(contract, allow_nan=False)
        onnx.save(model, str(out))
        sessions = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (src, out)]
        x = check.astype(np.float32)
        a, b = (np.asarray(s.run(None, {"image": x})[0]).reshape(-1) for s in sessions)
        dst.parent.mkdir(parents=True, exist_ok=True)
        Path(out).replace(dst)
    return {"calibration_views": len(views), "check_views": len(check),
            "max_abs_diff": float(np.max(np.abs(a - b))), "mean_abs_diff": float(np.mean(np.abs(a - b)))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.realworld.quantize", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--pack", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--calibration", type=int, default=256)
    a = p.parse_args(argv)
    views = np.load(a.pack / "views.npy", mmap_mode="r")
    meta = np.load(a.pack / "views_meta.npz")
    val = np.flatnonzero(meta["split"][: int(meta["count"])] == 1)
    rng = np.random.default_rng(0)
    pick = rng.permutation(val)
    calib = np.asarray(views[np.sort(pick[: a.calibration])])
    check = np.asarray(views[np.sort(pick[a.calibration: a.calibration + 512])])
    print(json.dumps(quantize(a.model, a.out, calib, check), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
