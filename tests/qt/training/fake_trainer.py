"""A stand-in for `pixelpatrol-train` that speaks the metrics protocol and honours STOP/SIGINT.

argv like the real CLI: RECIPE --out DIR [--data P]... [--epochs N] [--resume] [...]. Protocol on
stdout and in DIR/metrics.jsonl, log on stderr; exit 0 finished, 3 stopped (as the real trainer). Like
the real one it records its command and working folder in config.json, needs --data on a resume too,
and a stopped run's finish event says `resume_with` and `epochs_done`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

STEPS = 50


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("recipe")
    p.add_argument("--out", required=True)
    p.add_argument("--data", action="append", default=[])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--resume", action="store_true")
    args, _ = p.parse_known_args()
    run = Path(args.out)
    run.mkdir(parents=True, exist_ok=True)
    (run / "STOP").unlink(missing_ok=True)  # a stale request from the previous session, as the real Run does
    command = "pixelpatrol-train " + shlex.join(sys.argv[1:])
    if args.resume and (run / "config.json").exists():
        command = json.loads((run / "config.json").read_text()).get("command", command)
    else:
        (run / "config.json").write_text(json.dumps({"recipe": args.recipe, "command": command,
                                                     "args": vars(args), "cwd": os.getcwd()}))
    stop_flag = {"set": False}
    signal.signal(signal.SIGINT, lambda *_: stop_flag.update(set=True))
    metrics = (run / "metrics.jsonl").open("a")

    def emit(event: str, **fields: object) -> None:
        line = json.dumps({"v": 1, "event": event, "time": round(time.time(), 3), **fields})
        for out in (metrics, sys.stdout):
            out.write(line + "\n")
            out.flush()

    print(f"fake trainer: {args.recipe} on {args.data} for {args.epochs} epochs", file=sys.stderr, flush=True)
    if not args.data:  # what train_and_ship raises
        print(f"pixelpatrol-train: ValueError: {args.recipe}: no data given (--data PATH, repeatable)",
              file=sys.stderr, flush=True)
        emit("error", message="ValueError: no data given", type="ValueError", traceback="", checkpoint=None)
        emit("finish", status="failed", elapsed_s=0.0, epochs=args.epochs)
        return 1
    missing = [d for d in args.data if not Path(d.split("=", 1)[-1]).exists()]
    if missing:
        print(f"pixelpatrol-train: FileNotFoundError: {missing[0]} does not exist", file=sys.stderr, flush=True)
        return 1
    done = 0
    if args.resume:
        for line in (run / "metrics.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "epoch_end":
                done = event["epoch"]
    emit("run_start", recipe=args.recipe, run_dir=str(run), epochs=args.epochs, initial_epoch=done,
         resumed=args.resume, metrics=["loss"], pid=0, steps_per_epoch=STEPS)
    for epoch in range(done + 1, args.epochs + 1):
        for step in range(1, STEPS + 1):
            if stop_flag["set"] or (run / "STOP").exists():
                print(f"stopped after {epoch - 1} epoch(s); continue with --resume", file=sys.stderr, flush=True)
                emit("finish", status="stopped", elapsed_s=0.1, epochs=args.epochs, epochs_done=epoch - 1,
                     resume_with=command + ("" if args.resume else " --resume"))
                return 3
            emit("batch", epoch=epoch, step=step, steps=STEPS, metrics={"loss": 1.0 / (step + epoch), "accuracy": 0.5})
            time.sleep(0.02)
        emit("epoch_end", epoch=epoch, epochs=args.epochs, metrics={"loss": 0.5, "val_loss": 0.6})
    emit("finish", status="completed", elapsed_s=1.0, epochs=args.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
