"""Scan throughput: the engine against the obvious scripts and against a decode-only pass, on generated folders
(or a folder of small images you name), and a rescan of an unchanged tree against a bare walk.

    .venv/bin/python benchmarks/bench_scan.py --quick      # ~2-3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_scan.py              # the numbers in docs/benchmarks.md
    .venv/bin/python benchmarks/bench_scan.py --large 0 --small-folder DIR --engine-model auto \
        --model onnx_models/cifake-cnn.onnx                # the default scan on DIR (e.g. 10,000 CIFAR JPEGs)

Folders are generated in a temporary directory (nothing is committed): 12 MP JPEGs with photo-like
detail, and 32x32 JPEGs (`--small-folder` replaces the latter). Each method runs in its own subprocess so
its peak RSS is its own; imports are not timed, loading the model and making its session are:
  engine   desktop.core.scan.engine with `--engine-model` (default: the `--model` file; "auto" = the default scan's
           per-image routing): parallel draft decode, batched inference, evidence, SQLite writes, no cache
  minimal  (a) the obvious minimal script: draft decode + resize in 2 threads, batches of 64 through one
           onnxruntime session (its default threads)
  decode   the decode-only limit of the engine: its own read + decode + feed + evidence
           (`scan.decode_file`) on as many threads as the engine, no model, no store
  network  the network-only limit: the engine's model(s) scoring the folder's images already decoded (decoding
           not timed; making the sessions is), each model in its own batch size on its multi-threaded session
  naive    (b) full decode, resize, one inference call per image, one thread
and the engine's first scan of each tree against a rescan of the unchanged tree (cache, in one process), and
whole processes: `python -m desktop scan TREE` run again on an unchanged tree against a bare `os.walk` +
`os.stat` of it in `python -c`, and against the floor of that rescan as the store keeps rows (a bare script
doing the same cache lookup, results insert and CSV), with and without a bytecode cache; `--rescan-only`
measures just those.
The machine may be shared, so compare ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
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
METHODS = ("engine", "minimal", "decode", "network", "naive")
# Where the engine and the scripts infer: --device, passed to the worker processes through the environment.
DEVICE_ENV = "PIXELPATROL_BENCH_DEVICE"
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


def _device() -> str:
    return os.environ.get(DEVICE_ENV, "cpu")


def _detector(engine_model: str) -> Any:
    """The engine's model on --device; a CUDA run that fell back to the CPU stops instead of measuring it."""
    from desktop.core.models.routing import load_for_scan

    detector = load_for_scan(engine_model, device=_device())
    if detector.device != _device():
        raise RuntimeError(f"--device {_device()}: the engine runs on {detector.device} ({detector.device_reason})")
    return detector


def _session(model: str) -> tuple[Any, str, int, int]:
    import onnxruntime as ort

    cuda = _device() == "cuda"
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
    sess = ort.InferenceSession(model, providers=providers)
    if cuda and sess.get_providers()[0] != "CUDAExecutionProvider":
        raise RuntimeError("--device cuda: onnxruntime made no CUDA session here")
    inp = sess.get_inputs()[0]
    return sess, inp.name, int(inp.shape[1]), int(inp.shape[2])


def run_minimal(folder: Path, model: str, batch_size: int = 64, threads: int = 2) -> int:
    """(a) What a competent person writes in ten minutes: draft decode in a few threads, batched inference."""
    from concurrent.futures import ThreadPoolExecutor

    sess, name, h, w = _session(model)

    def load(path: str) -> np.ndarray:
        with Image.open(path) as im:
            im.draft("RGB", (w, h))
            return np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BILINEAR))

    batch: list[np.ndarray] = []
    n = 0
    with ThreadPoolExecutor(threads) as pool:
        for arr in pool.map(load, _files(folder)):
            batch.append(arr)
            if len(batch) == batch_size:
                sess.run(None, {name: np.stack(batch).astype(np.float32)})
                n += len(batch)
                batch = []
    if batch:
        sess.run(None, {name: np.stack(batch).astype(np.float32)})
        n += len(batch)
    return n


