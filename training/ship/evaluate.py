"""Binary detector evaluation: metrics, verdict thresholds chosen on validation, robustness, plots.

Score = probability of class 1 ("ai" for detectors). All metrics are computed here with numpy (no
scikit-learn dependency). Thresholds (docs/training.md, "Thresholds"):

- ``decision``: the score cut with the best balanced accuracy on validation (midpoint between
  neighbouring distinct scores);
- ``likely_ai`` / ``ai``: the lowest cut >= decision at which the precision of "AI" among images
  scoring at least the cut reaches 98 % / 99.5 %;
- ``likely_real`` / ``real``: the highest cut <= decision at which the share of real images among
  those scoring at most the cut reaches 98 % / 99.5 %;
- a target that validation cannot reach falls back to the 75th/90th percentile of the AI scores above
  the decision (25th/10th percentile of real scores below it); edges are then made strictly ordered.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

import numpy as np
from PIL import Image

BAND_TARGETS = {"likely": 0.98, "sure": 0.995}


def roc_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) over every distinct score, highest threshold first."""
    y = np.asarray(y).astype(bool)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[distinct]
    fps = (distinct + 1) - tps
    pos, neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return np.r_[0.0, fps / neg], np.r_[0.0, tps / pos], np.r_[np.inf, s_sorted[distinct]]


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Rank-based AUC (ties count half); NaN when only one class is present."""
    y = np.asarray(y).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(s: np.ndarray) -> np.ndarray:
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), np.float64)
    sorted_s = s[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1, len(s)]
    for a, b in itertools.pairwise(bounds):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    return ranks


def expected_calibration_error(y: np.ndarray, s: np.ndarray, bins: int = 10,
                               weights: np.ndarray | None = None) -> float:
    """ECE of P(class 1) over equal-width bins; with ``weights``, each sample counts by its weight (the same
    scores read as a set of another mix of classes)."""
    y = np.asarray(y, np.float64)
    s = np.asarray(s, np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, np.float64)
    idx = np.minimum((s * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any() and w[m].sum() > 0:
            ece += w[m].sum() * abs(np.average(y[m], weights=w[m]) - np.average(s[m], weights=w[m]))
    return float(ece / w.sum())


def binary_metrics(y: np.ndarray, s: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, np.float64).reshape(-1)
    pred = s >= threshold
    tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
    fn, tn = int((~pred & y).sum()), int((~pred & ~y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    return {
        "n": len(y),
        "threshold": float(threshold),
        "accuracy": (tp + tn) / max(len(y), 1),
        "balanced_accuracy": (recall + specificity) / 2,
        "precision": precision,
        "recall": recall,
        "specificity": specificity,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "roc_auc": roc_auc(y, s),
        "ece": expected_calibration_error(y, s),
        "confusion": {
            "labels": ["real", "ai"],
            "matrix": [[tn, fp], [fn, tp]],
            "rows": "true",
            "cols": "pred",
        },
    }


def best_balanced_threshold(y: np.ndarray, s: np.ndarray) -> float:
    y = np.asarray(y).astype(bool)
    fpr, tpr, thr = roc_curve(y, s)
    bal = (tpr + 1 - fpr) / 2
    i = int(np.argmax(bal[1:])) + 1  # skip the +inf point
    # "score >= cut" gives the same predictions for any cut in (next lower score, thr[i]]; take the middle.
    lower = thr[i + 1] if i + 1 < len(thr) else 0.0
    return float(np.clip((thr[i] + lower) / 2, 1e-6, 1 - 1e-6))


def threshold_held_out(y: np.ndarray, s: np.ndarray, repeats: int = 20, seed: int = 0,
                       fixed: float | None = None) -> dict[str, Any]:
    """Balanced accuracy with the decision threshold chosen on data it is not measured on.

    A threshold chosen as the best one *on* validation flatters the balanced accuracy reported there. Here
    each class is halved at random; the threshold chosen on one half is measured on the other, and the other
    way round; ``repeats`` such halvings. Returns their mean, spread and range; with ``fixed`` (a threshold
    not chosen on the data, such as 0.5 for a score calibrated to equal classes), also that threshold's mean
    on the same measured halves, so the two can be compared.
    """
    y = np.asarray(y).astype(bool).reshape(-1)
    s = np.asarray(s, np.float64).reshape(-1)
    if y.all() or not y.any():
        raise ValueError("threshold_held_out needs both classes")
    rng = np.random.default_rng(seed)
    values, at_fixed = [], []
    for _ in range(repeats):
        halves: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        for cls in (False, True):
            members = rng.permutation(np.flatnonzero(y == cls))
            halves[0].append(members[: len(members) // 2])
            halves[1].append(members[len(members) // 2 :])
        a, b = np.concatenate(halves[0]), np.concatenate(halves[1])
        for fit, test in ((a, b), (b, a)):
            t = best_balanced_threshold(y[fit], s[fit])
            values.append(binary_metrics(y[test], s[test], t)["balanced_accuracy"])
            if fixed is not None:
                at_fixed.append(binary_metrics(y[test], s[test], fixed)["balanced_accuracy"])
    v = np.asarray(values)
    extra = {"fixed": fixed, "fixed_balanced_accuracy": float(np.mean(at_fixed))} if fixed is not None else {}
    return {
        "balanced_accuracy": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
        "halvings": repeats,
        "method": "threshold of best balanced accuracy on one random half per class, measured on the other half",
        **extra,
    }


def choose_thresholds(y: np.ndarray, s: np.ndarray, decision: float | None = None) -> dict[str, Any]:
    """The verdict bands on validation scores: the decision threshold (the best balanced accuracy, or
    ``decision`` when given: a threshold not chosen on the data) and the likely/sure cuts around it by the
    precision targets. ``method`` says how each was chosen."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, np.float64).reshape(-1)
    d = best_balanced_threshold(y, s) if decision is None else float(decision)
    cuts = np.unique(s)
    up, down = cuts[cuts >= d], cuts[cuts <= d][::-1]
    how: dict[str, str] = {"decision": "best balanced accuracy on validation" if decision is None else
                           f"fixed at {d:g}, not chosen on validation"}

    def ai_cut(target: float, fallback_q: float, key: str) -> float:
        for c in up:
            sel = s >= c
            if sel.sum() >= 5 and y[sel].mean() >= target:
                how[key] = f"precision(ai) >= {target}"
                return float(c)
        how[key] = f"fallback: {fallback_q:.0%} quantile of ai scores above decision"
        above = s[(s >= d) & y]
        return float(np.quantile(above, fallback_q)) if len(above) else (1 + d) / 2

    def real_cut(target: float, fallback_q: float, key: str) -> float:
        for c in down:
            sel = s <= c
            if sel.sum() >= 5 and (~y[sel]).mean() >= target:
                how[key] = f"share of real among scores <= cut >= {target}"
                return float(c)
        how[key] = f"fallback: {fallback_q:.0%} quantile of real scores below decision"
        below = s[(s <= d) & ~y]
        return float(np.quantile(below, fallback_q)) if len(below) else d / 2

    likely_ai = max(ai_cut(BAND_TARGETS["likely"], 0.75, "likely_ai"), d)
    ai = ai_cut(BAND_TARGETS["sure"], 0.9, "ai")
    likely_real = min(real_cut(BAND_TARGETS["likely"], 0.25, "likely_real"), d)
    real = real_cut(BAND_TARGETS["sure"], 0.1, "real")
    eps = 1e-6
    ai = min(max(ai, likely_ai + eps), 1.0)
    likely_ai = min(likely_ai, ai - eps)
    real = max(min(real, likely_real - eps), 0.0)
    likely_real = max(likely_real, real + eps)
    t = {"real": real, "likely_real": likely_real, "decision": d, "likely_ai": likely_ai, "ai": ai}
    t = {k: round(float(v), 6) for k, v in t.items()}
    assert 0 <= t["real"] < t["likely_real"] <= t["decision"] <= t["likely_ai"] < t["ai"] <= 1, t
    return {**t, "method": how}


