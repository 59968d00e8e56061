"""Speed of the default scan on real web images, against the obvious minimal 32x32 script, same folder.

    .venv/bin/python benchmarks/bench_realworld.py --folder DIR [--limit 300] [--repeats 2]

DIR holds images (e.g. web photos and AI images extracted by shared/tools/realworld_data.py; nothing is
committed). Each method runs in its own subprocess, one after the other, `repeats` times; the best time
of each counts (the machine may be shared; compare the ratio from one run, not absolute numbers):
  default   `desktop.core.scan` with the default model choice (per-image routing, native-resolution
            multiscale views, evidence reading, SQLite writes, no cache)
  cifake    `desktop.core.scan --model cifake-cnn` (32x32 resize, draft decode)
  minimal   the obvious minimal 32x32 script: JPEG draft decode + resize + batched onnxruntime, one
            process, sequential decode (the reference of the issue's bar: default >= 0.6x its speed)
Prints images/s of each and the ratios default/minimal and default/cifake.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}

ENGINE = """
import json, sys, time
sys.path.insert(0, {repo!r})
from desktop.core.events import RowsReady, ScanOptions
from desktop.core.routing import load_for_scan
from desktop.core.scan import scan
from desktop.core.store import ResultStore
import tempfile, os
files = json.loads(sys.argv[1]); model = sys.argv[2] or None
t0 = time.perf_counter()
det = load_for_scan(model, device="cpu")
t1 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    store = ResultStore(os.path.join(d, "s.sqlite3"))
    n = err = 0
    for e in scan(files, det, ScanOptions(use_cache=False), store=store):
        if isinstance(e, RowsReady):
            n += len(e.rows); err += sum(r.error is not None for r in e.rows)
    store.close()
t2 = time.perf_counter()
print(json.dumps({{"images": n, "errors": err, "load_s": t1 - t0, "scan_s": t2 - t1}}))
"""

MINIMAL = """
import json, sys, time
import numpy as np, onnxruntime as ort
from PIL import Image
files = json.loads(sys.argv[1]); model = sys.argv[2]
t0 = time.perf_counter()
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
t1 = time.perf_counter()
batch, n = [], 0
def flush():
    global batch, n
    if batch:
        sess.run(None, {"image": np.stack(batch).astype(np.float32)}); n += len(batch); batch = []
for f in files:
    with Image.open(f) as im:
        im.draft("RGB", (32, 32))
        batch.append(np.asarray(im.convert("RGB").resize((32, 32), Image.Resampling.BILINEAR)))
    if len(batch) == 128:
        flush()
flush()
t2 = time.perf_counter()
print(json.dumps({"images": n, "errors": 0, "load_s": t1 - t0, "scan_s": t2 - t1}))
"""


def _run(code: str, files: list[str], model: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, json.dumps(files), model], capture_output=True, text=True,
                         check=True, cwd=REPO)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", required=True, type=Path)
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    files = sorted(str(f) for f in a.folder.rglob("*") if f.suffix.lower() in EXTS)
    if a.limit and len(files) > a.limit:
        step = len(files) / a.limit
        files = [files[int(i * step)] for i in range(a.limit)]
    cifake = str(REPO / "onnx_models" / "cifake-cnn.onnx")
    methods = {"minimal": (MINIMAL, cifake), "cifake": (ENGINE.format(repo=str(REPO)), cifake),
               "default": (ENGINE.format(repo=str(REPO)), "")}
    best: dict[str, dict[str, float]] = {}
    for _ in range(a.repeats):
        for name, (code, model) in methods.items():
            r = _run(code, files, model)
            if name not in best or r["scan_s"] < best[name]["scan_s"]:
                best[name] = r
    rates = {k: v["images"] / v["scan_s"] for k, v in best.items()}
    report = {"files": len(files), "images_per_s": {k: round(v, 1) for k, v in rates.items()},
              "default_vs_minimal": round(rates["default"] / rates["minimal"], 3),
              "default_vs_cifake_scan": round(rates["default"] / rates["cifake"], 3),
              "runs": best, "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
