"""``--set key=value``: typed by the config field, unknown keys refused with the list of known ones."""

from __future__ import annotations

import pytest

from training.detector.fit import DetectorConfig
from training.gan.recipe import GanConfig
from training.recipes import RecipeContext
from training.recipes.options import apply_options, flat_options


def context(**options: str) -> RecipeContext:
    return RecipeContext(
        run=None,  # type: ignore[arg-type]
        data=["x.zip"],
        seed=3,
        resume=False,
        epochs=None,
        batch_size=None,
        lr=None,
        limit=None,
        tune=False,
        options=dict(options),
        command="",
    )


def test_flat_options_types_values_by_the_field_and_none_clears() -> None:
    cfg = GanConfig(conditional=True)
    got = flat_options(cfg, {"g_width": "24", "lr_d": "1e-4", "diffaugment": "on", "limit": "none"})
    assert got == {"g_width": 24, "lr_d": 1e-4, "diffaugment": True, "limit": None}


@pytest.mark.parametrize("key", ["no_such_option", "data"])
def test_flat_options_refuses_unknown_keys_and_data(key: str) -> None:
    with pytest.raises(ValueError, match=f"unknown option '{key}'.*g_width"):
        flat_options(GanConfig(), {key: "1"})


def test_detector_options_reach_model_augment_and_config() -> None:
    ctx = context(**{"model.dropout": "0.2", "augment.jpeg_p": "0", "patience": "5"})
    cfg = apply_options(DetectorConfig(model={"dropout": 0.3}), ctx)
    assert cfg.model["dropout"] == 0.2 and cfg.augment.jpeg_p == 0.0 and cfg.patience == 5 and cfg.seed == 3
    with pytest.raises(ValueError, match="unknown option 'model_dropout'"):
        apply_options(DetectorConfig(), context(model_dropout="1"))


def test_none_clears_optional_fields_only() -> None:
    ctx = context(patience="none")
    assert apply_options(DetectorConfig(), ctx).patience is None
    with pytest.raises(ValueError, match="'epochs' cannot be none"):
        apply_options(DetectorConfig(), context(epochs="none"))
    with pytest.raises(ValueError, match="'g_width' cannot be none"):
        flat_options(GanConfig(), {"g_width": "none"})


def test_gan_lr_decay_start_is_an_epoch_count_below_epochs() -> None:
    from training.gan.recipe import apply_context

    cfg = apply_context(GanConfig(epochs=12), context(lr_decay_start="8"))
    assert cfg.lr_decay_start == 8
    with pytest.raises(ValueError, match="lr_decay_start must be in"):
        apply_context(GanConfig(epochs=12), context(lr_decay_start="12"))
