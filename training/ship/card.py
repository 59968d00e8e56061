"""Model card markdown (``<name>.md``) from the contract and the evaluation; only measured numbers.

Every kind of model (detector, discriminator, generator, classifier) renders the same card: :func:`card_head`
(title, summary, what it is for and not for, the facts of its kind, device, commit and date, the command that
made it), then the measured sections of its kind, then :func:`limits_lines`; :func:`write_markdown` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def card_head(title: str, card: dict[str, Any], facts: Sequence[tuple[str, str]] = (),
              intro: Sequence[str] = ()) -> list[str]:
    """The top of every card: title, summary (and an ``intro`` paragraph), **For** / **Not for**, the
    ``facts`` of its kind as (label, text), **Device**, **Commit / date**, then ## Reproduce."""
    lines = [f"# {title}", "", card.get("summary", ""), ""]
    if intro:
        lines += [*intro, ""]
    lines += [f"- **For:** {card.get('intended_use', '')}", f"- **Not for:** {card.get('not_for', '')}"]
    lines += [f"- **{label}:** {text}" for label, text in facts]
    lines += [f"- **Device:** {card.get('device')}", f"- **Commit / date:** {card.get('commit')} / {card.get('date')}", ""]
    return [*lines, *reproduce_lines(card.get("command", ""))]


def limits_lines(text: str) -> list[str]:
    """The section every card ends with: what was not measured or cannot be claimed."""
    return ["## Honest limits", "", text, ""]


def _held_out_lines(h: dict[str, Any] | None) -> list[str]:
    if not h:
        return []
    halves = f"one random half of each class ({h['halvings']} halvings, both ways)"
    chosen = (f"balanced accuracy {_pct(h['balanced_accuracy'])} on average (range {_pct(h['min'])} to "
              f"{_pct(h['max'])})")
    if h.get("fixed") is None:
        return ["The decision threshold is chosen on this same split, which flatters the balanced accuracy above. "
                f"Chosen on {halves} and measured on the other: {chosen}.", ""]
    return [f"The decision threshold is fixed at {h['fixed']:g}, not chosen on this split (the score is calibrated "
            f"to equal classes). Measured on {halves}: balanced accuracy {_pct(h['fixed_balanced_accuracy'])} on "
            f"average; a threshold chosen on the other half instead gives {chosen}.", ""]


def _kind_lines(kinds: dict[str, Any] | None) -> list[str]:
    if not kinds:
        return []
    c, g = kinds["cifake"], kinds["gan_fakes"]
    cifake = (
        f"CIFAKE alone (photos and Stable Diffusion fakes, {c['samples']:,} images) balanced accuracy "
        f"{_pct(c['balanced_accuracy'])}, ROC AUC {c['roc_auc']:.5f}, ECE {c['ece']:.4f}; " if c else ""
    )
    return [
        f"Per kind of fake, same threshold: {cifake}the project's GAN samples ({g['samples']:,}, latents never used "
        f"for training{_jpeg_share(g)}) flagged AI {_pct(g['flagged_at_decision'])} (likely AI or more: "
        f"{_pct(g['flagged_likely_ai_or_more'])}).",
        "",
    ]


def _jpeg_share(g: dict[str, Any]) -> str:
    share = g.get("jpeg_fraction")
    return f"; {_pct(share)} of them stored as JPEG at quality 60-95, as in training" if share else ""


def _robust_kind_lines(r: dict[str, Any]) -> list[str]:
    """Per kind of fake, as stored / PNG / JPEG q60 (the table above mixes them)."""
    kinds = [r[v].get("per_kind") for v in ("original", "png", "jpeg_q60")]
    if not all(kinds):
        return []
    parts = []
    if all("cifake_balanced_accuracy" in k for k in kinds):
        parts.append("CIFAKE alone balanced accuracy " + " / ".join(_pct(k["cifake_balanced_accuracy"]) for k in kinds))
    if all(k.get("gan_fakes_flagged") is not None for k in kinds):
        parts.append("the project's GAN samples flagged AI " + " / ".join(_pct(k["gan_fakes_flagged"]) for k in kinds))
    return [f"Per kind (as stored / PNG / JPEG q60): {'; '.join(parts)}.", ""] if parts else []


