"""Recipe ``realworld-detector``: the real-world detector trained on a person's own folders.

    pixelpatrol-train realworld-detector --data real=PHOTOS_DIR --data fake=AI_DIR --out RUN [--epochs 8]

The same pipeline as the shipped detector (training/realworld/: shortcut-removing augmentation, packing,
the NPR-style network, calibration, bands, export with `trust.max_band: likely`), on the images of the
two folders at their own resolution, with the run protocol so that the app draws the curves and Stop
works. A random 10 % of the images (by content hash) is validation; there are no held-out sources, so
the model's trust line quotes its validation AUROC. `--resume` continues from the last epoch.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path
from typing import Any

from spec.images import TRAINING_EXTENSIONS
from training.recipes import RecipeContext

log = logging.getLogger(__name__)
NAME = "realworld-detector"
TITLE = "Real-world detector"
FIELDS = ["file", "label", "source_repo", "commit", "source_path", "generator", "kind", "sha256", "bytes",
          "width", "height", "format", "licence"]


def _manifest(ctx: RecipeContext, root: Path) -> dict[str, int]:
    from PIL import Image

    from training.data.loading import parse_spec

    rows, counts = [], {"ai": 0, "real": 0, "unreadable": 0}
    for spec in ctx.data:
        role, path = parse_spec(spec)
        if role not in ("real", "fake"):
            raise ValueError(f"{NAME}: give the data as real=FOLDER and fake=FOLDER, got {spec!r}")
        label = "ai" if role == "fake" else "real"
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ValueError(f"{NAME}: {folder} is not a folder")
        for f in sorted(folder.rglob("*")):
            if not f.is_file() or f.suffix.lower() not in TRAINING_EXTENSIONS:
                continue
            try:
                with Image.open(f) as img:
                    width, height, fmt = img.size[0], img.size[1], img.format or "?"
            except Exception:  # counted and said; one unreadable file never ends a run
                counts["unreadable"] += 1
                continue
            data = f.read_bytes()
            rows.append({"file": str(f.resolve()), "label": label, "source_repo": f"{role}={folder}",
                         "commit": "", "source_path": str(f), "generator": "", "kind": "",
                         "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "width": width,
                         "height": height, "format": fmt, "licence": ""})
            counts[label] += 1
    if counts["ai"] < 2 or counts["real"] < 2:
        raise ValueError(f"{NAME}: need at least 2 readable images in each folder (real {counts['real']}, "
                         f"fake {counts['ai']})")
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return counts


class _Hooks:
    def __init__(self, ctx: RecipeContext) -> None:
        self.ctx = ctx

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        self.ctx.run.on_batch(epoch, step, steps, {"loss": loss})

    def on_epoch(self, epoch: int, row: dict[str, Any]) -> None:
        auc = row.get("val_auc_image")
        metrics = {"loss": float(row["loss"])}
        if auc == auc and auc is not None:  # NaN when validation lacks a label
            metrics["val_auc"] = float(auc)
        self.ctx.run.on_epoch(epoch, metrics)

    def should_stop(self) -> bool:
        return bool(self.ctx.run.should_stop())


def run(ctx: RecipeContext) -> dict[str, Any] | None:
    import json

    from training.detector.finish import model_identity
    from training.realworld import pack as pack_module
    from training.realworld.finish import finish
    from training.realworld.train import train

    run_dir = ctx.run.dir
    data_root, packed, work = run_dir / "data", run_dir / "pack", run_dir / "realworld"
    epochs = ctx.epochs or 8
    batch = ctx.batch_size or 32
    if not (ctx.resume and (packed / "pack.json").exists()):
        counts = _manifest(ctx, data_root)
        log.info("images: %d real, %d AI (%d unreadable, left out)", counts["real"], counts["ai"],
                 counts["unreadable"])
        pack_module.pack(data_root, packed, crop=112, versions=2, n_native=2, seed=ctx.seed, workers=1,
                         limit=ctx.limit)
    summary = json.loads((packed / "pack.json").read_text())
    for label in ("real", "ai"):
        if not summary["by_split"].get(f"train/{label}"):
            raise ValueError(f"{NAME}: no {label} image left for training after the validation split; add images")
    train_images = sum(v for k, v in summary["by_split"].items() if k.startswith("train/"))
    steps = max(1, min(400, train_images * 6 // batch))
    ctx.run.start(epochs, ["loss", "val_auc"], initial_epoch=0)
    state = train(packed, work, epochs=epochs, steps=steps, batch=batch, lr=ctx.lr or 2e-3, weight_decay=5e-4,
                  width=int(ctx.options.get("width", 32)), resume=ctx.resume, seed=ctx.seed, hooks=_Hooks(ctx))
    if state["epoch"] < epochs:
        return None  # stopped: `--resume` continues
    name, title = model_identity(ctx, NAME, TITLE)
    result = finish(work, packed, run_dir, patch_options=(1,), max_band="likely", command=ctx.command,
                    name=name, title=title)
    ctx.run.evaluation("validation", {"roc_auc": result["val_auroc"], "ece": result["val_ece"]},
                       thresholds=result["thresholds"])
    ctx.run.exported(Path(result["export"]["path"]), name=name, opset=result["export"]["opset"],
                     parity_max_abs_diff=result["export"]["parity_max_abs_diff"],
                     parity_images=result["export"]["parity_images"])
    return {"onnx": result["export"]["path"], "metrics": {"roc_auc": result["val_auroc"]},
            "thresholds": {k: result["thresholds"][k] for k in ("decision", "real", "likely_real", "likely_ai", "ai")}}
