"""Scan throughput: the engine against the obvious scripts, on generated folders.

    .venv/bin/python benchmarks/bench_scan.py --quick      # ~2-3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_scan.py              # the numbers in docs/benchmarks.md

Folders are generated in a temporary directory (nothing is committed): 12 MP JPEGs with photo-like
detail, and 32x32 JPEGs. Each method runs in its own subprocess so its peak RSS is its own:
  engine   desktop.core.scan (parallel draft decode, batched inference, SQLite writes, no cache)
  minimal  (a) the obvious minimal script: draft decode + batched onnxruntime, one thread
  naive    (b) full decode, resize, one inference call per image
and the engine's first scan of each tree against a rescan of the unchanged tree (cache);
`--rescan-only` measures just that.
The machine may be shared, so compare ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
METHODS = ("engine", "minimal", "naive")
sys.path.insert(0, str(REPO))


# ---------------------------------------------------------------------------- data


def _photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """Smooth structure plus sensor-like noise: compresses and decodes like a real photo."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = Image.fromarray(rng.integers(0, 256, (max(2, h // 10), max(2, w // 10), 3), dtype=np.uint8))
    base = base.resize((w, h), Image.Resampling.BICUBIC)
    arr = np.asarray(base, dtype=np.int16) + rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _write_one(args: tuple[str, int, tuple[int, int]]) -> None:
    path, seed, size = args
    Image.Image.save(_photo(seed, size), path, quality=90)


def make_folder(root: Path, count: int, size: tuple[int, int], per_folder: int = 500) -> Path:
    jobs = []
    for i in range(count):
        folder = root / f"d{i // per_folder:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        jobs.append((str(folder / f"img{i:05d}.jpg"), i, size))
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(_write_one, jobs, chunksize=max(1, count // 64)))
    return root


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.jpg"))


# ---------------------------------------------------------------------------- methods (one per subprocess)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _session(model: str) -> tuple[Any, str, int, int]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    return sess, inp.name, int(inp.shape[1]), int(inp.shape[2])


def run_minimal(folder: Path, model: str, batch_size: int = 64) -> int:
    """(a) What a competent person writes in ten minutes: draft decode, batched inference."""
    sess, name, h, w = _session(model)
    batch: list[np.ndarray] = []
    n = 0
    for path in _files(folder):
        with Image.open(path) as im:
            im.draft("RGB", (w, h))
            batch.append(np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BILINEAR)))
        if len(batch) == batch_size:
            sess.run(None, {name: np.stack(batch).astype(np.float32)})
            n += len(batch)
            batch = []
    if batch:
        sess.run(None, {name: np.stack(batch).astype(np.float32)})
        n += len(batch)
    return n


def run_naive(folder: Path, model: str) -> int:
    """(b) Full decode, resize, one inference call per image."""
    sess, name, h, w = _session(model)
    n = 0
    for path in _files(folder):
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
        sess.run(None, {name: arr[None]})
        n += 1
    return n


def run_engine(folder: Path, model: str, use_cache: bool = False, store_path: Path | None = None,
               detector: Any = None) -> int:
    from desktop.core.events import RowsReady, ScanOptions
    from desktop.core.models import Detector
    from desktop.core.scan import scan
    from desktop.core.store import ResultStore

    detector = detector or Detector.load(model, device="cpu")
    store = ResultStore(store_path or Path(tempfile.mkdtemp()) / "bench.sqlite3")
    n = 0
    for event in scan([folder], detector, ScanOptions(use_cache=use_cache), store=store):
        if isinstance(event, RowsReady):
            n += sum(1 for r in event.rows if r.error is None)
    store.close()
    return n