def _lineage_lines(lineage: list[dict[str, Any]] | None) -> list[str]:
    if not lineage:
        return []
    lines = ["Made from (each with the command that made it):", ""]
    for item in lineage:
        extra = f" (sha256 {item['sha256']}…, commit {item.get('commit')})" if item.get("sha256") else ""
        lines += [f"- {item['role']}: `{item['file']}`{extra}", "", "  ```", "  " + str(item.get("command") or "not recorded").replace("\n", "\n  "),
                  "  ```"]
    return [*lines, ""]


def _average_lines(avg: dict[str, Any] | None) -> list[str]:
    if not avg:
        return []
    best = avg.get("best_epoch")
    compared = (f", the best epoch ({avg.get('best_epoch_number')}) {best:.5f}"
                if isinstance(best, (int, float)) else "")
    return [
        f"Weights: an exponential moving average of the weights during training (decay {avg.get('decay')}, "
        f"{avg.get('updates') or 0:,} updates) measured {avg['monitor']} {avg['weight_average']:.5f} on validation"
        f"{compared}; shipped: the {avg['shipped']}.",
        "",
    ]


def _combination_lines(evaluation: dict[str, Any]) -> list[str]:
    """How the exported graph combines models: the ensemble, then the experts by the maximum."""
    lines = []
    if evaluation.get("ensemble_with"):
        how = "maximum" if evaluation.get("ensemble_combine") == "max" else "mean"
        lines += [f"One graph taking the {how} of the logits of this run's model and "
                  f"{', '.join(evaluation['ensemble_with'])}.", ""]
    if evaluation.get("experts_with"):
        offset = evaluation.get("experts_offset")
        shifted = f", each expert's logit shifted by {offset:+g} (chosen on validation)" if offset else ""
        lines += [f"Then the maximum of that logit and the logits of {', '.join(evaluation['experts_with'])} "
                  f"(experts for other kinds of fake: AI when any says so){shifted}.", ""]
    return lines


def _calibration_lines(cal: dict[str, Any] | None) -> list[str]:
    if not cal:
        return []
    how = "the logits of the image and its mirror image averaged, then " if cal["mirror_average"] else ""
    bias, balanced = cal.get("bias") or 0.0, cal.get("prior") == "balanced"
    scaled = f"divided by the temperature {cal['temperature']:.4f}" + (f", plus {bias:+.4f}," if bias else "")
    fitted = ("(negative log-likelihood), so the score is a probability for a folder of as many AI images as photos"
              if balanced else "(negative log-likelihood)")
    where = " (the CIFAKE images alone)" if cal.get("fitted_on_kind") == "cifake" else ""
    mixes = ""
    if "ece_calibrated_balanced" in cal:
        mixes = (f" Calibrated ECE read as other mixes (validation reweighted): as many fakes as photos "
                 f"{cal['ece_calibrated_balanced']:.4f}, two photos per fake {cal['ece_calibrated_two_photos_per_fake']:.4f}.")
    return [
        f"Score inside the graph: {how}{scaled} fitted on {cal['fitted_on']}{where} {fitted}. ECE (10 bins), "
        f"{'those images' if where else 'validation'} as it is: plain {cal['ece_plain']:.4f}, mirror-averaged {cal['ece_mirror_average']:.4f}, "
        f"calibrated {cal['ece_calibrated']:.4f}; ROC AUC plain {cal['auroc_plain']:.5f}, mirror-averaged "
        f"{cal['auroc_mirror_average']:.5f}.{mixes} The calibration is fitted on the same validation images it is "
        "measured on, so the calibrated ECE is optimistic.",
        "",
    ]


def reproduce_lines(command: str) -> list[str]:
    """The card section that closes every card's head: the command(s) that made it."""
    return ["## Reproduce", "", "```", command, "```", ""]


