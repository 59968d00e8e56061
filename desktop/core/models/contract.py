"""Verdicts from a detector's score and its contract's bands; the contract schema itself is
:mod:`spec.contract` (shared with the trainer), re-exported here for the engine's modules."""

from __future__ import annotations

from dataclasses import replace

from spec.contract import (
    AGGREGATES,
    CONTRACT_KEY,
    FEED_MODES,
    KINDS,
    RESAMPLE_NAMES,
    SUPPORTED_VERSIONS,
    VERDICTS,
    ContractError,
    Domain,
    FeedSpec,
    GeneratorInputs,
    InputSpec,
    ModelContract,
    OutputSpec,
    Thresholds,
    Trust,
    auroc_text,
)
from spec.contract_parse import check_against_graph, contract_from_dict, parse_contract

__all__ = [
    "AGGREGATES",
    "CAPPED",
    "CONTRACT_KEY",
    "FEED_MODES",
    "KINDS",
    "RESAMPLE_NAMES",
    "SUPPORTED_VERSIONS",
    "VERDICTS",
    "ContractError",
    "Domain",
    "FeedSpec",
    "GeneratorInputs",
    "InputSpec",
    "ModelContract",
    "OutputSpec",
    "Thresholds",
    "Trust",
    "auroc_text",
    "cap_verdict",
    "check_against_graph",
    "contract_from_dict",
    "parse_contract",
    "remap_thresholds",
    "verdict_for",
]


# ---------------------------------------------------------------------------- verdicts


def _remap(edge: float, decision: float, target: float) -> float:
    """Piecewise-linear map sending 0 -> 0, decision -> target, 1 -> 1."""
    if edge <= decision:
        return edge * target / decision if decision > 0 else 0.0
    return target + (edge - decision) * (1.0 - target) / (1.0 - decision) if decision < 1 else target


def remap_thresholds(thresholds: Thresholds, user_threshold: float | None) -> Thresholds:
    """Move the decision point to the user's threshold, keeping the bands' shape around it."""
    if user_threshold is None:
        return thresholds
    if not 0.0 <= user_threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {user_threshold}")
    d = thresholds.decision
    return replace(
        thresholds,
        decision=user_threshold,
        real=_remap(thresholds.real, d, user_threshold),
        likely_real=_remap(thresholds.likely_real, d, user_threshold),
        likely_ai=_remap(thresholds.likely_ai, d, user_threshold),
        ai=_remap(thresholds.ai, d, user_threshold),
    )


CAPPED = {"ai": "likely_ai", "real": "likely_real"}


def cap_verdict(verdict: str) -> str:
    """A confident band turned into its 'likely' neighbour (for a weak model, or an image outside its domain)."""
    return CAPPED.get(verdict, verdict)


def verdict_for(score: float, thresholds: Thresholds, user_threshold: float | None = None) -> str:
    """The verdict band of a detector score (one of VERDICTS)."""
    t = remap_thresholds(thresholds, user_threshold)
    if score >= t.ai:
        return "ai"
    if score >= t.likely_ai:
        return "likely_ai"
    if score <= t.real:
        return "real"
    if score <= t.likely_real:
        return "likely_real"
    return "uncertain"
