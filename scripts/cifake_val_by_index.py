"""CIFAKE validation figures by file index: are the fakes nearest the held-out indices harder?

The project's held-out CIFAKE fakes are file indices 5500-5999 of every class; training and validation hold
1000-5499 (`../shared/data/README.md`). If the generator's output drifted along the index (later prompts or
seeds), validation's random 10 % would flatter the held-out set. This reads a finished run's
`val_scores.npz` (scores of the validation split as the run's finish measured them), maps each validation
image back to its file name and reports accuracy at the decision and ROC AUC per range of file indices
(fakes of one range against all validation photos; photos by their own index).

    .venv/bin/python scripts/cifake_val_by_index.py /work/data/runs/cifake-cnn-v12 [--decision 0.5] \
        [--out /work/data/eval/v12-by-index.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from training.data.loading import keep_split, load_real_fake, parse_spec
from training.data.preprocess import FeedSpec
from training.data.sources import iter_entries
from training.ship.evaluate import roc_auc

FAKE_RANGES = ((1000, 2000), (2000, 3000), (3000, 4000), (4000, 5000), (5000, 5500))
REAL_RANGES = ((0, 1000), (1000, 2000), (2000, 3000), (3000, 4000), (4000, 5000))


def file_indices(run: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(file index, label, score) of the run's CIFAKE validation images (generated fakes, which come after the
    CIFAKE images in the run's data, are left out)."""
    config = json.loads((run / "config.json").read_text())
    specs = config["resolved"]["data"]
    data = load_real_fake(specs, FeedSpec(**config["resolved"]["feed"]))
    names = [e.name for spec in specs for e in keep_split(iter_entries(parse_spec(spec)[1]), "train")]
    saved = np.load(run / "val_scores.npz")
    keep = saved["indices"] < len(data)
    idx, labels, scores = saved["indices"][keep], saved["labels"][keep], saved["scores"][keep]
    if not (data.labels[idx] == labels).all():
        raise SystemExit(f"{run}: val_scores.npz does not match its data (labels differ)")
    number = re.compile(r"(\d+)")
    found = [number.match(Path(names[o]).name) for o in data.origins[idx]]
    if not all(found):
        raise SystemExit(f"{run}: a validation file name has no leading index")
    return np.array([int(m.group(1)) for m in found if m]), labels.astype(int), scores


def by_index(fid: np.ndarray, y: np.ndarray, s: np.ndarray, decision: float) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {"fake": [], "real": []}
    for kind, label, ranges in (("fake", 1, FAKE_RANGES), ("real", 0, REAL_RANGES)):
        for lo, hi in ranges:
            m = (y == label) & (fid >= lo) & (fid < hi)
            row = {"from": lo, "to": hi - 1, "images": int(m.sum()),
                   "accuracy": round(float(((s[m] >= decision) == label).mean()), 4)}
            if label == 1:
                both = (y == 0) | m
                row["roc_auc_vs_all_photos"] = round(roc_auc(y[both], s[both]), 5)
            out[kind].append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a finished run folder (config.json, val_scores.npz)")
    ap.add_argument("--decision", type=float, default=0.5, help="the score at which an image counts as AI")
    ap.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    missing = [f for f in ("config.json", "val_scores.npz") if not (args.run / f).is_file()]
    if missing:
        raise SystemExit(f"{args.run}: not a finished run folder (no {' or '.join(missing)})")
    fid, y, s = file_indices(args.run)
    result = {"run": str(args.run), "decision": args.decision, "images": len(y),
              "roc_auc_all": round(roc_auc(y, s), 5), **by_index(fid, y, s, args.decision)}
    for kind in ("fake", "real"):
        for r in result[kind]:
            extra = f", ROC AUC vs all photos {r['roc_auc_vs_all_photos']:.5f}" if kind == "fake" else ""
            print(f"{kind} {r['from']:>4}-{r['to']:<4} {r['images']:>5} images: accuracy {r['accuracy']:.2%}{extra}")
    print(f"all: ROC AUC {result['roc_auc_all']:.5f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
