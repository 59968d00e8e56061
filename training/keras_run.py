"""Keras glue for :class:`training.runs.Run`: protocol events, stop at the next batch, checkpoints,
early stopping that survives ``--resume``.

Checkpoints in the run directory: ``last.keras`` (model + optimizer, written after every epoch and
when a stop ends an epoch early) and ``best.keras`` (best monitored value). ``state.json`` records
finished epochs, the best value and the early-stopping wait, so a resumed run continues counting.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras

from training.runs import Run

log = logging.getLogger(__name__)
LAST = "last.keras"
BEST = "best.keras"


class RunCallback(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(
        self, run: Run, steps: int, monitor: str = "val_loss", mode: str = "min", patience: int | None = None
    ) -> None:
        super().__init__()
        self.run = run
        self.steps = steps
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        state = run.load_state()
        self.epochs_done = int(state.get("epochs_done", 0))
        self.best = state.get("best_value")
        self.best_epoch = state.get("best_epoch")
        self.wait = int(state.get("wait", 0))
        self.stopped_by_request = False
        self.early_stopped = False
        self._epoch = 0

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return bool(value < self.best if self.mode == "min" else value > self.best)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self.run.on_batch(self._epoch, batch + 1, self.steps, metrics)
        if self.run.should_stop():
            self.stopped_by_request = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if self.stopped_by_request and self.monitor not in metrics:
            # Keras skips validation when a stop cut the epoch short: keep the weights, not the epoch.
            self._save(LAST)
            return
        value = metrics.get(self.monitor)
        improved = value is not None and math.isfinite(value) and self._better(value)
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            self._save(BEST)
        else:
            self.wait += 1
        if not self.stopped_by_request:
            self.epochs_done = epoch + 1
        lr = getattr(self.model.optimizer, "learning_rate", None)
        try:
            metrics["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except Exception:
            _ = lr
        self._save(LAST)
        self.run.save_state(self._state())
        self.run.on_epoch(epoch + 1, metrics, best=improved, monitor=self.monitor, best_value=self.best)
        if self.patience is not None and self.wait >= self.patience:
            log.info("early stopping: %s did not improve for %d epochs", self.monitor, self.wait)
            self.early_stopped = True
            self.model.stop_training = True

    def _state(self) -> dict[str, Any]:
        return {
            "epochs_done": self.epochs_done,
            "best_value": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "monitor": self.monitor,
            "early_stopped": self.early_stopped,
        }

    def _save(self, name: str) -> None:
        path = self.run.dir / name
        tmp = self.run.dir / (name + ".tmp.keras")
        self.model.save(tmp)
        tmp.replace(path)
        self.run.last_checkpoint = str(self.run.dir / LAST)

    def save_final(self) -> None:
        """After fit: make sure a stop mid-epoch left a checkpoint and state."""
        self._save(LAST)
        self.run.save_state(self._state())


def load_checkpoint(path: Any) -> keras.Model:
    return keras.models.load_model(path, compile=True)