def run_latency(folder: Path, model: str) -> dict[str, Any]:
    """Time from calling scan() to the first rows on a huge tree, and from cancel to the end."""
    from desktop.core.events import RowsReady, ScanFinished, ScanOptions
    from desktop.core.models import Detector
    from desktop.core.scan import scan
    from desktop.core.store import ResultStore

    t_load = time.perf_counter()
    detector = Detector.load(model, device="cpu")
    store = ResultStore(Path(tempfile.mkdtemp()) / "latency.sqlite3")
    t0 = time.perf_counter()
    first: float | None = None
    cancel_at = 0.0
    done = 0
    stop = threading.Event()
    for event in scan([folder], detector, ScanOptions(use_cache=False), store=store, should_stop=stop.is_set):
        if isinstance(event, RowsReady) and first is None:
            first = time.perf_counter() - t0
            cancel_at = time.perf_counter()
            stop.set()
        if isinstance(event, ScanFinished):
            done = event.done
    assert first is not None
    return {"first_rows_s": first, "first_rows_with_model_load_s": first + (t0 - t_load),
            "cancel_to_finished_s": time.perf_counter() - cancel_at, "rows_before_cancel": done,
            "peak_rss_mb": _peak_rss_mb()}


def make_link_tree(root: Path, count: int, per_folder: int = 200) -> Path:
    """`count` hard links to a few small JPEGs: a huge tree in seconds and almost no disk space."""
    links_per_source = 50_000  # ext4 allows 65,000 links to one file
    for i in range(count):
        source = root.parent / f"link-source-{i // links_per_source}.jpg"
        if i % links_per_source == 0:
            _write_one((str(source), i, (64, 64)))
        folder = root / f"d{i // per_folder:04d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True)
        os.link(source, folder / f"img{i:06d}.jpg")
    return root


def worker(method: str, folder: Path, model: str) -> dict[str, Any]:
    # Imports are not what is measured (onnxruntime alone takes about a second to import).
    import onnxruntime  # noqa: F401

    import desktop.core.scan  # noqa: F401
    from desktop.core.models import Detector

    if method == "latency":
        return run_latency(folder, model)
    if method == "rescan":
        # The scan itself, with the model already loaded (as in the app); first scan and rescan
        # share one store, so the second finds every file in the cache.
        detector = Detector.load(model, device="cpu")
        store = Path(tempfile.mkdtemp()) / "rescan.sqlite3"
        t0 = time.perf_counter()
        n = run_engine(folder, model, use_cache=True, store_path=store, detector=detector)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        n2 = run_engine(folder, model, use_cache=True, store_path=store, detector=detector)
        again = time.perf_counter() - t0
        assert n == n2
        return {"images": n, "first_s": first, "rescan_s": again, "peak_rss_mb": _peak_rss_mb()}
    fn = {"engine": run_engine, "minimal": run_minimal, "naive": run_naive}[method]
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    n = fn(folder, model)  # includes loading the model / creating the session, for every method
    seconds = time.perf_counter() - t0
    return {"images": n, "seconds": seconds, "rate": n / seconds, "peak_rss_mb": _peak_rss_mb(),
            "cpu_ms_per_image": (_cpu_s() - cpu0) * 1000 / max(n, 1)}


