"""Per-core rates for the scale-out throughput model (docs/scale-out.md): one thread, the engine's own code.

    .venv/bin/python benchmarks/bench_decode_rates.py --folder DIR [--limit 300] [--model REF ...]
    .venv/bin/python benchmarks/bench_decode_rates.py --driver-rows 100000     # the Ray driver's ceilings

For each model (a name from `pixelpatrol models`, or an .onnx file), on the first `limit` files of the
walk of DIR: files/s of `scan.decode_file` (read, decode, feed, evidence) and of `scan.rows_from_decoded`
(scoring and verdicts, a single-threaded session, 64 files per call), both on one thread; a Ray CPU actor
does both on one core. `--driver-rows N`: rows/s the Ray engine's driver turns Arrow batches into output
(`table_to_rows` + CSV, JSON lines, Parquet), needs the cluster extra.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from desktop.core.models.routing import load_for_scan  # noqa: E402
from desktop.core.scan.engine import decode_file, member_thresholds, rows_from_decoded  # noqa: E402
from desktop.core.scan.events import ScanRow  # noqa: E402
from desktop.core.scan.walk import iter_image_files  # noqa: E402


def model_rates(files: list[str], ref: str) -> dict[str, object]:
    det = load_for_scan(ref, device="cpu", threads=1)
    for f in files[:20]:  # page cache and first-call costs out of the figure
        decode_file(f, det)
    t = time.perf_counter()
    decoded = [decode_file(f, det) for f in files]
    decode_s = time.perf_counter() - t
    thresholds = member_thresholds(det, None)
    t = time.perf_counter()
    for i in range(0, len(decoded), 64):
        rows_from_decoded(det, thresholds, decoded[i : i + 64], single_thread=True)
    score_s = time.perf_counter() - t
    n = len(files)
    return {"model": det.title, "files": n, "errors": sum(d.error is not None for d in decoded),
            "decode_img_s": round(n / decode_s, 1), "score_img_s": round(n / score_s, 1),
            "both_on_one_core_img_s": round(n / (decode_s + score_s), 1)}


def driver_rates(n: int) -> dict[str, int]:
    from desktop.core.scan.export import RowWriter
    from desktop.core.scan.ray import ParquetRowWriter, rows_to_table, table_to_rows

    rows = [ScanRow(f"/mnt/archive/d{i // 1000:04d}/img{i:07d}.jpg", 0.123456 + i * 1e-9, "likely_real", 640, 480,
                    "JPEG", 48_000, 1_700_000_000_000_000_000 + i, None, model="cifake-cnn", reason="model")
            for i in range(n)]
    tables = [rows_to_table(rows[i : i + 2000]) for i in range(0, n, 2000)]  # what the actors send
    out: dict[str, int] = {}
    t = time.perf_counter()
    batches = [table_to_rows(tb) for tb in tables]
    convert_s = time.perf_counter() - t
    out["arrow_to_rows"] = int(n / convert_s)
    for fmt in ("csv", "jsonl", "parquet"):
        with tempfile.TemporaryFile() as fh:
            t = time.perf_counter()
            text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            writer = ParquetRowWriter(fh) if fmt == "parquet" else RowWriter(text, fmt)
            for b in batches:
                writer.write(b)
            writer.close()
            text.flush()
            out[f"driver_to_{fmt}"] = int(n / (convert_s + time.perf_counter() - t))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--model", action="append", help="model name or .onnx file (repeatable; default: auto)")
    ap.add_argument("--driver-rows", type=int, default=0)
    ns = ap.parse_args()
    report: dict[str, object] = {}
    if ns.folder:
        files = list(islice(iter_image_files([ns.folder]), ns.limit))
        report["rates"] = [model_rates(files, ref) for ref in (ns.model or ["auto"])]
    if ns.driver_rows:
        report["driver"] = driver_rates(ns.driver_rows)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
