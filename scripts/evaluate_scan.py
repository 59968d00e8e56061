"""Measure a model the way a person gets it: the app's own scan (decode, routing, evidence, verdicts) on
labelled image files, per generator and per source, with the robustness variant the project checks.

    .venv/bin/python scripts/evaluate_scan.py --pack PACK|--manifest EXTRACT --split val heldout
        [--model auto|NAME|FILE] [--variant original halved_q75 thumb64 thumb32] [--out RESULT.json]

PACK is a folder made by `python -m training.realworld.pack` (its images.csv names each file's label,
source, generator and split); EXTRACT is the folder `realworld_data.py` wrote (manifest.csv), given the same
selection and splits as a pack would without packing anything. Variants, made in a temporary folder:
`halved_q75`: every file halved in both sides (Lanczos) and re-saved as JPEG quality 75; `thumb64` / `thumb32`:
the whole image shrunk to a thumbnail whose longer side is 64 / 32 px (Lanczos) and saved as JPEG quality 85,
as a gallery or a web page keeps one. Reports ROC AUC, balanced accuracy at the model's decision threshold, the
share of *confident mistakes* (verdict "ai" on a real image or "real" on an AI image), the verdict bands,
and AUROC per AI generator against all real images of the same split.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from desktop.core.models.routing import load_for_scan
from desktop.core.scan.engine import scan
from desktop.core.scan.events import RowsReady, ScanOptions
from desktop.core.scan.store import ResultStore
from training.realworld.views import open_rgb
from training.ship.evaluate import roc_auc


def _oriented_rgb(src: Path) -> Image.Image:
    """The file's pixels as the scan sees them (orientation applied; transparency over white, as the scan does)."""
    return open_rgb(str(src))[0]


def halved_q75(src: Path, dst: Path) -> Path:
    rgb = _oriented_rgb(src)
    w, h = rgb.size
    rgb = rgb.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS)
    out = dst.with_suffix(".jpg")
    rgb.save(out, "JPEG", quality=75)
    return out


def thumbnail(src: Path, dst: Path, side: int) -> Path:
    rgb = _oriented_rgb(src)
    rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = dst.with_suffix(".jpg")
    rgb.save(out, "JPEG", quality=85)
    return out


VARIANTS = {"halved_q75": halved_q75, "thumb64": functools.partial(thumbnail, side=64),
            "thumb32": functools.partial(thumbnail, side=32)}


def metrics(rows: list[dict[str, str]], scored: dict[str, tuple[float | None, str | None, str | None, str | None]]
            ) -> dict[str, object]:
    y, s, verdicts, reasons, models = [], [], [], [], []
    errors = 0
    for r in rows:
        score, verdict, reason, model = scored.get(r["_scan_path"], (None, None, None, None))
        if score is None:
            errors += 1
            continue
        y.append(r["label"] == "ai")
        s.append(score)
        verdicts.append(verdict)
        reasons.append(reason or "")
        models.append(model or "")
    ya, sa = np.asarray(y), np.asarray(s, np.float64)
    confident_wrong = sum(1 for yy, v in zip(y, verdicts, strict=True) if (v == "ai" and not yy) or (v == "real" and yy))
    ai_calls = np.asarray([v in ("ai", "likely_ai") for v in verdicts])
    real_calls = np.asarray([v in ("real", "likely_real") for v in verdicts])
    out: dict[str, object] = {
        "images": len(y), "errors": errors, "ai": int(ya.sum()), "real": int((~ya).sum()),
        "auroc": round(roc_auc(ya, sa), 4) if ya.any() and (~ya).any() else None,
        "confident_mistakes": round(confident_wrong / max(1, len(y)), 4),
        "tpr_ai_calls": round(float(ai_calls[ya].mean()), 4) if ya.any() else None,
        "tnr_real_calls": round(float(real_calls[~ya].mean()), 4) if (~ya).any() else None,
        "bands": dict(Counter(v or "error" for v in verdicts)),
        "decided_by_evidence": sum(1 for x in reasons if x and not x.startswith("model")),
        "models": dict(Counter(models)),
    }
    per_gen = {}
    gens = sorted({r["generator"] for r in rows if r["label"] == "ai"})
    lookup = {r["_scan_path"]: r for r in rows}
    keys = [k for k in scored if k in lookup and scored[k][0] is not None]
    for g in gens:
        sel = [k for k in keys if lookup[k]["label"] == "real" or lookup[k]["generator"] == g]
        n_ai = sum(1 for k in sel if lookup[k]["label"] == "ai")
        if n_ai >= 5:
            yy = np.asarray([lookup[k]["label"] == "ai" for k in sel])
            ss = np.asarray([scored[k][0] for k in sel], np.float64)
            per_gen[g] = {"images": n_ai, "auroc_vs_real": round(roc_auc(yy, ss), 4)}
    out["per_generator"] = per_gen
    per_source = {}
    for src in sorted({r["source_repo"] for r in rows if r["label"] == "real"}):
        ks = [k for k in keys if lookup[k]["source_repo"] == src]
        if ks:
            vs = [scored[k][1] for k in ks]
            per_source[src] = {"images": len(ks), "called_real_or_likely": round(
                sum(v in ("real", "likely_real") for v in vs) / len(ks), 3),
                "confident_ai": sum(v == "ai" for v in vs)}
    out["real_sources"] = per_source
    return out


