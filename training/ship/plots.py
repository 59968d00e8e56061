"""PNG plots of a run: training history, ROC curve, confusion matrix (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def history_from_protocol(metrics_jsonl: Path) -> list[dict[str, Any]]:
    rows = []
    for line in metrics_jsonl.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("event") == "epoch_end":
            rows.append({"epoch": rec["epoch"], **rec["metrics"]})
    by_epoch = {r["epoch"]: r for r in rows}  # a resumed run may repeat an epoch; keep the last
    return [by_epoch[k] for k in sorted(by_epoch)]


def plot_history(history: list[dict[str, Any]], path: Path, title: str) -> Path:
    plt = _plt()
    keys = [k for k in ("loss", "accuracy", "auc") if any(k in r for r in history)]
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(4.2 * max(len(keys), 1), 3.4))
    axes = np.atleast_1d(axes)
    epochs = [r["epoch"] for r in history]
    for ax, key in zip(axes, keys, strict=False):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            vals = [r.get(prefix + key) for r in history]
            if any(v is not None for v in vals):
                ax.plot(epochs, [np.nan if v is None else v for v in vals], style, label=prefix + key, ms=3)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    for label, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate (real called AI)")
    ax.set_ylabel("true positive rate (AI caught)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(matrix: list[list[int]], labels: list[str], path: Path, title: str) -> Path:
    plt = _plt()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(m, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(
                j,
                i,
                f"{m[i, j]:,}",
                ha="center",
                va="center",
                color="white" if m[i, j] > m.max() / 2 else "black",
            )
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
