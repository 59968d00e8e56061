"""`pixelpatrol`: the desktop app (no arguments), `scan` and `models` on the command line.

Exit codes and the one-line error: desktop/cli/common.py (README "Exit codes" lists them too).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from desktop.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, fail


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Find AI-generated images, offline.")
    parser.add_argument("--version", "-V", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="{gui,scan,models}")
    sub.add_parser("gui", help="open the desktop app (the default)")
    scan = sub.add_parser("scan", help="scan files and folders and write one row per image")
    scan.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders")
    scan.add_argument("--model", metavar="NAME|FILE", help="model name (see `pixelpatrol models`) or .onnx file")
    scan.add_argument("--out", metavar="FILE",
                      help="write rows to FILE (.csv, .json, .jsonl; .parquet with --engine ray); default: CSV on stdout")
    scan.add_argument("--format", choices=("csv", "json", "jsonl"), help="output format (default: from --out)")
    scan.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                      help="auto: CUDA when it really works, else CPU; cuda falls back to CPU with a warning")
    scan.add_argument("--batch-size", type=_positive, metavar="N", help="images per inference call")
    scan.add_argument("--workers", type=_positive, metavar="N", help="decode threads (default: CPU count)")
    scan.add_argument("--threshold", type=_fraction, metavar="T", help="your decision threshold in [0, 1]")
    scan.add_argument("--no-cache", action="store_true", help="decode every file even if unchanged since last time")
    scan.add_argument("--hidden", action="store_true", help="include hidden files and folders")
    scan.add_argument("--no-recursive", action="store_true", help="do not descend into subfolders")
    scan.add_argument("--resume", action="store_true",
                      help="continue the last interrupted scan of the same paths with the same model")
    scan.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    scan.add_argument("--engine", choices=("local", "ray"), default="local",
                      help="local: this machine (default); ray: a Ray cluster (the cluster extra, docs/scale-out.md)")
    scan.add_argument("--ray-address", metavar="ADDRESS",
                      help="with --engine ray: join this cluster (e.g. ray://head:10001); default: a local instance")
    models = sub.add_parser("models", help="list the models (a table); `models NAME`: one model's full card; "
                                           "add or remove yours")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models_sub = models.add_subparsers(dest="models_command", metavar="{add,remove}")
    add = models_sub.add_parser("add", help="copy a PixelPatrol .onnx model into your models folder")
    add.add_argument("file", metavar="FILE", help="the .onnx file (it is copied, never changed)")
    add.add_argument("--name", metavar="NAME", help="the name to list and scan it under (default: its own)")
    remove = models_sub.add_parser("remove", help="delete one of your models (not a bundled one)")
    remove.add_argument("name", metavar="NAME", help="its name (see `pixelpatrol models`) or file")
    return parser


def version_line() -> str:
    from desktop import __version__

    return f"{PROG} {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("--version", "-V"):
        print(version_line())
        return EXIT_OK
    if not args or args[0] == "gui":
        return _gui(args[1:])
    if args[0] not in ("-h", "--help") and (args[0].startswith("-") or Path(args[0]).exists()):
        # `pixelpatrol --smoke`, `pixelpatrol FOLDER`: app options and paths open the app;
        # an unknown word is a usage error (argparse below), never a window.
        return _gui(args)
    if len(args) == 2 and args[0] == "models" and args[1] not in ("add", "remove") and not args[1].startswith("-"):
        return _model_card(args[1])  # `pixelpatrol models NAME`: one model's full card
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:  # argparse already printed usage and the reason
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    if ns.command == "scan":
        from desktop.cli.scan import run_scan

        return run_scan(ns)
    if ns.command == "models":
        if ns.models_command == "add":
            return _models_add(ns.file, ns.name)
        if ns.models_command == "remove":
            return _models_remove(ns.name)
        return _models(ns.json)
    if ns.command == "models_card":
        return _model_card(ns.name)
    return _gui([])


def _gui(argv: list[str]) -> int:
    try:
        from desktop.qt.shell.app import main as gui_main
    except ImportError as exc:
        return fail(f"the desktop app is not available ({exc}); `{PROG} scan PATH` works without it", EXIT_FAILED)
    return int(gui_main(argv))


def _models(as_json: bool) -> int:
    import json

    from desktop.core import paths
    from desktop.core.models.catalog import default_model, list_models
    from desktop.core.models.detector import create_session

    entries = list_models()
    default = default_model(entries)
    probe_path = default.path if default else next((e.path for e in entries if e.contract), None)
    device, reason = ("cpu", "no model to probe the device with")
    if probe_path is not None:
        _, device, reason = create_session(probe_path, "auto", threads=1)
    if as_json:
        out: list[dict[str, Any]] = []
        for e in entries:
            out.append({"name": e.name, "kind": e.contract.kind if e.contract else None,
                        "origin": e.source, "path": str(e.path), "source": e.source, "error": e.error,
                        "default": default is not None and e.path == default.path,
                        "contract": dict(e.contract.raw) if e.contract else None})
        print(json.dumps({"device": device, "device_reason": reason, "models": out}, indent=2))
        return EXIT_OK
    print(f"device: {device.upper()} ({reason}) — every model runs there")
    print(f"bundled models: {paths.bundled_models_dir()}")
    print(f"user models:    {paths.user_models_dir()}")
    if not entries:
        print("\nno models found")
        return EXIT_OK
    print()
    _print_table(sys.stdout, entries, default)
    print(f"\none model's full card (data, licence, how it was trained and measured): {PROG} models NAME")
    return EXIT_OK


def _model_card(name: str) -> int:
    from desktop.core.models.catalog import list_models

    entries = list_models()
    found = [e for e in entries if e.name == name or str(e.path) == name or Path(name).name == e.path.name]
    if not found:
        names = ", ".join(e.name for e in entries) or "none"
        return fail(f"no model named '{name}' (models: {names})", EXIT_USAGE)
    from desktop.core.models.catalog import default_model

    default = default_model(entries)
    for e in found:
        _print_entry(sys.stdout, e, default is not None and e.path == default.path)
    return EXIT_OK


def measured_text(contract: Any) -> str:
    """The card's headline measurement, short: 'AUROC 0.9974, balanced acc. 97.7 %'. Where the validation
    mixes kinds of image (CIFAKE and GAN samples), the figures of the model's first kind (its domain: what
    the contract's trust is measured on), never the all-together ones, which a second, easier kind lifts."""
    from desktop.core.models.contract import auroc_text

    def section(parent: Any, key: str) -> dict[str, Any]:
        value = parent.get(key) if isinstance(parent, dict) else None
        return value if isinstance(value, dict) else {}

    card: dict[str, Any] = dict(contract.card) if contract is not None else {}
    validation = section(card, "validation")
    per_kind = section(validation, "per_kind")
    first_kind = next((v for v in per_kind.values() if isinstance(v, dict)), None)
    metrics = first_kind if first_kind is not None else section(validation, "metrics")
    trust = getattr(contract, "trust", None)
    auroc = trust.auroc if trust is not None and trust.auroc is not None else metrics.get("roc_auc")
    parts = []
    if isinstance(auroc, (int, float)):
        parts.append(f"AUROC {auroc_text(auroc)}")
    for key, label in (("balanced_accuracy", "balanced acc."), ("accuracy", "accuracy"), ("val_accuracy", "accuracy")):
        if isinstance(metrics.get(key), (int, float)):
            parts.append(f"{label} {100 * metrics[key]:.1f} %")
            break
    measures = section(card, "measures")
    ema = section(measures, "ema") or measures
    if not parts and isinstance(ema.get("frechet"), (int, float)):
        parts.append(f"Fréchet {ema['frechet']:.1f}")
    return ", ".join(parts) or "—"


