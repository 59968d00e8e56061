"""The live metrics stream of a training run (docs/metrics-protocol.md).

The trainer writes one JSON object per line to ``metrics.jsonl`` in the run directory (and to its
stdout); the app follows the file. Every event carries ``v``, ``event`` and ``time``.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
METRICS_FILE = "metrics.jsonl"
STOP_FILE = "STOP"  # created in the run directory to ask the trainer to stop after the current batch
EVENTS = ("run_start", "batch", "epoch_end", "images", "evaluation", "export", "error", "finish")
COMMON_FIELDS = ("v", "event", "time")
# Fields every event of a kind carries (more may follow; readers ignore what they do not know).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "run_start": ("recipe", "run_dir", "epochs", "initial_epoch", "resumed", "metrics"),
    "batch": ("epoch", "step", "steps", "metrics"),
    "epoch_end": ("epoch", "epochs", "metrics", "elapsed_s"),
    "images": ("epoch", "path", "caption"),
    "evaluation": ("split", "metrics"),
    "export": ("path",),
    "error": ("message", "type", "traceback", "checkpoint"),
    "finish": ("status", "elapsed_s"),
}
FINISH_STATUSES = ("completed", "stopped", "failed")
