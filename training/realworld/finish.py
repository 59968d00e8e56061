"""After training: calibrate on validation files, choose the verdict bands, export the ONNX with its contract.

    python -m training.realworld.finish --run RUN --pack PACK --out onnx_models [--patches 4] [--max-band likely]

Everything here runs on the *files* of the validation split (not the packed views), through
:func:`training.realworld.views.inference_views` — the same views the scan engine makes:
1. per-view logits from the best checkpoint;
2. a temperature T (inside the exported graph: score = sigmoid(logit / T)) minimising the negative
   log-likelihood of the image score (the mean of its views' probabilities, the contract's aggregate);
3. the bands (training.ship.evaluate.choose_thresholds) on the calibrated validation image scores;
4. export with tf2onnx and a Keras/onnxruntime parity check on validation views; `RUN/finish.json` keeps
   every number, and the contract carries domain, trust and a card.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from training.data.preprocess import FeedSpec
from training.detector.calibrate import fit_temperature
from training.detector.calibrate import view_scores as image_scores

log = logging.getLogger(__name__)
NAME = "realworld-detector"
CROP = 112


def image_views(paths: list[Path], feed: FeedSpec) -> tuple[list[np.ndarray], list[str | None]]:
    from training.realworld.views import inference_views, open_rgb

    views: list[np.ndarray] = []
    errors: list[str | None] = []
    for p in paths:
        try:
            img, _ = open_rgb(str(p))
            views.append(inference_views(img, feed))
            errors.append(None)
        except Exception as exc:  # counted and reported, never silently dropped
            views.append(np.zeros((0, feed.height, feed.width, 3), np.uint8))
            errors.append(f"{type(exc).__name__}: {exc}")
    return views, errors


def view_logits(model: Any, views: list[np.ndarray], batch: int = 256) -> list[np.ndarray]:
    counts = [len(v) for v in views]
    flat = np.concatenate([v for v in views if len(v)]) if any(counts) else np.zeros((0, CROP, CROP, 3), np.uint8)
    out = []
    for s in range(0, len(flat), batch):
        out.append(np.asarray(model(flat[s:s + batch].astype(np.float32), training=False)).reshape(-1))
    logits = np.concatenate(out) if out else np.zeros(0)
    parts, offset = [], 0
    for n in counts:
        parts.append(logits[offset:offset + n])
        offset += n
    return parts


def export_model(model: Any, temperature: float) -> Any:
    import keras

    inp = keras.Input((CROP, CROP, 3), name="image")
    logit = model(inp)
    score = keras.layers.Activation("sigmoid", name="score")(keras.layers.Rescaling(1.0 / temperature)(logit))
    return keras.Model(inp, score, name="realworld_detector_calibrated")


SPEED_TOLERANCE = 0.005


def finish(run: Path, pack: Path, out: Path, *, patch_options: tuple[int, ...], max_band: str, command: str,
           name: str = NAME, title: str = "Real-world detector (photos, art, screenshots vs AI images)",
           trust_on: str | None = None) -> dict[str, Any]:
    import keras

    import training.realworld.net  # noqa: F401  (registers the custom layers)
    from training.detector.finish import choose_bands
    from training.ship.evaluate import binary_metrics, expected_calibration_error, roc_auc
    from training.ship.onnx import export_keras
    from training.ship.provenance import device_description, git_commit

    started = time.time()
    ckpt = run / "best.keras" if (run / "best.keras").exists() else run / "last.keras"
    model = keras.models.load_model(ckpt, safe_mode=False)
    with open(pack / "images.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    root = Path(json.loads((pack / "pack.json").read_text())["root"])
    val = [r for r in rows if r["split"] == "val"]
    # How many native crops at scan time: each costs one network pass per image. The fewest whose
    # validation AUROC is within SPEED_TOLERANCE of the best is used.
    candidates = {}
    for n in sorted(set(patch_options)):
        feed = FeedSpec(height=CROP, width=CROP, mode="multiscale", resample="bilinear", max_patches=n,
                        aggregate="mean")
        views, errors = image_views([root / r["file"] for r in val], feed)
        ok = [i for i, e in enumerate(errors) if e is None]
        y = np.asarray([val[i]["label"] == "ai" for i in ok], np.float64)
        logits = view_logits(model, [views[i] for i in ok])
        candidates[n] = (feed, views, errors, ok, y, logits, roc_auc(y, image_scores(logits, 1.0)))
        log.info("max_patches %d: validation AUROC %.4f", n, candidates[n][-1])
    aucs = {n: c[-1] if c[-1] == c[-1] else -1.0 for n, c in candidates.items()}  # NaN: one label in validation
    best_auc = max(aucs.values())
    patches = min(n for n, a in aucs.items() if a >= best_auc - SPEED_TOLERANCE)
    feed, views, errors, ok, y, logits, _ = candidates[patches]
    temperature = fit_temperature(logits, y)
    scores = image_scores(logits, temperature)
    if len(set(y.tolist())) < 2:
        raise ValueError(f"validation holds only one label ({len(ok)} images): add images to both folders")
    # from fewer than MIN_VAL_FOR_BANDS images: wide bands around the measured decision (the note says so)
    thresholds, bands_note = choose_bands(y, scores)
    metrics = binary_metrics(y, scores, thresholds["decision"])
    auc = roc_auc(y, scores)
    ece = expected_calibration_error(y, scores)
    ece_raw = expected_calibration_error(y, image_scores(logits, 1.0))
    per_generator = {}
    real = y == 0
    for gen in sorted({val[i]["generator"] for i in ok if val[i]["label"] == "ai"}):
        sel = np.asarray([val[i]["generator"] == gen for i in ok])
        if sel.sum() >= 5:
            per_generator[gen] = {"images": int(sel.sum()),
                                  "auroc_vs_all_real": round(roc_auc(y[sel | real], scores[sel | real]), 4)}
    train_cfg = json.loads((run / "config.json").read_text())
    state = json.loads((run / "state.json").read_text())
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    best = next((h for h in history if h["epoch"] == state.get("best_epoch")), history[-1] if history else {})
    trust_auc = best.get("heldout_auc_image")
    if trust_auc is None or trust_auc != trust_auc:  # no held-out sources (a person's own two folders)
        trust_auc = auc
        trust_on = f"a random 10 % validation split of its own training folders ({len(ok)} images)"
    contract = {
        "contract_version": 1,
        "name": name,
        "kind": "detector",
        "title": title,
        "input": {"name": "image", "layout": "NHWC", "height": CROP, "width": CROP, "channels": 3,
                  "dtype": "float32", "color": "RGB", "value_range": [0, 255]},
        "feed": feed.contract(),
        "outputs": {"score": {"name": "score", "meaning": "probability that the image is AI-generated",
                              "shape": [None, 1]}},
        "labels": ["real", "ai"],
        "thresholds": {k: thresholds[k] for k in ("decision", "real", "likely_real", "likely_ai", "ai")},
        "domain": {"long_side": [None, None],
                   "description": "photos, paintings, drawings, screenshots and AI images at their own resolution"},
        "trust": {"auroc": None if trust_auc is None else round(float(trust_auc), 3),
                  "measured_on": trust_on or "sources and generators never trained on (GPT-4o, Flux/Nano "
                                             "Banana/Qwen illustrations, Midjourney; camera photos)",
                  "max_band": max_band},
        "card": {
            "summary": "From-scratch NPR-style residual CNN on native-resolution 112 px crops plus one whole-image "
                       "view; trained on 24 public repositories of real photos/art/screenshots and AI images.",
            "intended_use": "a first opinion on photos and web images; read with the trust line and the evidence",
            "not_for": "proof: moderate accuracy, weak on resized/recompressed modern AI images",
            "training_data": "docs/data.md (sources, commits, counts, licences)",
            "validation": {"split": "random 10% of the training sources by content hash (images never trained "
                                    "on); unseen sources and generators in 'trust'",
                           "samples": len(ok), "metrics": {"roc_auc": round(auc, 4), "ece": round(ece, 4),
                                                           "balanced_accuracy": round(metrics["balanced_accuracy"], 4)}},
            "command": command,
            "train_command": f"python -m training.realworld.train --pack PACK --out RUN --epochs {train_cfg['epochs']} "
                             f"--steps {train_cfg['steps']} --batch {train_cfg['batch']}",
            "commit": git_commit(),
            "date": dt.date.today().isoformat(),
            "device": device_description(),
            "params": int(model.count_params()),
            "epochs": state.get("epoch"),
            "best_epoch": state.get("best_epoch"),
            "temperature": round(temperature, 4),
        },
    }
    calibrated = export_model(model, temperature)
    parity = np.concatenate([v for v in views[:64] if len(v)])[:256]
    exported = export_keras(calibrated, out / f"{name}.onnx", contract, parity)
    result = {
        "checkpoint": ckpt.name, "val_images": len(ok), "val_errors": [val[i]["file"] for i, e in enumerate(errors) if e],
        "temperature": temperature, "val_auroc": auc, "val_ece": ece, "val_ece_uncalibrated": ece_raw,
        "thresholds": thresholds, "bands_note": bands_note, "metrics": metrics, "per_generator_val": per_generator,
        "patches": patches, "patch_candidates_val_auroc": {n: c[-1] for n, c in candidates.items()},
        "best_epoch_metrics": best, "export": exported, "seconds": round(time.time() - started, 1),
    }
    (run / "finish.json").write_text(json.dumps(result, indent=1, default=float))
    np.savez_compressed(run / "val_image_scores.npz", scores=scores, labels=y,
                        files=np.asarray([val[i]["file"] for i in ok]))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.realworld.finish", description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, type=Path)
    p.add_argument("--pack", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--patches", type=int, nargs="+", default=[1, 4],
                   help="candidate native crops per image at scan time (plus one whole view); the fewest within "
                        f"{SPEED_TOLERANCE} validation AUROC of the best is used")
    p.add_argument("--max-band", choices=("confident", "likely"), default="likely",
                   help="'likely': the model alone never gives a confident verdict (contract trust.max_band)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    command = "python -m training.realworld.finish " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    result = finish(a.run, a.pack, a.out, patch_options=tuple(a.patches), max_band=a.max_band, command=command)
    print(json.dumps({k: result[k] for k in ("val_images", "temperature", "val_auroc", "val_ece", "thresholds",
                                             "patches", "patch_candidates_val_auroc")},
                     indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