def measure(method: str, folder: Path, model: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", method, "--folder", str(folder), "--model", model],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure_rescan(folder: Path, model: str, rounds: int) -> dict[str, Any]:
    rescans = [measure("rescan", folder, model) for _ in range(rounds)]
    for r in rescans:
        print(f"rescan of {r['images']} unchanged files: first {r['first_s']:.2f} s, again {r['rescan_s']:.3f} s",
              file=sys.stderr)
    return {"images": rescans[0]["images"],
            "first_s": float(np.median([r["first_s"] for r in rescans])),
            "rescan_s": float(np.median([r["rescan_s"] for r in rescans])),
            "ratios": [r["first_s"] / r["rescan_s"] for r in rescans]}


# ---------------------------------------------------------------------------- driver


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small folders (a few minutes)")
    parser.add_argument("--model", help="detector .onnx (default: the tiny CNN from tests/helpers)")
    parser.add_argument("--large", type=int, help="number of 12 MP JPEGs (default 48, quick 12)")
    parser.add_argument("--small", type=int, help="number of 32x32 JPEGs (default 10000, quick 3000)")
    parser.add_argument("--rounds", type=int, help="repeat each measurement, report the median (default 3, quick 2)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--rescan-only", action="store_true", help="only first scan vs rescan, both trees")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.folder), args.model)))
        return 0

    n_large = args.large or (12 if args.quick else 48)
    n_small = args.small or (3000 if args.quick else 10000)
    n_huge = 200_000
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as tmp:
        root = Path(tmp)
        model = args.model
        if model is None:
            from tests.helpers.tiny_models import build_cnn_detector

            model = str(build_cnn_detector(root / "tiny-cnn.onnx"))
        t0 = time.perf_counter()
        large = make_folder(root / "large", n_large, (4000, 3000), per_folder=50)
        small = make_folder(root / "small", n_small, (32, 32))
        print(f"generated {n_large} 12 MP and {n_small} 32x32 JPEGs in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        rounds = args.rounds or (2 if args.quick else 3)
        results: dict[str, Any] = {"model": model if args.model else "tests/helpers tiny CNN (0.6 M params)",
                                   "cpu_count": os.cpu_count(), "rounds": rounds, "large": {}, "small": {}}
        for name, folder in () if args.rescan_only else (("large", large), ("small", small)):
            runs: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
            for _ in range(rounds):  # interleaved, so a busy spell on a shared machine hits every method
                for method in METHODS:
                    r = measure(method, folder, model)
                    runs[method].append(r)
                    print(f"{name:5} {method:7} {r['rate']:8.1f} img/s  {r['cpu_ms_per_image']:6.2f} CPU ms/img"
                          f"  peak RSS {r['peak_rss_mb']:6.0f} MB", file=sys.stderr)
            for method, rs in runs.items():
                results[name][method] = {"rate": float(np.median([r["rate"] for r in rs])),
                                         "rates": [r["rate"] for r in rs],
                                         "cpu_ms": float(np.median([r["cpu_ms_per_image"] for r in rs])),
                                         "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)}
        for key, folder in (("rescan", small), ("rescan_large", large)):
            results[key] = measure_rescan(folder, model, rounds)
        if args.rescan_only:
            print(report_rescans(results))
            return 0
        t0 = time.perf_counter()
        huge = make_link_tree(root / "huge", n_huge)
        print(f"made a tree of {n_huge} files in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        results["latency"] = r = measure("latency", huge, model)
        results["latency"]["files"] = n_huge
        print(f"first rows after {r['first_rows_s']:.3f} s", file=sys.stderr)
    print(report(results, n_large, n_small))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict[str, Any], n_large: int, n_small: int) -> str:
    lines = [f"Median of {r['rounds']} interleaved rounds, {r['cpu_count']} CPUs, model: {r['model']}.", "",
             "| folder | method | images/s | engine is | CPU ms/image | peak RSS MB |",
             "|---|---|---:|---:|---:|---:|"]
    for name, label in (("large", f"{n_large} x 12 MP JPEG"), ("small", f"{n_small} x 32x32 JPEG")):
        engine = r[name]["engine"]["rate"]
        for method, desc in (("engine", "engine (`desktop.core.scan`)"), ("minimal", "(a) minimal script"),
                             ("naive", "(b) naive per-image")):
            m = r[name][method]
            ratio = "-" if method == "engine" else f"{engine / m['rate']:.2f}x"
            lines.append(f"| {label} | {desc} | {m['rate']:.1f} | {ratio} | {m['cpu_ms']:.2f} | {m['peak_rss_mb']:.0f} |")
    lines += ["", report_rescans(r)]
    lat = r["latency"]
    lines.append(f"Tree of {lat['files']:,} files (hard links to 64x64 JPEGs in {lat['files'] // 200} folders): "
                 f"first rows {lat['first_rows_s']:.3f} s after `scan()` was called "
                 f"({lat['first_rows_with_model_load_s']:.3f} s including loading the model); "
                 f"cancel to `ScanFinished` {lat['cancel_to_finished_s']:.3f} s.")
    return "\n".join(lines)


def report_rescans(r: dict[str, Any]) -> str:
    lines = []
    for key, what in (("rescan", "32x32 JPEGs"), ("rescan_large", "12 MP JPEGs")):
        rs = r[key]
        ratios = ", ".join(f"{x:.0f}x" for x in rs["ratios"])
        lines.append(f"Rescan of an unchanged tree of {rs['images']} {what} (cache on): first scan "
                     f"{rs['first_s']:.2f} s, rescan {rs['rescan_s']:.3f} s (medians); per round: {ratios}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
