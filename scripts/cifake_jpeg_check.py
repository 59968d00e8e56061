"""How a shipped CIFAKE detector holds up when its validation photos and fakes are re-saved as JPEG.

Rebuilds the CIFAKE validation split of the training runs (``split_train_val`` with the recipe's default
seed 0 and 10 % per label x CIFAR class; generated GAN fakes are pinned to their side and do not move it),
scores it with the shipped ONNX file through the app's ``Detector`` (same pixel scaling, same graph), and
reports balanced accuracy at the model's own decision threshold, ROC AUC and ECE (10 bins; as the split is, and
read as a set of two photos per fake, the mix of the project's held-out set, by weighting the photos): as stored,
and re-encoded as JPEG at each quality asked for. CIFAKE only: the GAN-sample half of the question is
``scripts/gan_samples_scan.py --jpeg QUALITY``.

    .venv/bin/python scripts/cifake_jpeg_check.py --model onnx_models/cifake-cnn.onnx \
        [--data REAL.zip --data FAKE.zip] [--quality 90 75 60] [--out RESULT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from desktop.core.models.detector import Detector, ModelError
from training.data.loading import load_real_fake, split_train_val
from training.data.preprocess import FeedSpec
from training.detector.calibrate import mix_weights
from training.ship.evaluate import binary_metrics, expected_calibration_error, reencode, roc_auc

DATA = ("/work/shared/data/cifake_train_REAL.zip", "/work/shared/data/cifake_train_FAKE.zip")


def scores_of(det: Detector, images: np.ndarray, batch: int = 1024) -> np.ndarray:
    out = [det.predict(images[i:i + batch])[0] for i in range(0, len(images), batch)]
    return np.concatenate(out).astype(np.float64)


def measure(det: Detector, images: np.ndarray, y: np.ndarray) -> dict[str, float]:
    s = scores_of(det, images)
    m = binary_metrics(y, s, det.thresholds.decision)
    return {"balanced_accuracy": round(float(m["balanced_accuracy"]), 4), "tpr": round(float(m["recall"]), 4),
            "tnr": round(float(m["specificity"]), 4), "roc_auc": round(roc_auc(y, s), 5),
            "ece": round(expected_calibration_error(y, s), 5),
            "ece_two_photos_per_fake": round(expected_calibration_error(y, s, weights=mix_weights(y, 2.0)), 5)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", action="append", help="CIFAKE REAL/FAKE zips or folders (default: the shared ones)")
    ap.add_argument("--quality", type=int, nargs="*", default=[90, 75, 60])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    det = Detector.load(a.model, device="cpu")
    data = load_real_fake(a.data or list(DATA), FeedSpec(32, 32))
    _, val = split_train_val(data, a.val_fraction, a.seed)
    val = np.sort(val)
    images = np.asarray(data.images[val])
    y = data.labels[val].astype(int)
    result: dict[str, object] = {"model": Path(a.model).name, "images": len(y), "real": int((y == 0).sum()),
                                 "fake": int((y == 1).sum()), "decision": det.thresholds.decision,
                                 "as_stored": measure(det, images, y)}
    for q in a.quality:
        result[f"jpeg_q{q}"] = measure(det, reencode(images, "jpeg", q), y)
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (ModelError, OSError, ValueError) as exc:  # a missing or wrong file: one line, not a traceback
        sys.exit(f"{Path(__file__).name}: {exc}")
