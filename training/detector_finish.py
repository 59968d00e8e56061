"""After a detector has trained: evaluate its best checkpoint on validation, choose thresholds, plot,
export the ONNX with its contract and write the model card (run directory)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from training.detector import DetectorConfig, Split
from training.provenance import device_description, git_commit
from training.recipes import RecipeContext

log = logging.getLogger(__name__)
SCORE_OUTPUT = {
    "score": {"name": "score", "meaning": "probability that the image is AI-generated", "shape": [None, 1]}
}


def make_predict(model: Any) -> Any:
    from training.preprocess import to_model_input

    def predict(images: np.ndarray) -> np.ndarray:
        out = model.predict(to_model_input(images), batch_size=512, verbose=0)
        if isinstance(out, dict):
            out = out["score"]
        if isinstance(out, (list, tuple)):
            out = out[0]
        return np.asarray(out, np.float64).reshape(len(images), -1)[:, 0]

    return predict


def finish_detector(
    ctx: RecipeContext,
    cfg: DetectorConfig,
    split: Split,
    name: str,
    card: dict[str, str],
    result: dict[str, Any],
    *,
    outputs: dict[str, Any] | tuple[str, ...] = ("score",),
    tuned: dict[str, Any] | None = None,
    kind: str = "detector",
    labels: tuple[str, str] = ("real", "ai"),
) -> dict[str, Any]:
    from training.evaluate import binary_metrics, choose_thresholds, robustness, roc_curve, threshold_held_out
    from training.export import export_keras
    from training.keras_run import BEST, LAST, load_checkpoint
    from training.plots import history_from_protocol, plot_confusion, plot_history, plot_roc

    run_dir = ctx.run.dir
    ckpt = run_dir / BEST if (run_dir / BEST).exists() else run_dir / LAST
    model = load_checkpoint(ckpt)
    predict = make_predict(model)
    val_images = np.asarray(split.images[np.sort(split.val)])
    y = split.labels[np.sort(split.val)].astype(int)
    scores = predict(val_images)
    thresholds = choose_thresholds(y, scores)
    metrics = binary_metrics(y, scores, thresholds["decision"])
    metrics_05 = binary_metrics(y, scores, 0.5)
    robust = robustness(predict, val_images, y, thresholds["decision"])
    title = card.get("title", name)
    plots = {
        "history": plot_history(
            history_from_protocol(run_dir / "metrics.jsonl"), run_dir / f"{name}-history.png", title
        ),
        "roc": plot_roc(
            {title: (*roc_curve(y, scores)[:2], metrics["roc_auc"])}, run_dir / f"{name}-roc.png", title
        ),
        "confusion": plot_confusion(
            metrics["confusion"]["matrix"],
            list(labels),
            run_dir / f"{name}-confusion.png",
            f"{title} @ {thresholds['decision']:.3f}",
        ),
    }
    np.savez_compressed(run_dir / "val_scores.npz", scores=scores, labels=y, indices=np.sort(split.val))
    evaluation = {
        "split": f"validation: seeded {cfg.val_fraction:.0%} per label x class after content-hash dedup (seed {cfg.seed})",
        "checkpoint": ckpt.name,
        "metrics": metrics,
        "metrics_at_0.5": metrics_05,
        "threshold_held_out": threshold_held_out(y, scores, seed=cfg.seed),
        "thresholds": thresholds,
        "robustness": robust,
        "best_epoch": result.get("best_epoch"),
        "epochs_done": result.get("epochs_done"),
        "tuned": tuned,
        "data": split.info,
    }
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2, default=float))
    ctx.run.evaluation(
        "validation",
        metrics,
        thresholds=thresholds,
        robustness=robust,
        plots={k: p.name for k, p in plots.items()},
    )
    out_spec = dict(SCORE_OUTPUT) if isinstance(outputs, tuple) else outputs
    short = {
        k: round(float(metrics[k]), 5)
        for k in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "ece")
    }
    contract = {
        "contract_version": 1,
        "name": name,
        "kind": kind,
        "title": title,
        "input": {
            "name": "image",
            "layout": "NHWC",
            "height": cfg.feed.height,
            "width": cfg.feed.width,
            "channels": 3,
            "dtype": "float32",
            "color": "RGB",
            "value_range": [0, 255],
        },
        "feed": cfg.feed.contract(),
        "outputs": out_spec,
        "labels": list(labels),
        "thresholds": {k: thresholds[k] for k in ("decision", "real", "likely_real", "likely_ai", "ai")},
        "card": {
            **{k: v for k, v in card.items() if k != "title"},
            "training_data": "; ".join(str(s) for s in split.info.get("sources", [])) or "see card",
            "validation": {
                "split": evaluation["split"],
                "samples": len(y),
                "metrics": short,
                "robustness_accuracy_drop": {
                    k: round(v["accuracy_drop"], 5) for k, v in robust.items() if k != "original"
                },
            },
            "command": ctx.command,
            "commit": git_commit(),
            "date": dt.date.today().isoformat(),
            "device": device_description(),
            "params": int(model.count_params()),
            "epochs": result.get("epochs_done"),
            "best_epoch": result.get("best_epoch"),
        },
    }
    exported = export_keras(model, run_dir / f"{name}.onnx", contract, val_images[:512])
    ctx.run.exported(
        Path(exported["path"]),
        name=name,
        opset=exported["opset"],
        parity_max_abs_diff=exported["parity_max_abs_diff"],
        parity_images=exported["parity_images"],
    )
    from training.card import write_card

    write_card(run_dir / f"{name}.md", contract, evaluation, [p.name for p in plots.values()])
    return {
        "onnx": exported["path"],
        "metrics": short,
        "thresholds": contract["thresholds"],
        "parity_max_abs_diff": exported["parity_max_abs_diff"],
    }
