"""Writes a metrics file into RUN_DIR/metrics.jsonl line by line, each line in two halves (so a
reader sees partial lines), `DELAY` seconds apart: a training run that is being watched.

usage: python replay_metrics.py SOURCE.jsonl RUN_DIR [DELAY_S]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> int:
    source, run = Path(sys.argv[1]), Path(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
    run.mkdir(parents=True, exist_ok=True)
    with (run / "metrics.jsonl").open("a", encoding="utf-8") as out:
        for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
            half = len(line) // 2
            out.write(line[:half])
            out.flush()
            time.sleep(delay / 2)
            out.write(line[half:])
            out.flush()
            time.sleep(delay / 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
