"""Large JPEGs for a one-crop multiscale model: the engine's decode (`decode.load_image`, which decodes the crops' rows
at full resolution and the whole view DCT-scaled) against one full decode of the same files, one thread.

    .venv/bin/python benchmarks/bench_jpeg_split.py --folder DIR [--largest 60] [--rounds 3] [--model realworld-detector]

DIR is walked for JPEGs; the `largest` of them by pixel count are read into the page cache first, then both methods
run over them in alternated rounds, each round in a fresh process (timed from the first file, imports and the model's
contract excluded). The reference is what the engine did before the split: open, decode in full, turn
by EXIF, `preprocess` (the same crops and whole view, from full-resolution pixels). Prints ms a file per round and the
ratio of the medians, and how many files took the split path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image, ImageOps  # noqa: E402

from desktop.core.models.catalog import list_models  # noqa: E402
from desktop.core.models.contract import ModelContract  # noqa: E402
from desktop.core.models.detector import Detector  # noqa: E402
from desktop.core.scan.decode import load_image, preprocess, split_rows_of, to_rgb  # noqa: E402

TURNED = (2, 3, 4, 5, 6, 7, 8)  # EXIF orientations that flip or rotate


def full_decode(path: Path, contract: ModelContract) -> None:
    """The engine's path before the split: one full decode; turned (a copy) only when EXIF says so."""
    with Image.open(path) as img:
        turned = img.getexif().get(0x0112, 1) in TURNED
        img.load()
        preprocess(to_rgb((ImageOps.exif_transpose(img) or img) if turned else img), contract)


def takes_split(path: Path, contract: ModelContract) -> bool:
    with Image.open(path) as img:
        return split_rows_of(img, img.getexif().get(0x0112, 1), contract) is not None


def _contract(model: str) -> ModelContract:
    path = Path(model)
    if path.suffix != ".onnx":
        path = next(Path(m.path) for m in list_models() if m.name == model)
    contract = Detector.load(path, device="cpu").contract_for(4000, 3000)
    if contract.feed.mode != "multiscale":
        raise SystemExit(f"{model}: feed {contract.feed.mode!r}, not multiscale: nothing to compare")
    return contract


def _time_one(method: str, files: list[Path], contract: ModelContract) -> float:
    """ms a file of one method, in this process (a fresh one per round: the allocator's state after one
    method's big buffers slows the other by up to a third when both run in one process)."""
    t0 = time.perf_counter()
    for p in files:
        if method == "split":
            load_image(p, contract)
        else:
            full_decode(p, contract)
    return (time.perf_counter() - t0) / len(files) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--largest", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default="realworld-detector", help="a model name or .onnx file with a multiscale feed")
    ap.add_argument("--method", choices=("split", "full"), help=argparse.SUPPRESS)  # one timed run (a subprocess)
    ap.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    contract = _contract(args.model)
    if args.method:
        print(_time_one(args.method, [Path(x) for x in args.files.read_text().splitlines()], contract))
        return 0
    sizes = []
    for p in sorted(args.folder.rglob("*")):
        if p.suffix.lower() in (".jpg", ".jpeg") and p.is_file():
            with Image.open(p) as img:
                if img.format == "JPEG":
                    sizes.append((img.size[0] * img.size[1], p))
    chosen = sorted(sizes, reverse=True)[:args.largest]
    files = [p for _, p in chosen]
    if not files:
        raise SystemExit(f"{args.folder}: no JPEGs")
    for p in files:
        p.read_bytes()
    times: dict[str, list[float]] = {"split": [], "full": []}
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(str(p) for p in files))
        for _ in range(args.rounds):
            for method in times:
                cmd = [sys.executable, __file__, "--folder", str(args.folder), "--model", args.model,
                       "--method", method, "--files", str(listing)]
                times[method].append(float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    mp = [s / 1e6 for s, _ in chosen]
    result = {"files": len(files), "split_path": sum(takes_split(p, contract) for p in files),
              "megapixels": {"min": round(min(mp), 1), "median": round(statistics.median(mp), 1),
                             "max": round(max(mp), 1)},
              "ms_per_file": {"engine (split)": [round(x, 1) for x in times["split"]],
                              "one full decode": [round(x, 1) for x in times["full"]]},
              "speedup": round(statistics.median(times["full"]) / statistics.median(times["split"]), 2)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