def write_markdown(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _pct(v: float) -> str:
    return f"{100 * v:.2f} %"


DETECTOR_LIMITS = (
    "Measured only on CIFAKE-style 32x32 images (CIFAR-10 photos vs Stable Diffusion 1.4). Large photos are "
    "shrunk to 32x32 before scoring, which removes most generator traces, so scores on them are weak evidence; "
    "images from other generators (Midjourney, DALL-E, newer Stable Diffusion, GANs) were not measured and "
    "may be missed or misjudged."
)
DISCRIMINATOR_LIMITS = (
    "Trained only against synthetic noise (uniform, Gaussian, smooth). It says nothing about whether a "
    "photo-like image is AI-generated, and was not measured on any real-world images other than CIFAR-10."
)


def write_card(path: Path, contract: dict[str, Any], evaluation: dict[str, Any], plots: list[str]) -> Path:
    card = contract["card"]
    neg, pos = contract.get("labels", ["real", "ai"])[:2]
    limits = card.get("limits") or (
        DISCRIMINATOR_LIMITS if contract.get("kind") == "discriminator" else DETECTOR_LIMITS
    )
    score_meaning = contract["outputs"]["score"]["meaning"]
    m = evaluation["metrics"]
    t = contract["thresholds"]
    cm = m["confusion"]["matrix"]
    r = evaluation["robustness"]
    outs = ", ".join(f"`{o['name']}` {o.get('shape')}: {o['meaning']}" for o in contract["outputs"].values())
    data = evaluation["data"]
    facts = [
        ("Input", f"`{contract['input']['name']}` float32 NHWC {contract['input']['height']}x"
                  f"{contract['input']['width']}x3 RGB in [0, 255] (scaling is inside the graph); larger images: "
                  f"feed mode `{contract['feed']['mode']}` ({contract['feed'].get('resample', '')})."),
        ("Outputs", outs),
        ("Training data", f"{card.get('training_data', '')} — {data.get('files', '?')} files, "
                          f"{data.get('duplicates_dropped', 0)} byte-duplicates dropped before the split; "
                          f"{data.get('train_samples')} training / {data.get('val_samples')} validation."),
        ("Parameters", f"{card.get('params'):,}; epochs run: {card.get('epochs')} (best checkpoint: epoch "
                       f"{card.get('best_epoch')})"),
    ]
    lines = [
        *card_head(f"{contract['title']} (`{contract['name']}.onnx`)", card, facts),
        *_lineage_lines(evaluation.get("lineage")),
        f"## Validation ({evaluation['split']})",
        "",
        f"At the decision threshold {t['decision']:.4f} "
        f"({evaluation.get('thresholds', {}).get('method', {}).get('decision', 'best balanced accuracy on validation')})"
        + (", all validation images together (the figures per kind of fake follow the table):"
           if evaluation.get("per_kind") else ":"),
        "",
        "| metric | value |",
        "|---|---|",
        f"| balanced accuracy | {_pct(m['balanced_accuracy'])} |",
        f"| accuracy | {_pct(m['accuracy'])} |",
        f"| precision ({pos}) | {_pct(m['precision'])} |",
        f"| recall ({pos}) | {_pct(m['recall'])} |",
        f"| F1 | {m['f1']:.4f} |",
        f"| ROC AUC | {m['roc_auc']:.5f} |",
        f"| ECE (10 bins) | {m['ece']:.4f} |",
        "",
        f"Confusion (rows true, cols predicted; {neg}, {pos}): {neg} {cm[0][0]:,} / {cm[0][1]:,}; {pos} {cm[1][0]:,} / "
        f"{cm[1][1]:,}." + ("" if t["decision"] == 0.5 else
                            f" At 0.5 instead: accuracy {_pct(evaluation['metrics_at_0.5']['accuracy'])}, balanced "
                            f"accuracy {_pct(evaluation['metrics_at_0.5']['balanced_accuracy'])}."),
        "",
        *_held_out_lines(evaluation.get("threshold_held_out")),
        *_kind_lines(evaluation.get("per_kind")),
        *_average_lines(evaluation.get("weight_average")),
        *_calibration_lines(evaluation.get("calibration")),
        *_combination_lines(evaluation),
        f"Verdict bands (score = {score_meaning}): "
        + ", ".join(f"{k} {t[k]:.4f}" for k in ("real", "likely_real", "decision", "likely_ai", "ai"))
        + " — " + card.get("thresholds_from", "chosen on validation") + " (docs/training.md).",
        "",
        "## Robustness (validation images re-encoded, same threshold)",
        "",
        "| variant | accuracy | drop | ROC AUC |",
        "|---|---|---|---|",
        f"| as stored | {_pct(r['original']['accuracy'])} | — | {r['original']['roc_auc']:.5f} |",
        f"| PNG (lossless re-save) | {_pct(r['png']['accuracy'])} | {100 * r['png']['accuracy_drop']:+.2f} pt "
        f"| {r['png']['roc_auc']:.5f} |",
        f"| JPEG q60 | {_pct(r['jpeg_q60']['accuracy'])} | {100 * r['jpeg_q60']['accuracy_drop']:+.2f} pt "
        f"| {r['jpeg_q60']['roc_auc']:.5f} |",
        "",
        *_robust_kind_lines(r),
        *limits_lines(limits),
        "Plots: " + ", ".join(f"`{p}`" for p in plots),
        "",
    ]
    return write_markdown(path, lines)