def run_decode(folder: Path, engine_model: str) -> int:
    """The engine's decode-only limit: `scan.decode_file` for its model(s) on its number of threads."""
    from concurrent.futures import ThreadPoolExecutor

    from desktop.core.scan.engine import decode_file

    detector = _detector(engine_model)
    files = _files(folder)
    groups = [files[i : i + 8] for i in range(0, len(files), 8)]  # small files: a task per file costs more
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return sum(d.error is None for g in pool.map(lambda g: [decode_file(f, detector) for f in g], groups)
                   for d in g)


def run_network(folder: Path, engine_model: str) -> tuple[int, float, float]:
    """The engine's network-only limit: (images, seconds, CPU seconds) of its members scoring the files' crops, decoded
    beforehand by `scan.decode_file` (not timed), each member on its own images in its own batch size."""
    from desktop.core.scan.engine import decode_file

    detector = _detector(engine_model)
    decoded = [d for d in (decode_file(f, detector) for f in _files(folder)) if d.crops is not None]
    groups: dict[str, list[Any]] = {}
    for d in decoded:
        groups.setdefault(d.model or "", []).append(d)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    for name, ds in groups.items():  # score_images batches at the member's own batch size, as in the engine
        detector.member(name).score_images([d.crops for d in ds], [d.grid for d in ds])
    return len(decoded), time.perf_counter() - t0, _cpu_s() - cpu0


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


def run_engine(folder: Path, engine_model: str, use_cache: bool = False, store_path: Path | None = None,
               detector: Any = None) -> int:
    from desktop.core.scan.engine import scan
    from desktop.core.scan.events import RowsReady, ScanOptions
    from desktop.core.scan.store import ResultStore

    detector = detector or _detector(engine_model)
    store = ResultStore(store_path or Path(tempfile.mkdtemp()) / "bench.sqlite3")
    n = 0
    for event in scan([folder], detector, ScanOptions(use_cache=use_cache), store=store):
        if isinstance(event, RowsReady):
            n += sum(1 for r in event.rows if r.error is None)
    store.close()
    return n


def run_latency(folder: Path, engine_model: str) -> dict[str, Any]:
    """Time from calling scan() to the first rows on a huge tree, and from cancel to the end."""
    from desktop.core.scan.engine import scan
    from desktop.core.scan.events import RowsReady, ScanFinished, ScanOptions
    from desktop.core.scan.store import ResultStore

    t_load = time.perf_counter()
    detector = _detector(engine_model)
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


def worker(method: str, folder: Path, model: str, engine_model: str) -> dict[str, Any]:
    # Imports are not what is measured (onnxruntime alone takes about a second to import).
    import onnxruntime  # noqa: F401
    from PIL import Image  # noqa: F401


    with contextlib.suppress(ImportError):
        import c2pa  # noqa: F401  (the C2PA reader, imported by the first file that may hold a manifest)

    if method == "latency":
        return run_latency(folder, engine_model)
    if method == "rescan":
        # The scan itself, with the model already loaded (as in the app); first scan and rescan
        # share one store, so the second finds every file in the cache.
        detector = _detector(engine_model)
        store = Path(tempfile.mkdtemp()) / "rescan.sqlite3"
        t0 = time.perf_counter()
        n = run_engine(folder, engine_model, use_cache=True, store_path=store, detector=detector)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        n2 = run_engine(folder, engine_model, use_cache=True, store_path=store, detector=detector)
        again = time.perf_counter() - t0
        assert n == n2
        return {"images": n, "first_s": first, "rescan_s": again, "peak_rss_mb": _peak_rss_mb()}
    if method == "network":  # its own clock: the decoding before it is not what is measured
        n, seconds, cpu = run_network(folder, engine_model)
        return {"images": n, "seconds": seconds, "rate": n / seconds, "peak_rss_mb": _peak_rss_mb(),
                "cpu_ms_per_image": cpu * 1000 / max(n, 1)}
    runs = {"engine": lambda: run_engine(folder, engine_model), "minimal": lambda: run_minimal(folder, model),
            "decode": lambda: run_decode(folder, engine_model), "naive": lambda: run_naive(folder, model)}
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    n = runs[method]()  # includes loading the model / creating the session, for every method
    seconds = time.perf_counter() - t0
    return {"images": n, "seconds": seconds, "rate": n / seconds, "peak_rss_mb": _peak_rss_mb(),
            "cpu_ms_per_image": (_cpu_s() - cpu0) * 1000 / max(n, 1)}


