"""Speed of the default scan on real web images, against the obvious minimal 32x32 script and against a
decode-only pass over the same files, all in one run.

    .venv/bin/python benchmarks/bench_realworld.py --folder DIR [--limit 300] [--repeats 3]

DIR holds images (e.g. web photos and AI images extracted by shared/tools/realworld_data.py; nothing is
committed). Each method runs in its own subprocess, one after the other, `repeats` times; the best time
of each counts, timed from loading the model (its onnxruntime session included, wherever a method makes it)
to the last row, imports excluded (the engine imports decoding and onnxruntime with the first file to score;
the scripts below import them first, as the minimal script does) (the machine may be shared; compare the ratios from one run, not
absolute numbers):
  default        `desktop.core.scan.engine` with the default model choice (per-image routing, native-resolution
                 multiscale views, evidence reading, SQLite writes, no cache)
  cifake         `desktop.core.scan.engine --model cifake-cnn` (32x32 resize, draft decode)
  minimal        the obvious minimal 32x32 script: JPEG draft decode + resize in 2 threads, batches of 128
                 through one onnxruntime session (its default threads)
  minimal-1t     the same with one decode thread (the reference of the session-7 figures)
  decode         decode-only limit of `default`: the engine's own read + decode + feed + evidence
                 (`scan.decode_file`) for the default routing, on as many threads as the engine, no model,
                 no store
  decode-cifake  the same for `cifake`
Prints images/s of each and the ratios: each engine to the minimal script and to its decode-only limit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from spec.images import SCAN_EXTENSIONS  # noqa: E402  (the checkout, not an installed copy)

# What the engine and decode-only scripts share: imports that a scan makes lazily, made before timing (as the
# minimal script imports onnxruntime before its clock starts), and the model, loaded and timed as load_s.
IMPORTS = """
import json, os, sys, time
sys.path.insert(0, {repo!r})
from desktop.core.models.routing import load_for_scan
import onnxruntime, desktop.core.scan.decode, desktop.core.scan.evidence  # imported lazily by a scan; not timed
try:
    import c2pa  # the C2PA reader, imported by the first file that may hold a manifest
except ImportError:
    pass
"""
LOAD = """
files = json.loads(sys.argv[1]); model = sys.argv[2] or None
t0 = time.perf_counter()
det = load_for_scan(model, device="cpu")
t1 = time.perf_counter()
"""

ENGINE = IMPORTS + """
from desktop.core.scan.events import RowsReady, ScanOptions
from desktop.core.scan.engine import scan
from desktop.core.scan.store import ResultStore
import tempfile
""" + LOAD + """
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
from concurrent.futures import ThreadPoolExecutor
import numpy as np, onnxruntime as ort
from PIL import Image
files = json.loads(sys.argv[1]); model = sys.argv[2]; threads = int(sys.argv[3])
t0 = time.perf_counter()
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
t1 = time.perf_counter()
def load(f):
    with Image.open(f) as im:
        im.draft("RGB", (32, 32))
        return np.asarray(im.convert("RGB").resize((32, 32), Image.Resampling.BILINEAR))
batch, n = [], 0
def flush():
    global batch, n
    if batch:
        sess.run(None, {"image": np.stack(batch).astype(np.float32)}); n += len(batch); batch = []
with ThreadPoolExecutor(threads) as pool:
    for arr in pool.map(load, files):
        batch.append(arr)
        if len(batch) == 128:
            flush()
flush()
t2 = time.perf_counter()
print(json.dumps({"images": n, "errors": 0, "load_s": t1 - t0, "scan_s": t2 - t1}))
"""

DECODE = IMPORTS + """
from concurrent.futures import ThreadPoolExecutor
from desktop.core.scan.engine import decode_file
""" + LOAD + """
groups = [files[i : i + 8] for i in range(0, len(files), 8)]
with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
    decoded = [d for group in pool.map(lambda g: [decode_file(f, det) for f in g], groups) for d in group]
t2 = time.perf_counter()
print(json.dumps({{"images": len(decoded), "errors": sum(d.error is not None for d in decoded), "load_s": t1 - t0,
                  "scan_s": t2 - t1}}))
"""


def _run(code: str, files: list[str], args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, json.dumps(files), *args], capture_output=True, text=True,
                         check=True, cwd=REPO)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", required=True, type=Path)
    p.add_argument("--limit", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    files = sorted(str(f) for f in a.folder.rglob("*") if f.suffix.lower() in SCAN_EXTENSIONS)
    if a.limit and len(files) > a.limit:
        step = len(files) / a.limit
        files = [files[int(i * step)] for i in range(a.limit)]
    cifake = str(REPO / "onnx_models" / "cifake-cnn.onnx")
    engine, decode = ENGINE.format(repo=str(REPO)), DECODE.format(repo=str(REPO))
    methods = {"minimal": (MINIMAL, [cifake, "2"]), "minimal-1t": (MINIMAL, [cifake, "1"]),
               "cifake": (engine, [cifake]), "default": (engine, [""]),
               "decode": (decode, [""]), "decode-cifake": (decode, [cifake])}
    best: dict[str, dict[str, float]] = {}
    for _ in range(a.repeats):  # interleaved: a busy spell on a shared machine hits every method
        for name, (code, args) in methods.items():
            r = _run(code, files, args)
            r["total_s"] = r["load_s"] + r["scan_s"]
            print(f"{name:14} {r['images'] / r['total_s']:7.1f} img/s", file=sys.stderr)
            if name not in best or r["total_s"] < best[name]["total_s"]:
                best[name] = r
    rates = {k: v["images"] / v["total_s"] for k, v in best.items()}
    report = {"files": len(files), "images_per_s": {k: round(v, 1) for k, v in rates.items()},
              "default_vs_minimal": round(rates["default"] / rates["minimal"], 3),
              "cifake_vs_minimal": round(rates["cifake"] / rates["minimal"], 3),
              "default_vs_its_decode_only": round(rates["default"] / rates["decode"], 3),
              "cifake_vs_its_decode_only": round(rates["cifake"] / rates["decode-cifake"], 3),
              "runs": best, "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
