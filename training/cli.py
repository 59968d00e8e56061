"""``pixelpatrol-train RECIPE --data ... --epochs N --out RUN_DIR [--resume] [--seed S]``.

stdout carries only the metrics protocol (one JSON object per line, the same lines as the run's
``metrics.jsonl``); logs and the progress bar go to stderr. Other commands: ``list`` (recipes),
``evaluate-generator MODEL.onnx`` (measures of a generator; see docs/generators.md).
Exit status: 0 finished, 3 stopped early (resume later), 1 error, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from training.recipes import RECIPES, RecipeContext, get
from training.runs import Run

log = logging.getLogger("training")
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pixelpatrol-train", description="Train PixelPatrol's models.")
    p.add_argument("recipe", help=f"one of: {', '.join(sorted(RECIPES))} (or 'list')")
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="[ROLE=]PATH",
        help="folder, zip or tarball; repeatable; real=PATH / fake=PATH for unlabeled sources",
    )
    p.add_argument("--out", required=True, help="run directory (created; holds config, metrics, checkpoints)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--limit", type=int, help="at most this many training samples (quick runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--name",
        help="the trained model's name (default: from the run folder's name); the recipe's own name "
        "keeps the recipe's identity, as for the shipped models",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument(
        "--tune", action="store_true", help="hyperparameter search first (recipes that support it)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="recipe option; repeatable"
    )
    p.add_argument("--time-limit-min", type=float, help="stop cleanly (as if asked) after this many minutes")
    p.add_argument("--threads", type=int, help="TensorFlow CPU threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="warnings only on stderr")
    return p


def _options(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _set_threads(threads: int | None) -> None:
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import tensorflow as tf

        inter = 1 if threads <= 2 else 2
        cfg = tf.config.threading
        if (cfg.get_intra_op_parallelism_threads(), cfg.get_inter_op_parallelism_threads()) == (
            threads,
            inter,
        ):
            return
        try:
            cfg.set_intra_op_parallelism_threads(threads)
            cfg.set_inter_op_parallelism_threads(inter)
        except RuntimeError as exc:  # TensorFlow already ran in this process (a second run in one process)
            log.warning("--threads %d ignored: %s", threads, exc)


def run_cli(argv: Sequence[str], stream: IO[str] | None = None) -> int:
    """The CLI without touching file descriptors (tests call this); protocol lines go to ``stream``."""
    argv = list(argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        recipe = get(args.recipe)
        options = _options(args.set)
        fn = recipe.load()
    except (KeyError, ValueError, ImportError) as exc:
        print(f"pixelpatrol-train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    this_command = "pixelpatrol-train " + shlex.join(argv)
    command, resumes = this_command, []
    previous = Path(args.out).expanduser() / "config.json"
    if args.resume and previous.exists():  # the card names the command that started the run ...
        with contextlib.suppress(OSError, ValueError):
            earlier = json.loads(previous.read_text())
            command = earlier.get("command", command)
            resumes = [*earlier.get("resumed_with", []), this_command]  # ... and every resume after it
            args.name = args.name or (earlier.get("args") or {}).get("name")  # the model keeps its name
    # cwd: relative --data/--out paths in the command mean something only from there (the app's Resume)
    config = {"recipe": args.recipe, "command": command, "resumed_with": resumes, "args": vars(args),
              "cwd": os.getcwd()}
    try:
        run = Run(
            args.out,
            args.recipe,
            config,
            resume=args.resume,
            stream=stream,
            time_limit_s=args.time_limit_min * 60 if args.time_limit_min else None,
        )
    except (OSError, ValueError) as exc:
        print(f"pixelpatrol-train: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctx = RecipeContext(
        run=run,
        data=args.data,
        seed=args.seed,
        resume=args.resume,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        limit=args.limit,
        tune=args.tune,
        options=options,
        command="\n".join([command, *resumes]),  # what the model card shows under "Reproduce"
    )
    try:
        _set_threads(args.threads)
        result = fn(ctx)
    except BaseException as exc:
        run.error(exc)
        run.finish("failed", epochs=run.epochs)
        if isinstance(exc, KeyboardInterrupt):
            return EXIT_STOPPED
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"pixelpatrol-train: {type(exc).__name__}: {first_line}", file=sys.stderr)
        log.debug("traceback", exc_info=True)
        return EXIT_ERROR
    if result is None:
        done = run.load_state().get("epochs_done")  # the log's "stopped after N epoch(s)"
        run.finish("stopped", epochs=run.epochs, epochs_done=done if isinstance(done, int) else None,
                   resume_with=command + ("" if args.resume else " --resume"))
        return EXIT_STOPPED
    run.finish("completed", epochs=run.epochs, result=result)
    return EXIT_OK


def _list(argv: Sequence[str]) -> int:
    for name in sorted(RECIPES):
        print(f"{name:22s} {RECIPES[name].summary}")
    return EXIT_OK


def _evaluate_generator(argv: Sequence[str]) -> int:
    from training.gan.evaluate import cli_main

    return cli_main(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "list": _list,
    "evaluate-generator": _evaluate_generator,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: keeps the real stdout for the protocol, sends everything else to stderr
    (TensorFlow, Keras Tuner and friends print to stdout)."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:  # commands print their report on stdout (no protocol)
        sys.stdout = protocol
    try:
        return run_cli(args, stream=protocol)
    finally:
        with contextlib.suppress(BrokenPipeError, ValueError):
            protocol.flush()


if __name__ == "__main__":
    sys.exit(main())