def measure(method: str, folder: Path, model: str, engine_model: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", method, "--folder", str(folder), "--model", model,
                           "--engine-model", engine_model], capture_output=True, text=True)
    if proc.returncode != 0:  # say why in one line (a CUDA session that could not be made, a broken model)
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"bench_scan: the {method} run failed: {last}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


WALK = """
import os, sys
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        os.stat(os.path.join(root, name))
        n += 1
"""


# (path, size, mtime_ns) of every file of a tree in walk order, as a snippet the bare scripts below start with
KEYS_OF_TREE = """
import os
def keys_of(top):
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            st = os.stat(path)
            yield path, st.st_size, st.st_mtime_ns
"""

# The floor of a cached rescan as the store keeps rows: a bare script that does the same per-file work with
# nothing else (walk + stat, the cache lookup by path, the new scan's rows inserted, CSV on stdout).
FLOOR = KEYS_OF_TREE + """
import csv, os, sqlite3, sys
con = sqlite3.connect(sys.argv[2])
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=NORMAL")
digest = con.execute("SELECT model_digest FROM cache GROUP BY model_digest ORDER BY COUNT(*) DESC").fetchone()[0]
scan_id = con.execute("INSERT INTO scans (started_at, status, paths, model_name, model_path, model_digest, device,"
                      " options) VALUES (0, 'running', '[]', 'm', 'm', ?, 'cpu', '{}')", (digest,)).lastrowid
con.commit()
out = csv.writer(sys.stdout, lineterminator="\\n")
keys = []
def flush():
    wanted = {p: (size, mtime) for p, size, mtime in keys}
    rows = []
    for p, size, mtime, score, w, h, fmt, err in con.execute(
            "SELECT path, size, mtime_ns, score, width, height, format, error FROM cache WHERE model_digest=?"
            f" AND path IN ({','.join('?' * len(wanted))})", (digest, *wanted)):
        if wanted[p] == (size, mtime):
            verdict = None if score is None else "ai" if score >= 0.5 else "real"
            rows.append((scan_id, p, score, verdict, w, h, fmt, size, mtime, err, 1, "m", "model"))
    with con:
        con.executemany("INSERT INTO results (scan_id, path, score, verdict, width, height, format, size, mtime_ns,"
                        " error, cached, model, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    out.writerows(rows)
    keys.clear()
for key in keys_of(sys.argv[1]):
    keys.append(key)
    if len(keys) == 500:
        flush()
flush()
con.close()
"""


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def measure_rescan_process(folder: Path, engine_model: str, rounds: int, root: Path) -> dict[str, Any]:
    """`python -m desktop scan TREE` on an unchanged tree (the second scan: every file cached) against a bare
    walk + stat of the tree in `python -c`, whole processes, interleaved. Each round starts from the same
    database (the one the first scan left), so rounds do not grow it. "no bytecode cache": the environment as
    it is (this machine sets PYTHONDONTWRITEBYTECODE, so every module is compiled at each start); "bytecode
    cache": compiled modules kept in a private PYTHONPYCACHEPREFIX, as an installed app has them."""
    home, kept = root / "rescan-home", root / "rescan-home-after-first-scan"
    base = dict(os.environ, PIXELPATROL_HOME=str(home), PYTHONPATH=str(REPO))
    cached = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    scan = [sys.executable, "-m", "desktop", "scan", str(folder)] + (
        [] if engine_model == "auto" else ["--model", engine_model])
    walk = [sys.executable, "-c", WALK, str(folder)]
    floor = [sys.executable, "-c", FLOOR, str(folder), str(home / "data" / "pixelpatrol.sqlite3")]
    first_s = _timed(scan, base)
    shutil.copytree(home, kept)
    out: dict[str, Any] = {"first_scan_s": first_s}
    for label, env in (("no bytecode cache", base), ("bytecode cache", cached)):
        _timed(walk, env)  # fills the bytecode cache, and the page cache for both
        times: dict[str, list[float]] = {"rescan": [], "walk": [], "floor": []}
        for _ in range(rounds + 1):
            for name, cmd in (("rescan", scan), ("walk", walk), ("floor", floor)):
                shutil.rmtree(home)
                shutil.copytree(kept, home)
                times[name].append(_timed(cmd, env))
        med = {k: float(np.median(v[1:])) for k, v in times.items()}  # the first round warms up
        out[label] = {"rescan_s": med["rescan"], "walk_s": med["walk"], "floor_s": med["floor"],
                      "ratio": med["rescan"] / med["walk"], "floor_ratio": med["floor"] / med["walk"],
                      **{f"{k}_runs": v[1:] for k, v in times.items()}}
        print(f"whole process, {label}: rescan {med['rescan']:.3f} s, bare walk + stat {med['walk']:.3f} s "
              f"({med['rescan'] / med['walk']:.1f}x), store-and-CSV floor {med['floor']:.3f} s "
              f"({med['floor'] / med['walk']:.1f}x)", file=sys.stderr)
    return out


