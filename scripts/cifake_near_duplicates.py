"""Near-duplicates across the CIFAKE train/validation split, and what they do to validation figures.

Issue 17 asks why validation (97.84 %) overestimates the held-out set (97.34 %). Byte duplicates are
dropped before the split (training/data/loading.py); this looks for *perceptual* ones: a 64-bit DCT hash
(pHash) of each 32x32 image, also of its mirror image, and for every validation image the smallest
Hamming distance to any training image. It then scores validation with a model file and compares
balanced accuracy on validation images with and without a near twin in training, per CIFAR class too.

    .venv/bin/python scripts/cifake_near_duplicates.py --model onnx_models/cifake-cnn.onnx \
        --data /work/shared/data/cifake_train_REAL.zip --data /work/shared/data/cifake_train_FAKE.zip \
        --out /work/data/near-dup.json [--pairs-png docs/cifake-near-duplicates.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.data.loading import load_real_fake, split_train_val
from training.data.preprocess import FeedSpec
from training.data.sources import CIFAR10_CLASSES
from training.ship.evaluate import binary_metrics

THRESHOLDS = (0, 2, 4, 6, 8, 10)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def phash(images: np.ndarray, batch: int = 4096) -> np.ndarray:
    """64-bit pHash (top-left 8x8 DCT coefficients of the grey image against their median) as uint64."""
    d = _dct_matrix(images.shape[1])
    weights = (1 << np.arange(64, dtype=np.uint64)).astype(np.uint64)
    out = np.empty(len(images), np.uint64)
    for s in range(0, len(images), batch):
        g = images[s:s + batch].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        c = (d @ g @ d.T)[:, :8, :8].reshape(len(g), 64)
        med = np.median(c[:, 1:], axis=1, keepdims=True)
        bits = (c > med).astype(np.uint64)
        out[s:s + batch] = (bits * weights).sum(axis=1, dtype=np.uint64)
    return out


def nearest(query: np.ndarray, ref: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each query hash, the smallest Hamming distance to ``ref`` and the index reaching it."""
    dist = np.empty(len(query), np.int64)
    arg = np.empty(len(query), np.int64)
    for s in range(0, len(query), chunk):
        h = np.bitwise_count(query[s:s + chunk, None] ^ ref[None, :])
        arg[s:s + chunk] = h.argmin(axis=1)
        dist[s:s + chunk] = h[np.arange(len(h)), arg[s:s + chunk]]
    return dist, arg


def score(model: str, images: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([
        np.asarray(sess.run(None, {name: images[s:s + 1024].astype(np.float32)})[0]).reshape(-1)
        for s in range(0, len(images), 1024)
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threshold", type=float, default=None, help="decision threshold (default: the contract's)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pairs-png", default=None)
    a = ap.parse_args(argv)
    data = load_real_fake(a.data, FeedSpec())
    train, val = split_train_val(data, 0.1, 0)
    imgs = np.asarray(data.images)
    h_train = phash(imgs[train])
    h_val = phash(imgs[val])
    h_val_m = phash(imgs[val][:, :, ::-1])
    d1, i1 = nearest(h_val, h_train)
    d2, i2 = nearest(h_val_m, h_train)
    dist = np.minimum(d1, d2)
    twin = np.where(d1 <= d2, i1, i2)
    rng = np.random.default_rng(0)
    random_pairs = np.bitwise_count(h_val[rng.integers(0, len(h_val), 20000)] ^ h_train[rng.integers(0, len(h_train), 20000)])
    y = data.labels[val].astype(int)
    twin_y = data.labels[train][twin].astype(int)
    s = score(a.model, imgs[val])
    if a.threshold is None:
        import onnxruntime as ort

        meta = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
        a.threshold = float(json.loads(meta["pixelpatrol"])["thresholds"]["decision"])
    result: dict[str, object] = {
        "validation": len(val), "training": len(train), "threshold": a.threshold,
        "random_pair_distance": {"median": float(np.median(random_pairs)), "p1": float(np.percentile(random_pairs, 1))},
        "all": _figures(y, s, a.threshold),
    }
    by_d = {}
    for t in THRESHOLDS:
        near = dist <= t
        by_d[str(t)] = {
            "val_with_twin": int(near.sum()),
            "same_label_twins": int((near & (twin_y == y)).sum()),
            "with_twin": _figures(y[near], s[near], a.threshold) if near.sum() >= 20 else None,
            "without_twin": _figures(y[~near], s[~near], a.threshold),
        }
    result["by_max_distance"] = by_d
    groups = data.groups[val]
    result["per_class"] = {
        CIFAR10_CLASSES[c]: _figures(y[groups == c], s[groups == c], a.threshold) for c in range(10)
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("all", "random_pair_distance")}, indent=1))
    for t, v in by_d.items():
        print(t, v["val_with_twin"], v["same_label_twins"], (v["with_twin"] or {}).get("balanced_accuracy"),
              v["without_twin"]["balanced_accuracy"])
    if a.pairs_png:
        _pairs_png(imgs[val], imgs[train][twin], dist, y, twin_y, a.pairs_png)
    return 0


def _figures(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float]:
    m = binary_metrics(y, s, threshold) if len(set(y.tolist())) == 2 else None
    acc = float(np.mean((s >= threshold) == (y == 1)))
    out = {"n": len(y), "accuracy": round(acc, 5)}
    if m:
        out |= {"balanced_accuracy": round(float(m["balanced_accuracy"]), 5), "roc_auc": round(float(m["roc_auc"]), 5)}
    return out


def _pairs_png(val: np.ndarray, twins: np.ndarray, dist: np.ndarray, y: np.ndarray, ty: np.ndarray, path: str) -> None:
    from PIL import Image, ImageDraw

    order = np.argsort(dist, kind="stable")[:24]
    tile = 64
    canvas = Image.new("RGB", (len(order) // 2 * (2 * tile + 12), 2 * (tile + 18)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, i in enumerate(order):
        x0 = (k % 12) * (2 * tile + 12)
        y0 = (k // 12) * (tile + 18)
        canvas.paste(Image.fromarray(val[i]).resize((tile, tile), Image.NEAREST), (x0, y0))
        canvas.paste(Image.fromarray(twins[i]).resize((tile, tile), Image.NEAREST), (x0 + tile, y0))
        draw.text((x0 + 2, y0 + tile + 2), f"d={dist[i]} {'RF'[y[i]]}/{'RF'[ty[i]]}", fill="black")
    canvas.save(path)


if __name__ == "__main__":
    raise SystemExit(main())
