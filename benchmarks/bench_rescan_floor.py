"""How low can a whole-process rescan of an unchanged tree go? Two floors against the app, whole processes.

    .venv/bin/python benchmarks/bench_rescan_floor.py --folder TREE [--rounds 9] [--work DIR]

Issue 19 asks for a cached rescan within 3x a bare walk + stat of the tree. Interleaved, from the same database
each round (the one after a first scan and one rescan: the store marked checked, the bytecode cache filled), with a
private bytecode cache as an installed app has:
- `rescan`: `python -m desktop scan TREE` (the app; every file cached, CSV on stdout);
- `walk`: the bare walk + stat (`bench_scan.WALK`);
- `copy floor`: a bare script doing the store's work as the store keeps rows: the cache looked up, every row
  inserted into the new scan, CSV (`bench_scan.FLOOR`);
- `no-copy floor`: a bare script for a rescan that writes no rows at all: the tree's keys compared with the
  latest scan's rows, the CSV written from those rows in walk order, one new scan row (`NO_COPY` below). No
  design of the store that still answers with every row can do less.
Both floors import nothing of the app: the app's own start-up (about 0.03 s of imports here) comes on top.
Every command runs twice a round: with `site` as this environment has it, and with `python -S` (no .pth files;
site-packages on PYTHONPATH), since a development checkout's editable-install hook slows every start, the bare
walk's included, and so flatters the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import site
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import FLOOR, KEYS_OF_TREE, REPO, WALK, _timed

NO_COPY = KEYS_OF_TREE + """
import csv, sqlite3, sys
keys = list(keys_of(sys.argv[1]))
con = sqlite3.connect(sys.argv[2])
last = con.execute("SELECT id FROM scans WHERE status='finished' AND done > 0 ORDER BY id DESC LIMIT 1").fetchone()[0]
rows = {r[0]: r for r in con.execute("SELECT path, score, verdict, model, reason, evidence, error, width, height,"
                                      " format, size, mtime_ns FROM results WHERE scan_id=?", (last,))}
ordered = [rows.get(k[0]) for k in keys]
if len(rows) != len(keys) or any(r is None or (r[10], r[11]) != k[1:] for r, k in zip(ordered, keys)):
    sys.exit("the tree changed since the last scan: not a no-copy rescan")
out = csv.writer(sys.stdout, lineterminator="\\n")
out.writerows([(p, None if s is None else round(s, 6), v, m, r, e, err, w, h, f, size, mt, True, None)
               for p, s, v, m, r, e, err, w, h, f, size, mt in ordered])
with con:
    con.execute("INSERT INTO scans (started_at, status, paths, model_name, model_path, model_digest, device, options)"
                " SELECT started_at, status, paths, model_name, model_path, model_digest, device, options"
                " FROM scans WHERE id=?", (last,))
con.close()
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, required=True, help="a tree of images (e.g. 10,000 CIFAR-sized JPEGs)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    args.folder = args.folder.resolve()  # the store keeps absolute paths: a relative one would match no cached row
    if not args.folder.is_dir():
        raise SystemExit(f"--folder {args.folder}: not a folder")
    root = Path(args.work or tempfile.mkdtemp(prefix="pp-rescan-floor-"))
    home, kept = root / "home", root / "home-after-first-scan"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(kept, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PIXELPATROL_HOME=str(home), PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(root / "pycache"))
    db = str(home / "data" / "pixelpatrol.sqlite3")
    scan = [sys.executable, "-m", "desktop", "scan", str(args.folder)]
    commands = {"rescan": scan, "walk": [sys.executable, "-c", WALK, str(args.folder)],
                "copy floor": [sys.executable, "-c", FLOOR, str(args.folder), db],
                "no-copy floor": [sys.executable, "-c", NO_COPY, str(args.folder), db]}
    # "-S": no `site`, so no .pth file runs at start-up (this checkout's editable install has one that imports
    # pathlib, re and urllib into every process, the bare walk's too); site-packages stay reachable by PYTHONPATH.
    # That is what an installed app and a bare script pay; "site" is this development environment as it is.
    no_site_env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), *site.getsitepackages()])}
    variants = {"site": (env, []), "-S": (no_site_env, ["-S"])}
    first = _timed(scan, env)
    _timed(scan, env)  # the store marked checked, the bytecode cache filled
    shutil.copytree(home, kept)
    times: dict[tuple[str, str], list[float]] = {(v, k): [] for v in variants for k in commands}
    for _ in range(args.rounds + 1):
        for variant, (run_env, flags) in variants.items():
            for name, cmd in commands.items():
                shutil.rmtree(home)
                shutil.copytree(kept, home)
                times[variant, name].append(_timed([cmd[0], *flags, *cmd[1:]], run_env))
    med = {k: statistics.median(v[1:]) for k, v in times.items()}  # the first round warms up
    print(f"first scan {first:.1f} s; medians of {args.rounds} rounds, whole processes:")
    for variant in variants:
        print(f" python {variant}:")
        for name in commands:
            t = med[variant, name]
            print(f"  {name:14s} {t:.3f} s  {t / med[variant, 'walk']:.2f}x the bare walk")


if __name__ == "__main__":
    main()