def measure_rescan(folder: Path, engine_model: str, rounds: int) -> dict[str, Any]:
    rescans = [measure("rescan", folder, engine_model, engine_model) for _ in range(rounds)]
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
    parser.add_argument("--model", help="detector .onnx for the scripts (default: the tiny CNN from tests/helpers)")
    parser.add_argument("--engine-model", help="what the engine scans with: a model name or file, or 'auto' for the "
                                               "default scan's routing (default: --model)")
    parser.add_argument("--large", type=int, help="number of 12 MP JPEGs (default 48, quick 12; 0: none)")
    parser.add_argument("--small", type=int, help="number of 32x32 JPEGs (default 10000, quick 3000)")
    parser.add_argument("--small-folder", type=Path, help="use this folder of small images instead of generating them")
    parser.add_argument("--rounds", type=int, help="repeat each measurement, report the median (default 3, quick 2)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--rescan-only", action="store_true", help="only the rescans (in one process, whole process)")
    parser.add_argument("--process-rounds", type=int, default=9,
                        help="rounds of the whole-process rescan, bare walk and floor (default 9: each takes a blink)")
    parser.add_argument("--no-latency", action="store_true", help="skip the first-rows latency on a 200,000-file tree")
    parser.add_argument("--no-rescan", action="store_true", help="skip the rescans (throughput only)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the engine and the scripts infer (cuda: fails unless a CUDA session can be made)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.folder), args.model, args.engine_model)))
        return 0

    os.environ[DEVICE_ENV] = args.device  # for the worker processes
    n_large = (12 if args.quick else 48) if args.large is None else args.large
    n_small = args.small or (3000 if args.quick else 10000)
    n_huge = 200_000
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as tmp:
        root = Path(tmp)
        model = args.model
        if model is None:
            from tests.helpers.tiny_models import build_cnn_detector

            model = str(build_cnn_detector(root / "tiny-cnn.onnx"))
        engine_model = args.engine_model or model
        t0 = time.perf_counter()
        folders = {"large": make_folder(root / "large", n_large, (4000, 3000), per_folder=50)} if n_large else {}
        folders["small"] = args.small_folder or make_folder(root / "small", n_small, (32, 32))
        n_small = len(_files(folders["small"]))
        print(f"{n_large} 12 MP and {n_small} small JPEGs ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        rounds = args.rounds or (2 if args.quick else 3)
        results: dict[str, Any] = {
            "model": model if args.model else "tests/helpers tiny CNN (0.6 M params)", "engine_model": engine_model,
            "device": args.device,
            "small_folder": str(args.small_folder or "generated"), "cpu_count": os.cpu_count(), "rounds": rounds,
            "load_average_at_start": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        methods = [m for m in METHODS if m in args.methods.split(",")]
        for name, folder in () if args.rescan_only else folders.items():
            runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
            for _ in range(rounds):  # interleaved, so a busy spell on a shared machine hits every method
                for method in methods:
                    r = measure(method, folder, model, engine_model)
                    runs[method].append(r)
                    print(f"{name:5} {method:7} {r['rate']:8.1f} img/s  {r['cpu_ms_per_image']:6.2f} CPU ms/img"
                          f"  peak RSS {r['peak_rss_mb']:6.0f} MB", file=sys.stderr)
            results[name] = {method: {"rate": float(np.median([r["rate"] for r in rs])), "rates": [r["rate"] for r in rs],
                                      "cpu_ms": float(np.median([r["cpu_ms_per_image"] for r in rs])),
                                      "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)} for method, rs in runs.items()}
        for name, folder in () if args.no_rescan else folders.items():
            results[f"rescan_{name}"] = measure_rescan(folder, engine_model, rounds)
        if not args.no_rescan:
            results["rescan_process"] = measure_rescan_process(folders["small"], engine_model, args.process_rounds, root)
        if not (args.rescan_only or args.no_latency):
            t0 = time.perf_counter()
            huge = make_link_tree(root / "huge", n_huge)
            print(f"made a tree of {n_huge} files in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            results["latency"] = r = measure("latency", huge, model, engine_model)
            results["latency"]["files"] = n_huge
            print(f"first rows after {r['first_rows_s']:.3f} s", file=sys.stderr)
        results["load_average_at_end"] = os.getloadavg()
    print(report(results, n_large, n_small))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def report(r: dict[str, Any], n_large: int, n_small: int) -> str:
    lines = [f"Median of {r['rounds']} interleaved rounds, {r['cpu_count']} CPUs, device {r.get('device', 'cpu')}, "
             f"engine: {r['engine_model']}, "
             f"scripts: {r['model']}; load average {r['load_average_at_start'][0]:.1f} at the start, "
             f"{r['load_average_at_end'][0]:.1f} at the end.", ""]
    if "small" in r:
        lines += ["| folder | method | images/s | engine is | CPU ms/image | peak RSS MB |", "|---|---|---:|---:|---:|---:|"]
    for name, label in (("large", f"{n_large} x 12 MP JPEG"), ("small", f"{n_small} x small JPEG")):
        if name not in r:
            continue
        engine = r[name]["engine"]["rate"]
        for method, desc in (("engine", "engine (`desktop.core.scan.engine`)"), ("minimal", "(a) minimal script, 2 threads"),
                             ("decode", "decode-only limit (engine's decode)"),
                             ("network", "network-only limit (engine's model, decoded beforehand)"),
                             ("naive", "(b) naive per-image")):
            if method not in r[name]:
                continue
            m = r[name][method]
            ratio = "-" if method == "engine" else f"{engine / m['rate']:.2f}x"
            lines.append(f"| {label} | {desc} | {m['rate']:.1f} | {ratio} | {m['cpu_ms']:.2f} | {m['peak_rss_mb']:.0f} |")
    lines += ["", report_rescans(r)] if "rescan_process" in r else []
    if "latency" in r:
        lat = r["latency"]
        lines.append(f"Tree of {lat['files']:,} files (hard links to 64x64 JPEGs in {lat['files'] // 200} folders): "
                     f"first rows {lat['first_rows_s']:.3f} s after `scan()` was called "
                     f"({lat['first_rows_with_model_load_s']:.3f} s including loading the model); "
                     f"cancel to `ScanFinished` {lat['cancel_to_finished_s']:.3f} s.")
    return "\n".join(lines)


def report_rescans(r: dict[str, Any]) -> str:
    lines = []
    for key, what in (("rescan_small", "small JPEGs"), ("rescan_large", "12 MP JPEGs")):
        if key not in r:
            continue
        rs = r[key]
        ratios = ", ".join(f"{x:.0f}x" for x in rs["ratios"])
        lines.append(f"Rescan of an unchanged tree of {rs['images']} {what} (cache on, in one process): first scan "
                     f"{rs['first_s']:.2f} s, rescan {rs['rescan_s']:.3f} s (medians); per round: {ratios}.")
    rp = r["rescan_process"]
    for label in ("no bytecode cache", "bytecode cache"):
        x = rp[label]
        lines.append(f"Whole process, {label}: `python -m desktop scan` of the unchanged small tree {x['rescan_s']:.3f} s,"
                     f" bare walk + stat {x['walk_s']:.3f} s: {x['ratio']:.1f}x; the same store work and CSV in a bare "
                     f"script (the floor) {x['floor_s']:.3f} s: {x['floor_ratio']:.1f}x (medians; rescans "
                     + ", ".join(f"{t:.3f}" for t in x["rescan_runs"]) + " s; walks "
                     + ", ".join(f"{t:.3f}" for t in x["walk_runs"]) + " s).")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