def labelled_rows(pack: Path | None, manifest: Path | None) -> tuple[Path, list[dict[str, str]]]:
    """(root of the files, rows with label, source_repo, generator and split) of a pack or an extract."""
    if pack is not None:
        with open(pack / "images.csv", newline="", encoding="utf-8") as fh:
            return Path(json.loads((pack / "pack.json").read_text())["root"]), list(csv.DictReader(fh))
    assert manifest is not None
    from training.realworld.pack import CAPS, read_manifest, select, split_of

    rows = select(read_manifest(manifest), CAPS)
    for r in rows:
        r["split"] = split_of(r)
    return manifest, rows


def run(source: tuple[Path, list[dict[str, str]]], splits: list[str], model: str, variants: list[str],
        limit: int | None) -> dict[str, object]:
    root, rows = source
    rows = [r for r in rows if r["split"] in splits]
    if limit:
        rows = rows[:: max(1, len(rows) // limit)]
    detector = load_for_scan(model, device="cpu")
    result: dict[str, object] = {"model": model, "members": [m.name for m in detector.members], "splits": splits}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants:
            started = time.time()
            for i, r in enumerate(rows):
                src = root / r["file"]
                r["_scan_path"] = str(src if variant == "original" else VARIANTS[variant](src, Path(tmp) / f"{variant}-{i}"))
            store = ResultStore(Path(tmp) / f"{variant}.sqlite3")
            scored: dict[str, tuple[float | None, str | None, str | None, str | None]] = {}
            for event in scan([r["_scan_path"] for r in rows], detector, ScanOptions(use_cache=False), store=store):
                if isinstance(event, RowsReady):
                    for row in event.rows:
                        scored[row.path] = (row.score, row.verdict, row.reason, row.model)
            store.close()
            for split in splits:
                part = [r for r in rows if r["split"] == split]
                result[f"{split}/{variant}"] = metrics(part, scored)
            result[f"seconds/{variant}"] = round(time.time() - started, 1)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--pack", type=Path, help="a folder made by python -m training.realworld.pack")
    where.add_argument("--manifest", type=Path, help="a folder made by realworld_data.py (with manifest.csv)")
    p.add_argument("--split", nargs="+", default=["val", "heldout"], choices=["train", "val", "heldout"])
    p.add_argument("--model", default="auto")
    p.add_argument("--variant", nargs="+", default=["original", "halved_q75"], choices=["original", *VARIANTS])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    needed = a.pack / "images.csv" if a.pack is not None else a.manifest / "manifest.csv"
    if not needed.is_file():
        p.error(f"{needed}: not found (--pack wants a folder made by training.realworld.pack, --manifest one made by "
                "realworld_data.py)")
    result = run(labelled_rows(a.pack, a.manifest), a.split, a.model, a.variant, a.limit)
    text = json.dumps(result, indent=1)
    if a.out:
        a.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