def reencode(images: np.ndarray, fmt: str, quality: int = 60) -> np.ndarray:
    """Every image saved as PNG or JPEG(quality) and decoded again (what a re-saved copy looks like)."""
    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        if fmt == "png":
            Image.fromarray(img).save(buf, format="PNG")
        else:
            Image.fromarray(img).save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    return out


def robustness(predict: Any, images: np.ndarray, y: np.ndarray, threshold: float,
               kinds: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Accuracy on validation images as they are, re-encoded as PNG and as JPEG q60; the drops. ``kinds``: sample
    masks of the kinds of fake (``gan_fakes.kind_masks``); each variant then also has ``per_kind``: the CIFAKE images'
    balanced accuracy and ROC AUC, and the share of GAN fakes flagged (a mix of kinds hides which one breaks)."""
    out: dict[str, Any] = {}
    base: dict[str, Any] | None = None
    for name, imgs in (("original", images), ("png", reencode(images, "png")), ("jpeg_q60", reencode(images, "jpeg", 60))):
        scores = predict(imgs)
        m = binary_metrics(y, scores, threshold)
        base = base or m
        out[name] = {"accuracy": m["accuracy"], "roc_auc": m["roc_auc"]}
        if name != "original":
            out[name] |= {"balanced_accuracy": m["balanced_accuracy"], "accuracy_drop": base["accuracy"] - m["accuracy"]}
        if kinds is not None:
            out[name]["per_kind"] = _robust_kinds(kinds, y, scores, threshold)
    return out


def kind_metrics(cifake: np.ndarray, y: np.ndarray, scores: np.ndarray, threshold: float
                 ) -> tuple[dict[str, Any] | None, np.ndarray]:
    """Per kind of fake: the CIFAKE images' (mask ``cifake``) binary metrics at ``threshold`` (None when they lack
    one of the labels, as a GAN expert's data does), and the scores of the other fakes (the project's GAN samples)."""
    m = binary_metrics(y[cifake], scores[cifake], threshold) if len(set(y[cifake].tolist())) == 2 else None
    return m, scores[~cifake & (y == 1)]


def _robust_kinds(kinds: dict[str, np.ndarray], y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    m, gan = kind_metrics(kinds["cifake"], y, scores, threshold)
    found: dict[str, Any] = {"gan_fakes_flagged": float(np.mean(gan >= threshold)) if len(gan) else None}
    if m is not None:
        found |= {"cifake_balanced_accuracy": m["balanced_accuracy"], "cifake_roc_auc": m["roc_auc"]}
    return found
