"""The model contract: the `pixelpatrol` JSON in an ONNX file's metadata (docs/model-contract.md).

Everything the engine knows about a model comes from here; nothing about a model is hard-coded
anywhere else. Parsing is strict enough to refuse a file that would give wrong scores silently,
and lenient about fields that only decorate (title, card). The app parses every model it loads with
this module and the trainer validates every contract it writes with it (``training/ship/onnx.py``), so
the two cannot drift apart. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

# The metadata_props key whose value is the contract, as JSON.
CONTRACT_KEY = "pixelpatrol"

SUPPORTED_VERSIONS = (1,)
KINDS = ("detector", "classifier", "generator", "discriminator")
VERDICTS = ("ai", "likely_ai", "uncertain", "likely_real", "real")
FEED_MODES = ("resize", "patches", "multiscale")
RESAMPLE_NAMES = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")
AGGREGATES = ("mean", "max", "top25")


class ContractError(ValueError):
    """The contract is missing, malformed or does not match the graph."""


@dataclass(frozen=True)
class InputSpec:
    name: str
    layout: str
    height: int
    width: int
    channels: int
    dtype: str
    color: str
    value_range: tuple[float, float]


@dataclass(frozen=True)
class FeedSpec:
    mode: str = "resize"
    resample: str = "bilinear"
    max_patches: int = 16
    aggregate: str = "mean"


@dataclass(frozen=True)
class Domain:
    """The images a detector is made for (contract ``domain``); the default scan routes by it.

    ``long_side``: the image's longer side in pixels, inclusive bounds, None = open.
    """

    long_side: tuple[int | None, int | None] = (None, None)
    description: str = ""

    def contains(self, width: int, height: int) -> bool:
        lo, hi = self.long_side
        side = max(width, height)
        return (lo is None or side >= lo) and (hi is None or side <= hi)

    @property
    def span(self) -> float:
        lo, hi = self.long_side
        return (float("inf") if hi is None else hi) - (lo or 0)


def auroc_text(auroc: float) -> str:
    """An AUROC for people: four decimals from 0.99 up, where models differ in the fourth (0.9976 is not 0.998,
    and a goal of 0.998 is not met by it), three below."""
    return f"{auroc:.4f}" if auroc >= 0.99 else f"{auroc:.3f}"


@dataclass(frozen=True)
class Trust:
    """How far the model's verdicts can be trusted on the images of its domain (contract ``trust``).

    ``auroc``: measured ROC AUC on images like those of the domain (from the card, with ``measured_on``).
    ``max_band``: "confident" allows the ai/real bands; "likely" caps the model's own verdicts at
    likely_ai / likely_real (a model too weak for a bold answer on its own).
    """

    auroc: float | None = None
    measured_on: str = ""
    max_band: str = "confident"

    def text(self) -> str:
        if self.auroc is None:
            return "no measured accuracy on images like this"
        cap = "; verdicts capped at 'likely'" if self.max_band == "likely" else ""
        return f"measured AUROC {auroc_text(self.auroc)} on {self.measured_on or 'its validation data'}{cap}"


@dataclass(frozen=True)
class OutputSpec:
    name: str
    meaning: str = ""
    shape: tuple[int | None, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Thresholds:
    decision: float
    real: float
    likely_real: float
    likely_ai: float
    ai: float

    def __post_init__(self) -> None:
        edges = (self.real, self.likely_real, self.decision, self.likely_ai, self.ai)
        if any(not 0.0 <= e <= 1.0 for e in edges):
            raise ContractError(f"thresholds must lie in [0, 1], got {edges}")
        if any(a > b for a, b in pairwise(edges)):
            raise ContractError(
                "thresholds must be ordered real <= likely_real <= decision <= likely_ai <= ai, "
                f"got {edges}"
            )


@dataclass(frozen=True)
class GeneratorInputs:
    latent_name: str
    latent_dim: int
    label_name: str | None = None
    label_dtype: str = "int64"


@dataclass(frozen=True)
class ModelContract:
    version: int
    name: str
    kind: str
    title: str
    input: InputSpec | None
    feed: FeedSpec
    outputs: Mapping[str, OutputSpec]
    labels: tuple[str, ...]
    thresholds: Thresholds | None
    card: Mapping[str, Any]
    generator_inputs: GeneratorInputs | None = None
    domain: Domain | None = None  # detectors: the images it is made for (None: not routed to by default)
    trust: Trust = field(default_factory=Trust)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_patch_map(self) -> bool:
        return "patch_map" in self.outputs


# ---------------------------------------------------------------------------- parsing
