"""A stand-in for `pixelpatrol-train` that speaks the metrics protocol and honours STOP/SIGINT.

argv like the real CLI: RECIPE --out DIR [--data P]... [--epochs N] [--resume] [...]. Protocol on
stdout and in DIR/metrics.jsonl, log on stderr; exit 0 finished, 3 stopped (as the real trainer).
"""

from __future__ import annotations

import argparse
import json
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
    (run / "config.json").write_text(json.dumps({"recipe": args.recipe}))
    stop_flag = {"set": False}
    signal.signal(signal.SIGINT, lambda *_: stop_flag.update(set=True))
    metrics = (run / "metrics.jsonl").open("a")

    def emit(event: str, **fields: object) -> None:
        line = json.dumps({"v": 1, "event": event, "time": round(time.time(), 3), **fields})
        for out in (metrics, sys.stdout):
            out.write(line + "\n")
            out.flush()

    print(f"fake trainer: {args.recipe} on {args.data}", file=sys.stderr, flush=True)
    emit("run_start", recipe=args.recipe, run_dir=str(run), epochs=args.epochs, initial_epoch=0,
         resumed=args.resume, metrics=["loss"], pid=0, steps_per_epoch=STEPS)
    for epoch in range(1, args.epochs + 1):
        for step in range(1, STEPS + 1):
            if stop_flag["set"] or (run / "STOP").exists():
                print("stop requested; checkpoint saved", file=sys.stderr, flush=True)
                emit("finish", status="stopped", elapsed_s=0.1, epochs=epoch - 1)
                return 3
            emit("batch", epoch=epoch, step=step, steps=STEPS, metrics={"loss": 1.0 / (step + epoch), "accuracy": 0.5})
            time.sleep(0.02)
        emit("epoch_end", epoch=epoch, epochs=args.epochs, metrics={"loss": 0.5, "val_loss": 0.6})
    emit("finish", status="completed", elapsed_s=1.0, epochs=args.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
