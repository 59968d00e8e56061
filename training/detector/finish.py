"""After a detector has trained: evaluate its best checkpoint on validation, choose thresholds, plot,
export the ONNX with its contract and write the model card (run directory)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from training.detector.fit import DetectorConfig, Split
from training.recipes import RecipeContext
from training.ship.provenance import device_description, git_commit

log = logging.getLogger(__name__)
# Verdict bands chosen on fewer validation images than this are noise (80 images once gave
# real = likely_real and likely_ai = ai, and 60 % of a scan "uncertain"): wide bands are used instead.
MIN_VAL_FOR_BANDS = 200
BALANCED_DECISION = 0.5  # the decision threshold of a score calibrated with calibrate_prior=balanced
WIDE_BANDS = {"real": 0.05, "likely_real": 0.3, "decision": 0.5, "likely_ai": 0.7, "ai": 0.95}
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")


def model_identity(ctx: RecipeContext, recipe_name: str, recipe_title: str) -> tuple[str, str]:
    """The trained model's own name and title: from `--name` or the run folder, plus recipe and date.

    `--name` equal to the recipe's model name keeps the recipe's identity (how shipped models are made);
    otherwise no two runs export a model under the same name, and none under a shipped model's name.
    """
    raw = ctx.run.config.get("args")
    args: dict[str, Any] = raw if isinstance(raw, dict) else {}
    typed = str(args.get("name") or "").strip()
    label = typed or ctx.run.dir.name
    name = _NAME_CHARS.sub("-", label.lower()).strip("-._") or recipe_name
    date = dt.date.today().isoformat()
    if name == recipe_name:
        if typed:
            return recipe_name, recipe_title
        name = f"{recipe_name}-{date}"
    return name, f"{label} ({recipe_title}, trained {date})"


def data_sources(info: dict[str, Any]) -> str:
    """The card's "training data": each --data source and each pinned_reals source (folders as absolute paths) and
    the counts."""
    parts = []
    for source in info.get("sources", []):
        role, sep, path = str(source).partition("=")
        if not sep or role not in ("real", "fake"):
            role, sep, path = "", "", str(source)
        local = Path(path).expanduser()
        parts.append(f"{role}{sep}{local.resolve() if local.exists() else path}")
    for source in (info.get("pinned_reals") or {}).get("sources") or []:  # gan_fakes.with_pinned_reals
        local = Path(str(source)).expanduser()
        parts.append(f"real={local.resolve() if local.exists() else source} (pinned by position)")
    counts = ""
    if info.get("files") is not None:
        counts = f" ({info['files']} files: {info.get('train_samples', '?')} training, " \
                 f"{info.get('val_samples', '?')} validation)"
    return ("; ".join(parts) or "see card") + counts


def wide_bands(decision: float) -> dict[str, float]:
    """The default bands (0.05 / 0.3 / 0.5 / 0.7 / 0.95) moved to sit around `decision`: each edge keeps
    its share of the distance from the decision to 0 or to 1."""
    d = min(max(float(decision), 0.01), 0.99)
    low = {k: d * WIDE_BANDS[k] / 0.5 for k in ("real", "likely_real")}
    high = {k: d + (1 - d) * (WIDE_BANDS[k] - 0.5) / 0.5 for k in ("likely_ai", "ai")}
    return {k: round(v, 6) for k, v in {**low, "decision": d, **high}.items()}


def choose_bands(y: np.ndarray, scores: np.ndarray, decision: float | None = None) -> tuple[dict[str, Any], str]:
    """Verdict bands from validation; from too few images, the wide default bands around the measured
    decision threshold (a small run's scores are often far from 0.5). The note says which, and on how many.
    ``decision``: a decision threshold not to choose on validation (0.5 for a score calibrated to equal
    classes); the likely/sure bands are still chosen around it."""
    from training.ship.evaluate import choose_thresholds

    chosen = choose_thresholds(y, scores, decision)
    n = len(y)
    if n >= MIN_VAL_FOR_BANDS:
        if decision is not None:
            return chosen, (f"decision fixed at {decision:g} (the score is calibrated to equal classes), other "
                            f"bands chosen on {n} validation images")
        return chosen, f"chosen on {n} validation images"
    why = f"fallback: only {n} validation images (fewer than {MIN_VAL_FOR_BANDS})"
    bands = wide_bands(chosen["decision"])
    measured = {k: chosen[k] for k in WIDE_BANDS}
    return (
        {**bands, "method": {**dict.fromkeys(WIDE_BANDS, why), "decision": chosen["method"]["decision"]},
         "measured_on_too_few": measured},
        f"wide default bands around the decision threshold {bands['decision']:.3f} ({chosen['method']['decision']}): "
        f"only {n} validation images, fewer than the {MIN_VAL_FOR_BANDS} that bands are chosen from",
    )


SCORE_OUTPUT = {
    "score": {"name": "score", "meaning": "probability that the image is AI-generated", "shape": [None, 1]}
}


def make_predict(model: Any) -> Any:
    from training.data.preprocess import to_model_input

    def predict(images: np.ndarray) -> np.ndarray:
        out = model.predict(to_model_input(images), batch_size=512, verbose=0)
        if isinstance(out, dict):
            out = out["score"]
        if isinstance(out, (list, tuple)):
            out = out[0]
        return np.asarray(out, np.float64).reshape(len(images), -1)[:, 0]

    return predict


def kind_masks_of(split: Split, y: np.ndarray) -> dict[str, np.ndarray] | None:
    """Validation sample masks per kind of fake (``gan_fakes.kind_masks``); None when the data record no kinds."""
    from training.data.gan_fakes import kind_masks

    return None if split.groups is None else kind_masks(split.groups[np.sort(split.val)], y)


def per_kind(masks: dict[str, np.ndarray] | None, y: np.ndarray, scores: np.ndarray, thresholds: dict[str, Any]
             ) -> dict[str, Any] | None:
    """Validation figures per kind of fake when the project's GAN samples trained beside CIFAKE: the CIFAKE
    images alone (what the held-out bar measures), and the share of GAN fakes flagged."""
    if masks is None or masks["cifake"].all():
        return None
    from training.ship.evaluate import kind_metrics

    c = masks["cifake"]
    m, gan = kind_metrics(c, y, scores, thresholds["decision"])
    cifake = None
    if m is not None:  # without any CIFAKE fake (a GAN expert's data) there is no CIFAKE figure
        cifake = {k: round(float(m[k]), 5) for k in ("balanced_accuracy", "accuracy", "roc_auc", "ece")}
        cifake["samples"] = int(c.sum())
    return {
        "cifake": cifake,
        "gan_fakes": {
            "samples": len(gan),
            "flagged_at_decision": round(float(np.mean(gan >= thresholds["decision"])), 5),
            "flagged_likely_ai_or_more": round(float(np.mean(gan >= thresholds["likely_ai"])), 5),
        },
    }


def lineage(cfg: DetectorConfig) -> list[dict[str, Any]]:
    """Where a fine-tuned or combined model came from: the ONNX it started from (its own recorded command and
    commit, read from its contract) and each ensemble member's run (the command in its config.json)."""
    import hashlib

    out: list[dict[str, Any]] = []
    if cfg.init_from:
        import onnx

        from spec.contract import CONTRACT_KEY

        path = Path(cfg.init_from)
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        card = json.loads(meta.get(CONTRACT_KEY, "{}")).get("card", {})
        out.append({"role": "started from", "file": path.name,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
                    "command": card.get("command"), "commit": card.get("commit")})
    for role, paths in (("ensemble member", cfg.ensemble_paths), ("expert (maximum of the logits)", cfg.expert_paths)):
        for member in paths:
            config = Path(member).parent / "config.json"
            command = json.loads(config.read_text()).get("command") if config.exists() else None
            out.append({"role": role, "file": str(member), "command": command})
    return out


def final_model(cfg: DetectorConfig, model: Any, val_images: np.ndarray, y: np.ndarray,
                fit_on: np.ndarray | None = None) -> tuple[Any, dict[str, Any] | None]:
    """The graph to export: the best checkpoint, combined with ``cfg.ensemble_with``'s, then joined to
    ``cfg.experts_with`` by the maximum, then mirror-averaged and temperature-scaled when asked; and what
    calibration measured (on the validation images ``fit_on`` selects, all when None)."""
    from training.detector.calibrate import calibrate, ensemble_logits, offset_logits
    from training.keras_run import load_checkpoint

    if cfg.ensemble_paths:
        model = ensemble_logits([model, *(load_checkpoint(p) for p in cfg.ensemble_paths)], cfg.ensemble_combine)
    if cfg.expert_paths:
        experts = [load_checkpoint(p) for p in cfg.expert_paths]
        if cfg.experts_offset:
            experts = [offset_logits(e, cfg.experts_offset) for e in experts]
        model = ensemble_logits([model, *experts], "max")
    if not (cfg.tta_flip or cfg.calibrate):
        return model, None

    if fit_on is not None:
        val_images, y = val_images[fit_on], y[fit_on]
        if len(np.unique(y)) < 2:
            raise ValueError("calibrate_on=cifake: the CIFAKE validation images hold one class only (a GAN expert's data?)"
                             "; calibrate on all of them instead")
    scored, calibration = calibrate(model, val_images, y, mirror=cfg.tta_flip, fit=cfg.calibrate,
                                    prior=cfg.calibrate_prior)
    if fit_on is not None:
        calibration["fitted_on_kind"] = "cifake"
    return scored, calibration


def _plots(run_dir: Path, stem: str, title: str, labels: list[str], y: np.ndarray, scores: np.ndarray,
           metrics: dict[str, Any], decision: float) -> dict[str, Path]:
    from training.ship.evaluate import roc_curve
    from training.ship.plots import history_from_protocol, plot_confusion, plot_history, plot_roc

    history = history_from_protocol(run_dir / "metrics.jsonl")
    return {
        "history": plot_history(history, run_dir / f"{stem}-history.png", title),
        "roc": plot_roc({title: (*roc_curve(y, scores)[:2], metrics["roc_auc"])}, run_dir / f"{stem}-roc.png", title),
        "confusion": plot_confusion(
            metrics["confusion"]["matrix"], labels, run_dir / f"{stem}-confusion.png", f"{title} @ {decision:.3f}"
        ),
    }


def detector_contract(
    name: str,
    title: str,
    kind: str,
    feed: Any,
    outputs: dict[str, Any],
    labels: tuple[str, str],
    thresholds: dict[str, Any],
    card: dict[str, Any],
) -> dict[str, Any]:
    """The contract of a detector or discriminator that takes one 0..255 RGB image (docs/model-contract.md);
    the card gets the commit, date and device here."""
    return {
        "contract_version": 1,
        "name": name,
        "kind": kind,
        "title": title,
        "input": {
            "name": "image", "layout": "NHWC", "height": feed.height, "width": feed.width, "channels": 3,
            "dtype": "float32", "color": "RGB", "value_range": [0, 255],
        },
        "feed": feed.contract(),
        "outputs": dict(outputs),
        "labels": list(labels),
        "thresholds": {k: thresholds[k] for k in ("decision", "real", "likely_real", "likely_ai", "ai")},
        "card": {**card, "commit": git_commit(), "date": dt.date.today().isoformat(), "device": device_description()},
    }


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
    from training.keras_run import BEST, LAST, load_checkpoint
    from training.ship.evaluate import binary_metrics, robustness, threshold_held_out
    from training.ship.onnx import export_keras

    run_dir = ctx.run.dir
    ckpt = run_dir / BEST if (run_dir / BEST).exists() else run_dir / LAST
    averaged = None
    val_images = np.asarray(split.images[np.sort(split.val)])
    y = split.labels[np.sort(split.val)].astype(int)
    if cfg.ema_decay is not None:
        from training.detector.ema import choose_checkpoint
        from training.ship.evaluate import roc_auc

        def exact_auc(path: Path) -> float:
            return roc_auc(y, make_predict(load_checkpoint(path))(val_images))

        ckpt, averaged = choose_checkpoint(run_dir, ckpt, cfg.monitor, cfg.monitor_mode, exact_auc)
    masks = kind_masks_of(split, y)
    fit_on = masks["cifake"] if masks is not None and cfg.calibrate_on == "cifake" else None
    model, calibration = final_model(cfg, load_checkpoint(ckpt), val_images, y, fit_on)
    predict = make_predict(model)
    scores = predict(val_images)
    # A score calibrated to equal classes is a probability for a folder of as many fakes as photos: there 0.5 is
    # the threshold of the best balanced accuracy, and it transfers better than one chosen on validation (session 14:
    # chosen on half of validation and measured on the other, 98.10 % vs 98.13 % at 0.5 for cifake-cnn v10)
    fixed = BALANCED_DECISION if calibration and calibration.get("prior") == "balanced" else None
    thresholds, thresholds_from = choose_bands(y, scores, fixed)
    metrics = binary_metrics(y, scores, thresholds["decision"])
    kinds = per_kind(masks, y, scores, thresholds)
    if kinds and cfg.gan_fake_jpeg:
        kinds["gan_fakes"]["jpeg_fraction"] = cfg.gan_fake_jpeg
    robust = robustness(predict, val_images, y, thresholds["decision"], masks if kinds else None)
    file_stem = name  # run-folder files keep the recipe's name; the model inside gets its own
    name, title = model_identity(ctx, name, card.get("title", name))
    plots = _plots(run_dir, file_stem, title, list(labels), y, scores, metrics, thresholds["decision"])
    np.savez_compressed(run_dir / "val_scores.npz", scores=scores, labels=y, indices=np.sort(split.val))
    evaluation = {
        "split": f"validation: seeded {cfg.val_fraction:.0%} per label x class after content-hash dedup (seed {cfg.seed})",
        "checkpoint": ckpt.name,
        "metrics": metrics,
        "metrics_at_0.5": binary_metrics(y, scores, 0.5),
        "threshold_held_out": threshold_held_out(y, scores, seed=cfg.seed, fixed=fixed),
        "thresholds": thresholds,
        "robustness": robust,
        "best_epoch": result.get("best_epoch"),
        "epochs_done": result.get("epochs_done"),
        "tuned": tuned,
        "data": split.info,
        "calibration": calibration,
        "weight_average": averaged,
        "per_kind": kinds,
        "ensemble_with": cfg.ensemble_paths or None,
        "ensemble_combine": cfg.ensemble_combine if cfg.ensemble_paths else None,
        "experts_with": cfg.expert_paths or None,
        "experts_offset": cfg.experts_offset if cfg.expert_paths else None,
        "lineage": lineage(cfg),
    }
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2, default=float))
    ctx.run.evaluation(
        "validation",
        metrics,
        thresholds=thresholds,
        thresholds_from=thresholds_from,
        robustness=robust,
        plots={k: p.name for k, p in plots.items()},
    )
    short = {
        k: round(float(metrics[k]), 5)
        for k in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "ece")
    }
    validation = {
        "split": evaluation["split"],
        "samples": len(y),
        "metrics": short,
        "robustness_accuracy_drop": {k: round(v["accuracy_drop"], 5) for k, v in robust.items() if k != "original"},
        **({"per_kind": kinds} if kinds else {}),
        **({"calibration": calibration} if calibration else {}),
        **({"weight_average": averaged} if averaged else {}),
    }
    card_fields = {
        **{k: v for k, v in card.items() if k != "title"},
        "training_data": data_sources(split.info),
        "thresholds_from": thresholds_from,
        "validation": validation,
        "command": ctx.command,
        "params": int(model.count_params()),
        "epochs": result.get("epochs_done"),
        "best_epoch": result.get("best_epoch"),
    }
    contract = detector_contract(
        name, title, kind, cfg.feed, SCORE_OUTPUT if isinstance(outputs, tuple) else outputs, labels,
        thresholds, card_fields,
    )
    exported = export_keras(model, run_dir / f"{file_stem}.onnx", contract, val_images[:512])
    ctx.run.exported(
        Path(exported["path"]),
        name=name,
        opset=exported["opset"],
        parity_max_abs_diff=exported["parity_max_abs_diff"],
        parity_images=exported["parity_images"],
    )
    from training.ship.card import write_card

    write_card(run_dir / f"{file_stem}.md", contract, evaluation, [p.name for p in plots.values()])
    return {
        "onnx": exported["path"],
        "metrics": short,
        "thresholds": contract["thresholds"],
        "parity_max_abs_diff": exported["parity_max_abs_diff"],
    }
