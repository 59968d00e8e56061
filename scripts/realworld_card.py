"""Render onnx_models/realworld-detector.md from what was measured (no number is typed by hand).

    .venv/bin/python scripts/realworld_card.py RUN_DIR EVAL.json PACK_DIR [BENCH.json [FP32_EVAL.json [QUANT.json]]] \
        > onnx_models/realworld-detector.md

RUN_DIR: the training run (config.json, state.json, metrics.jsonl, finish.json); EVAL.json: the output of
scripts/evaluate_scan.py; PACK_DIR: the packed data (pack.json); BENCH.json: benchmarks/bench_realworld.py;
FP32_EVAL.json / QUANT.json (optional): the float model's evaluation and quantize.py's report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


LABELS = {"original": "original files", "halved_q75": "halved + JPEG q75"}


def table(ev: dict[str, Any], split: str) -> list[str]:
    out = ["| variant | images (AI / real) | ROC AUC | confident mistakes | AI called AI or likely AI | real called real or likely real | decided by evidence |",
           "|---|---|---|---|---|---|---|"]
    for variant in ("original", "halved_q75"):
        m = ev.get(f"{split}/{variant}")
        if not m:
            continue
        out.append(f"| {LABELS[variant]} | {m['images']} ({m['ai']} / {m['real']}) | {num(m['auroc'])} | "
                   f"{pct(m['confident_mistakes'])} | {pct(m['tpr_ai_calls'])} | {pct(m['tnr_real_calls'])} | "
                   f"{m['decided_by_evidence']} |")
    return out


def main() -> int:
    run, ev_path, pack = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    bench = json.loads(Path(sys.argv[4]).read_text()) if len(sys.argv) > 4 else None
    fp32 = json.loads(Path(sys.argv[5]).read_text()) if len(sys.argv) > 5 else None  # the float model, same script
    quant = json.loads(Path(sys.argv[6]).read_text()) if len(sys.argv) > 6 else None  # quantize.py's report
    fin = json.loads((run / "finish.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    state = json.loads((run / "state.json").read_text())
    ev = json.loads(ev_path.read_text())
    packed = json.loads((pack / "pack.json").read_text())
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    t = fin["thresholds"]
    lines = [
        "# Real-world detector (`realworld-detector`)",
        "",
        "Photos, paintings, drawings and screenshots against AI images, at native resolution. The default scan",
        "sends it every image larger than a thumbnail (contract `domain`); it never gives a confident verdict on",
        "its own (`trust.max_band: likely`): its accuracy on generators and cameras it never saw does not",
        "support one. Provenance evidence in the file (C2PA, generator parameters) can still decide a verdict",
        "(docs/verdicts.md).",
        "",
        "## What it is",
        f"- From-scratch NPR-style residual CNN (`training/realworld/net.py`), {cfg['params']:,} parameters; "
        "input: raw pixels and their NPR residual "
        "(x − nearest-upsample(nearest-downsample(x))).",
        f"- Scan-time feed `multiscale`: {fin['patches']} native-resolution 112 px crop(s) on an evenly spread grid "
        "plus one whole-image view (central square resized to 112 px); the image score is the mean of the views' "
        f"calibrated probabilities. The number of crops was chosen on validation: "
        + ", ".join(f"{k} crop(s) → AUROC {v:.4f}" for k, v in fin["patch_candidates_val_auroc"].items())
        + " (the fewest within 0.005 of the best).",
        f"- Trained {state['epoch']} epochs × {cfg['steps']} batches of {cfg['batch']} (label- and format-balanced), "
        f"AdamW {cfg['lr']} cosine, weight decay {cfg['weight_decay']}, on 2 CPU cores (no GPU); best epoch "
        f"{state['best_epoch']} by validation AUROC.",
        f"- Calibrated by temperature scaling on validation files: T = {fin['temperature']:.3f} "
        f"(ECE {fin['val_ece_uncalibrated']:.3f} → {fin['val_ece']:.3f}).",
        f"- Bands (on validation): real ≤ {t['real']:.3f} < likely real ≤ {t['likely_real']:.3f} < uncertain < "
        f"{t['likely_ai']:.3f} ≤ likely AI < {t['ai']:.3f} ≤ AI; decision {t['decision']:.3f}. With "
        "`max_band: likely` the outer bands show as likely.",
        "",
        "## Data",
        f"{packed['images']:,} images from 24 public repositories (docs/data.md): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(packed["by_split"].items())) + ". Held out (never trained on): "
        + ", ".join(packed["heldout_sources"]) + "; generators " + ", ".join(packed["heldout_generators"]) + ".",
        "",
        "## Measured through the app (`scripts/evaluate_scan.py`, the default scan: routing, evidence, verdicts)",
        "",
        "### Validation: a random 10 % of the training sources (images never trained on)",
        *table(ev, "val"),
        "",
        "### Held out: sources and generators never trained on (unseen generators vs camera photos)",
        *table(ev, "heldout"),
        "",
        "*Confident mistakes*: verdict \"AI-generated\" on a real image or \"Real\" on an AI image. *Halved + JPEG "
        "q75*: every file halved (Lanczos) and re-saved as JPEG quality 75.",
        "",
        "### Per generator (AUROC of that generator's images against all real images of the split, original files)",
        "| split | generator | images | AUROC |",
        "|---|---|---|---|",
    ]
    for split in ("val", "heldout"):
        for g, m in ev.get(f"{split}/original", {}).get("per_generator", {}).items():
            lines.append(f"| {split} | {g} | {m['images']} | {num(m['auroc_vs_real'])} |")
    lines += ["", "### Real sources (share called real or likely real; confident \"AI\" verdicts)",
              "| split | source | images | real or likely real | confident AI |", "|---|---|---|---|---|"]
    for split in ("val", "heldout"):
        for s, m in ev.get(f"{split}/original", {}).get("real_sources", {}).items():
            lines.append(f"| {split} | `{s}` | {m['images']} | {pct(m['called_real_or_likely'])} | {m['confident_ai']} |")
    lines += ["", "### Training curve (validation views, packed; image AUROC = mean of an image's views)",
              "| epoch | loss | val AUROC (image) | held-out AUROC (image) |", "|---|---|---|---|"]
    for h in history:
        lines.append(f"| {h['epoch']} | {h['loss']:.4f} | {num(h.get('val_auc_image'))} | {num(h.get('heldout_auc_image'))} |")
    if fp32:
        lines += ["", "## int8 against the float model (same files, same script)",
                  "The shipped file is the float model quantized to int8 (`python -m training.realworld.quantize`, "
                  "static, QDQ, per-channel weights, calibrated on 256 validation views)"
                  + (f"; score difference on 512 other validation views: mean {quant['mean_abs_diff']:.3f}, "
                     f"max {quant['max_abs_diff']:.3f}" if quant else "") + ".", "",
                  "| set | float32 AUROC | int8 AUROC (shipped) |", "|---|---|---|"]
        for key in ("val/original", "val/halved_q75", "heldout/original", "heldout/halved_q75"):
            if key in fp32 and key in ev:
                lines.append(f"| {key.replace('/', ', ').replace('_q75', ' + JPEG q75')} | {num(fp32[key]['auroc'])} | "
                             f"{num(ev[key]['auroc'])} |")
    if bench:
        lines += ["", "## Speed (`benchmarks/bench_realworld.py`, 2 CPU cores)",
                  f"{bench['files']} images: default scan {bench['images_per_s']['default']} images/s, the minimal "
                  f"32×32 script {bench['images_per_s']['minimal']} images/s (ratio {bench['default_vs_minimal']}), "
                  f"the engine with `--model cifake-cnn` {bench['images_per_s']['cifake']} images/s."]
    lines += [
        "",
        "## Not for",
        "- Proof of anything: on unseen generators and camera photos its AUROC is well below validation; resized",
        "  and recompressed modern AI images erase much of what it sees.",
        "- Images shrunk to thumbnails (they go to the CIFAKE CNN by routing).",
        "",
        "## Commands",
        "```",
        "python ../shared/tools/realworld_data.py --snapshots /work/.mirror --out DATA",
        "python -m training.realworld.pack --data DATA --out PACK",
        f"python -m training.realworld.train --pack PACK --out RUN --epochs {cfg['epochs']} --steps {cfg['steps']} --batch {cfg['batch']}",
        "python -m training.realworld.finish --run RUN --pack PACK --out FP32_DIR --patches 1 4",
        "python -m training.realworld.quantize --model FP32_DIR/realworld-detector.onnx --pack PACK --out onnx_models/realworld-detector.onnx",
        "python scripts/evaluate_scan.py --pack PACK --split val heldout --model auto --out EVAL.json",
        "python benchmarks/bench_realworld.py --folder FOLDER --repeats 2",
        "python scripts/realworld_card.py RUN EVAL.json PACK BENCH.json > onnx_models/realworld-detector.md",
        "```",
        f"Export parity of the float model (Keras vs onnxruntime): max abs diff {fin['export']['parity_max_abs_diff']:.2e} on "
        f"{fin['export']['parity_images']} validation views. The contract's card (in the ONNX metadata) records the "
        "commit, date and device.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
