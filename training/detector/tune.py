"""Keras Tuner Hyperband over a recipe's search space (``--tune``), on a training subset.

The search runs in ``RUN_DIR/tuner`` on at most ``cfg.tune_limit`` training samples for up to
``cfg.tune_epochs`` epochs per trial, scored on the validation split by ``cfg.monitor``; the best
hyperparameters (e.g. ``{"width": 32, "lr": 0.001}``) are returned and then trained on everything.
A stop request ends the search between trials (the best so far is used).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from training.data.loading import subsample
from training.detector.fit import DetectorConfig, Split, make_dataset, validation_dataset
from training.recipes import RecipeContext

log = logging.getLogger(__name__)


def searched(hp: Any) -> dict[str, Any]:
    """A trial's hyperparameter values without Keras Tuner's own ``tuner/...`` bookkeeping."""
    return {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}


def hyperband(
    ctx: RecipeContext,
    cfg: DetectorConfig,
    split: Split,
    space: Callable[[Any, DetectorConfig], Any],
    targets: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    import keras
    import keras_tuner as kt

    train_idx = subsample(split.train, cfg.tune_limit, cfg.seed)
    train_ds = make_dataset(
        split.images,
        split.labels,
        train_idx,
        cfg.batch_size,
        augment=cfg.augment,
        seed=cfg.seed,
        shuffle=True,
        targets=targets,
    )
    val_ds = validation_dataset(split, cfg, targets)

    class LoggingHyperband(kt.Hyperband):  # type: ignore[misc]
        """Hyperband that says on stderr (the app shows it as the run's log) how each trial ended."""

        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            done = len(self.oracle.trials)
            best = self.oracle.get_best_trials(1)
            log.info(
                "trial %d (%s epochs): %s -> %s %s; best so far %s",
                done,
                trial.hyperparameters.values.get("tuner/epochs", "?"),
                searched(trial.hyperparameters),
                cfg.monitor,
                "none" if trial.score is None else f"{trial.score:.4f}",
                f"{best[0].score:.4f}" if best and best[0].score is not None else "none",
            )

    tuner = LoggingHyperband(
        lambda hp: space(hp, cfg),
        objective=kt.Objective(cfg.monitor, direction=cfg.monitor_mode),
        max_epochs=max(cfg.tune_epochs, 2),
        factor=3,
        seed=cfg.seed,
        directory=str(ctx.run.dir),
        project_name="tuner",
        overwrite=False,  # a resumed run continues the search
    )

    class StopBetweenTrials(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if ctx.run.should_stop():
                self.model.stop_training = True

    log.info(
        "Hyperband search on %d training samples, up to %d epochs per trial", len(train_idx), cfg.tune_epochs
    )
    tuner.search(train_ds, validation_data=val_ds, callbacks=[StopBetweenTrials()], verbose=0)
    best = tuner.get_best_hyperparameters(1)
    if not best:
        raise RuntimeError("the tuner finished no trial (stopped too early?)")
    values = {k: (float(v) if isinstance(v, float) else v) for k, v in searched(best[0]).items()}
    trials = [
        {"hyperparameters": searched(t.hyperparameters), "score": t.score}
        for t in tuner.oracle.get_best_trials(10)
    ]
    ctx.run.evaluation("tuning", {"best": values, "objective": cfg.monitor, "trials": trials})
    log.info("best hyperparameters: %s", values)
    return values
