"""Train the real-world detector on a packed file (``training.realworld.pack``), with checkpoints and resume.

    python -m training.realworld.train --pack DIR --out RUN [--epochs 12] [--steps 400] [--resume]

Every epoch: ``RUN/last.keras`` (model + optimiser), ``RUN/best.keras`` (best validation AUROC), one JSON line
in ``RUN/metrics.jsonl`` (loss; view- and image-level AUROC on the random split and on the held-out sources).
A file ``RUN/STOP`` ends the run cleanly after the current epoch. Batches are label-balanced and format-balanced (:func:`format_weights`); views get a
random horizontal flip.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.ship.evaluate import roc_auc

log = logging.getLogger(__name__)
SPLITS = {"train": 0, "val": 1, "heldout": 2}
LOSSY_FORMATS = ("JPEG", "MPO", "WEBP")


def format_weights(label: np.ndarray, lossy: np.ndarray) -> np.ndarray:
    """Sampling weights that give both labels the same share of lossy-format (JPEG/WebP) sources.

    The sources hold AI mostly as PNG and real mostly as JPEG; re-encoding both alike (views.process) hides
    most of it, and weighting removes the rest: with these weights P(source lossy | label) is the overall
    share for both labels, and each label keeps its total weight.
    """
    label = np.asarray(label).astype(int)
    lossy = np.asarray(lossy).astype(bool)
    target = lossy.mean()
    w = np.ones(len(label))
    for k in (0, 1):
        sel = label == k
        share = lossy[sel].mean() if sel.any() else target
        if 0 < share < 1:
            w[sel & lossy] = target / share
            w[sel & ~lossy] = (1 - target) / (1 - share)
    return w


class Packed:
    def __init__(self, root: Path) -> None:
        meta = np.load(root / "views_meta.npz")
        n = int(meta["count"])
        self.views = np.load(root / "views.npy", mmap_mode="r")
        self.label = meta["label"][:n].astype(np.int64)
        self.image = meta["image"][:n].astype(np.int64)
        self.split = meta["split"][:n].astype(np.int64)
        self.kind = meta["kind"][:n].astype(np.int64)
        with open(root / "images.csv", newline="", encoding="utf-8") as fh:
            lossy = np.asarray([r["format"] in LOSSY_FORMATS for r in csv.DictReader(fh)])
        self.lossy = lossy[self.image]
        self.weight = format_weights(self.label, self.lossy)

    def indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == SPLITS[split])


def batches(data: Packed, idx: np.ndarray, batch: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    by_label = [idx[data.label[idx] == k] for k in (0, 1)]
    probs = [data.weight[b] / data.weight[b].sum() for b in by_label]
    half = batch // 2
    while True:
        pick = np.concatenate([rng.choice(by_label[0], half, p=probs[0]),
                               rng.choice(by_label[1], batch - half, p=probs[1])])
        pick.sort()  # memmap reads in order
        x = np.asarray(data.views[pick], dtype=np.float32)
        flip = rng.random(len(pick)) < 0.5
        x[flip] = x[flip, :, ::-1]
        yield x, data.label[pick].astype(np.float32)[:, None]


def predict_views(model: Any, data: Packed, idx: np.ndarray, batch: int = 256) -> np.ndarray:
    out = []
    for s in range(0, len(idx), batch):
        x = np.asarray(data.views[idx[s:s + batch]], dtype=np.float32)
        out.append(np.asarray(model(x, training=False)).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0)


def evaluate(model: Any, data: Packed, split: str) -> dict[str, float]:
    idx = data.indices(split)
    if len(idx) == 0:
        return {}
    logits = predict_views(model, data, idx)
    probs = 1 / (1 + np.exp(-logits))
    y = data.label[idx]
    images, inv = np.unique(data.image[idx], return_inverse=True)
    img_p = np.bincount(inv, probs) / np.bincount(inv)
    img_y = np.bincount(inv, y) / np.bincount(inv)
    glob = data.kind[idx] == 1
    return {
        f"{split}_auc_view": roc_auc(y, probs),
        f"{split}_auc_native": roc_auc(y[~glob], probs[~glob]),
        f"{split}_auc_global": roc_auc(y[glob], probs[glob]),
        f"{split}_auc_image": roc_auc(img_y > 0.5, img_p),
        f"{split}_images": float(len(images)),
    }


def train(pack: Path, out: Path, *, epochs: int, steps: int, batch: int, lr: float, weight_decay: float,
          width: int, resume: bool, seed: int, hooks: Any = None) -> dict[str, Any]:
    """`hooks` (optional): an object with ``on_batch(epoch, step, steps, loss)``, ``on_epoch(epoch, row)`` and
    ``should_stop() -> bool`` (the recipe's run protocol, so the app draws the curves and Stop works)."""
    import keras

    from training.realworld.net import build

    out.mkdir(parents=True, exist_ok=True)
    data = Packed(pack)
    train_idx = data.indices("train")
    state_path = out / "state.json"
    state: dict[str, Any] = {"epoch": 0, "best": -1.0, "best_epoch": None}
    if resume and (out / "last.keras").exists():
        model = keras.models.load_model(out / "last.keras", safe_mode=False)
        state = json.loads(state_path.read_text())
        log.info("resumed at epoch %d (best %.4f)", state["epoch"], state["best"])
    else:
        keras.utils.set_random_seed(seed)
        model = build(size=int(data.views.shape[1]), width=width)
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * steps, alpha=0.02,
                                                          warmup_target=None)
        model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.05))
    config = {"pack": str(pack), "epochs": epochs, "steps": steps, "batch": batch, "lr": lr,
              "weight_decay": weight_decay, "width": width, "seed": seed, "params": int(model.count_params())}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    rng = np.random.default_rng([seed, state["epoch"]])
    gen = batches(data, train_idx, batch, rng)
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as metrics:
        while state["epoch"] < epochs:
            if (out / "STOP").exists() or (hooks is not None and hooks.should_stop()):
                log.info("stop requested: stopping after epoch %d", state["epoch"])
                break
            t0 = time.time()
            losses = []
            for step in range(1, steps + 1):
                losses.append(float(model.train_on_batch(*next(gen))))
                if hooks is not None:
                    hooks.on_batch(state["epoch"] + 1, step, steps, losses[-1])
                    if hooks.should_stop() and step < steps:
                        break
            if hooks is not None and len(losses) < steps:
                log.info("stopped inside epoch %d: the epoch is not recorded", state["epoch"] + 1)
                break
            state["epoch"] += 1
            row: dict[str, Any] = {"epoch": state["epoch"], "loss": float(np.mean(losses)),
                                   "train_seconds": round(time.time() - t0, 1)}
            row.update(evaluate(model, data, "val"))
            row.update(evaluate(model, data, "heldout"))
            model.save(out / "last.keras")
            score = row.get("val_auc_image", 0.0)
            if score > state["best"]:
                state["best"], state["best_epoch"] = score, state["epoch"]
                model.save(out / "best.keras")
            state_path.write_text(json.dumps(state))
            metrics.write(json.dumps(row) + "\n")
            metrics.flush()
            log.info("%s", json.dumps(row))
            if hooks is not None:
                hooks.on_epoch(state["epoch"], row)
    return state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.realworld.train", description=__doc__.splitlines()[0])
    p.add_argument("--pack", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--steps", type=int, default=400, help="batches per epoch")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    state = train(a.pack, a.out, epochs=a.epochs, steps=a.steps, batch=a.batch, lr=a.lr,
                  weight_decay=a.weight_decay, width=a.width, resume=a.resume, seed=a.seed)
    print(json.dumps(state))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
