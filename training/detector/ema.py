"""An exponential moving average of a detector's weights while it trains (Polyak averaging; timm's ModelEmaV2).

Every weight is averaged, batch-norm statistics too, after every training batch, with the decay warmed up as
``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (as TensorFlow's ExponentialMovingAverage), so early
weights fade fast. At the end of each full epoch the averaged model is measured on validation and saved as
``ema.keras`` beside ``ema.json`` (its update count and validation figures), so ``--resume`` continues the
average from the last finished epoch, as it continues training from ``last.keras``. An epoch cut short by
Stop is not saved (its batches are trained again on resume).

:func:`choose_checkpoint` picks what is shipped: the average when its validation AUC is at least the best
epoch's, else the best epoch; both figures are kept for the card. Given a way to measure a checkpoint, AUC is
compared exactly: Keras' AUC (200 evenly spaced thresholds), which training logs and picks the best epoch by,
under-rates a confident model whose scores crowd the end bins (session 13: the average after 30 epochs read
0.99643 binned and 0.99808 exact, while the best epoch it lost to read 0.99679 and 0.99779).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

log = logging.getLogger(__name__)
EMA = "ema.keras"
EMA_STATE = "ema.json"


class WeightAverage(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, run_dir: Path, decay: float, val_ds: Any, resume: bool) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1), got {decay}")
        self.run_dir = Path(run_dir)
        self.decay = decay
        self.val_ds = val_ds
        self.resume = resume
        self.updates = 0
        self.average: list[np.ndarray] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        state_path, ema_path = self.run_dir / EMA_STATE, self.run_dir / EMA
        if self.resume and state_path.exists() and ema_path.exists():
            saved = keras.models.load_model(ema_path, compile=False)
            self.average = [np.array(w, np.float64) for w in saved.get_weights()]
            self.updates = int(json.loads(state_path.read_text())["updates"])
            log.info("weight average continued from %s (%d updates)", ema_path, self.updates)
        else:
            self.average = [np.array(w, np.float64) for w in self.model.get_weights()]

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.updates += 1
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for avg, w in zip(self.average, self.model.get_weights(), strict=True):
            avg *= d
            avg += (1.0 - d) * w

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if "val_loss" not in (logs or {}):  # cut short by Stop: not a finished epoch
            return
        trained = self.model.get_weights()
        self.model.set_weights([a.astype(w.dtype) for a, w in zip(self.average, trained, strict=True)])
        try:
            val = self.val_ds if isinstance(self.val_ds, tuple) else (self.val_ds,)  # (x, y) arrays or a dataset
            measured = self.model.evaluate(*val, verbose=0, return_dict=True)
            tmp = self.run_dir / ("tmp-" + EMA)
            self.model.save(tmp)
            tmp.replace(self.run_dir / EMA)
        finally:
            self.model.set_weights(trained)
        figures = {f"val_{k}": float(v) for k, v in measured.items()}
        state = {"updates": self.updates, "epoch": epoch + 1, "decay": self.decay, **figures}
        (self.run_dir / EMA_STATE).write_text(json.dumps(state, indent=1))
        log.info("epoch %d weight average: %s", epoch + 1, ", ".join(f"{k} {v:.5f}" for k, v in figures.items()))


def choose_checkpoint(run_dir: Path, best: Path, monitor: str, mode: str,
                      exact_auc: Callable[[Path], float] | None = None) -> tuple[Path, dict[str, Any] | None]:
    """``ema.keras`` when its validation ``monitor`` is at least as good as the best epoch's (state.json),
    else ``best``; and what was compared (None without an average). With ``exact_auc`` (a checkpoint's ROC AUC
    on validation) and an AUC monitor, both checkpoints are measured by it instead of the logged binned AUC."""
    state_path, ema_path = run_dir / EMA_STATE, run_dir / EMA
    if not (state_path.exists() and ema_path.exists()):
        return best, None
    ema = json.loads(state_path.read_text())
    run_state = json.loads((run_dir / "state.json").read_text()) if (run_dir / "state.json").exists() else {}
    best_value, ema_value = run_state.get("best_value"), ema.get(monitor)
    exact = False
    if exact_auc is not None and monitor.endswith("auc") and ema_value is not None and best.exists():
        exact, ema_value, best_value = True, exact_auc(ema_path), exact_auc(best)
    if ema_value is None or best_value is None:
        use = ema_value is not None
    else:
        use = ema_value >= best_value if mode == "max" else ema_value <= best_value
    report = {"monitor": "validation ROC AUC (exact)" if exact else monitor, "weight_average": ema_value, "best_epoch": best_value,
              "best_epoch_number": run_state.get("best_epoch"), "updates": ema.get("updates"),
              "decay": ema.get("decay"), "shipped": "weight average" if use else "best epoch"}
    return (ema_path if use else best), report