def input_text(contract: Any) -> str:
    if contract is None:
        return "—"
    if contract.input is not None:
        return f"{contract.input.width}x{contract.input.height}"
    latent = (contract.raw.get("inputs") or {}).get("latent") if isinstance(contract.raw, dict) else None
    return f"noise ({latent['dim']})" if isinstance(latent, dict) and "dim" in latent else "—"


ABOUT_WIDTH = 60


def _print_table(out: IO[str], entries: list[Any], default: Any) -> None:
    rows = [("NAME", "KIND", "ORIGIN", "INPUT", "MEASURED", "ABOUT")]
    routed = [e for e in entries if e.contract is not None and e.contract.kind == "detector"
              and e.contract.domain is not None and e.source == "bundled"]
    for e in entries:
        c = e.contract
        if routed:  # the default scan routes each image to one of these (docs/verdicts.md)
            lo, hi = e.contract.domain.long_side if e in routed and e.contract and e.contract.domain else (0, 0)
            span = f"{lo or 1}-{hi} px" if hi else f"{lo or 1}+ px"
            name = e.name + (f" (auto: {span})" if e in routed else "")
        else:
            name = e.name + (" (default)" if default is not None and e.path == default.path else "")
        if c is None:
            rows.append((name, "unusable", e.source, "—", "—", str(e.error or "")))
            continue
        about = str(c.card.get("summary", "")) or c.title
        rows.append((name, c.kind, e.source, input_text(c), measured_text(c), about))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        about = r[5] if len(r[5]) <= ABOUT_WIDTH else r[5][: ABOUT_WIDTH - 1] + "…"
        print("  ".join(cell.ljust(w) for cell, w in zip(r[:5], widths, strict=True)) + "  " + about, file=out)


def _models_add(file: str, name: str | None) -> int:
    from desktop.core.models.detector import ModelError
    from desktop.core.models.registry import add_model

    try:
        added = add_model(Path(file), name)
    except ModelError as exc:
        return fail(str(exc), EXIT_FAILED)
    if added.note:
        print(f"{PROG}: {added.note}", file=sys.stderr)
    if not added.already:
        print(f"added '{added.name}' ({added.title}) as {added.path}")
    print(f"scan with it: {PROG} scan --model {added.name} PATH")
    return EXIT_OK


def _models_remove(name: str) -> int:
    from desktop.core.models.detector import ModelError
    from desktop.core.models.registry import remove_model

    try:
        path = remove_model(name)
    except ModelError as exc:
        return fail(str(exc), EXIT_FAILED)
    print(f"removed {path}")
    return EXIT_OK


def _print_entry(out: IO[str], entry: Any, is_default: bool) -> None:
    import json

    c = entry.contract
    mark = " (default)" if is_default else ""
    print(f"\n{entry.name}{mark}  [{entry.source}]  {entry.path}", file=out)
    if c is None:
        print(f"  unusable: {entry.error}", file=out)
        return
    print(f"  {c.title} - {c.kind}", file=out)
    if c.input is not None:
        feed = c.feed
        how = f"resized ({feed.resample})" if feed.mode == "resize" else \
            f"patches (up to {feed.max_patches}, {feed.aggregate})"
        print(f"  input: {c.input.width}x{c.input.height} RGB, images {how}", file=out)
    if c.thresholds is not None:
        t = c.thresholds
        print(f"  thresholds: real<={t.real} likely_real<={t.likely_real} decision={t.decision} "
              f"likely_ai>={t.likely_ai} ai>={t.ai}", file=out)
    for key, value in c.card.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        print(f"  {key}: {text}", file=out)


if __name__ == "__main__":
    sys.exit(main())
