"""Do format, size or compression predict the label? A logistic model on those features alone.

Two feature sets, each fitted on the train split and scored (AUROC) on the validation split:
- ``raw files``: format, width, height, aspect, file size, bytes per pixel of the original files — the
  shortcuts the sources hold (AI mostly PNG at fixed sizes, real mostly JPEG);
- ``after processing``: what the pixels a view is cut from can still reveal about how the file was made
  and processed — JPEG traces from the source, the re-encode and its quality, the number of JPEG
  generations, the downscale factor. Near 0.5 means the detector cannot win by reading them; reported
  for the views as packed and as the detector is trained on them (format-balanced sampling).

    python -m training.realworld.shortcuts --pack DIR
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from training.realworld.train import LOSSY_FORMATS, format_weights
from training.ship.evaluate import roc_auc


def logistic_auroc(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                   steps: int = 2000, lr: float = 0.5, l2: float = 1e-3) -> float:
    """Fit a standardised, L2-regularised logistic regression by gradient descent; AUROC on the test set
    (taken as max(a, 1 - a) is NOT done: a model that learned nothing scores near 0.5 either way)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    a = np.hstack([a, np.ones((len(a), 1))])
    b = np.hstack([b, np.ones((len(b), 1))])
    w = np.zeros(a.shape[1])
    pos = y_train.mean()
    sw = np.where(y_train > 0.5, 0.5 / max(pos, 1e-9), 0.5 / max(1 - pos, 1e-9))  # label-balanced
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a @ w)))
        w -= lr * (a.T @ (sw * (p - y_train)) / len(a) + l2 * w)
    return roc_auc(y_test, b @ w)


def raw_features(rows: list[dict[str, str]]) -> np.ndarray:
    fmts = ("PNG", "JPEG", "WEBP")
    out = []
    for r in rows:
        w, h, nbytes = float(r["width"]), float(r["height"]), float(r["bytes"])
        out.append([*(float(r["format"] == f) for f in fmts), np.log(w), np.log(h), np.log(w / h),
                    np.log(nbytes), nbytes / (w * h)])
    return np.asarray(out)


def processed_features(source_jpeg: np.ndarray, jpeg: np.ndarray, quality: np.ndarray, scale: np.ndarray
                       ) -> np.ndarray:
    generations = source_jpeg + jpeg
    traces = np.maximum(source_jpeg, jpeg)
    return np.stack([source_jpeg, jpeg, generations, traces, quality, np.log(scale)], 1)


def check(pack: Path) -> dict[str, float]:
    with open(pack / "images.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    y = np.asarray([r["label"] == "ai" for r in rows], np.float64)
    split = np.asarray([r["split"] for r in rows])
    raw = raw_features(rows)
    tr, va = split == "train", split == "val"
    result = {"raw_files_auroc": logistic_auroc(raw[tr], y[tr], raw[va], y[va])}
    meta = np.load(pack / "views_meta.npz")
    n = int(meta["count"])
    img = meta["image"][:n].astype(int)
    src_jpeg = np.asarray([float(r["format"] in LOSSY_FORMATS) for r in rows])[img]
    feats = processed_features(src_jpeg, meta["jpeg"][:n], meta["quality"][:n], meta["scale"][:n])
    vy = meta["label"][:n]
    vs = meta["split"][:n]
    result["processed_views_auroc"] = logistic_auroc(feats[vs == 0], vy[vs == 0], feats[vs == 1], vy[vs == 1])
    # As the detector is trained: views drawn with the format-balancing weights (train.format_weights).
    lossy = np.asarray([r["format"] in LOSSY_FORMATS for r in rows])[img]
    weight = format_weights(vy, lossy)
    rng = np.random.default_rng(0)
    draw = {s: rng.choice(np.flatnonzero(vs == s), 20000, p=weight[vs == s] / weight[vs == s].sum()) for s in (0, 1)}
    result["processed_views_as_trained_auroc"] = logistic_auroc(feats[draw[0]], vy[draw[0]], feats[draw[1]],
                                                                vy[draw[1]])
    return {k: round(v, 4) for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.realworld.shortcuts", description=__doc__.splitlines()[0])
    p.add_argument("--pack", required=True, type=Path)
    a = p.parse_args(argv)
    print(json.dumps(check(a.pack), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
