from __future__ import annotations

import json
from pathlib import Path

import onnxruntime as ort
import pytest

from desktop.core.models.contract import (
    VERDICTS,
    ContractError,
    Thresholds,
    check_against_graph,
    contract_from_dict,
    parse_contract,
    remap_thresholds,
    verdict_for,
)
from tests.helpers import tiny_models


def _session_contract(path: Path) -> tuple[ort.InferenceSession, dict[str, str]]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session, session.get_modelmeta().custom_metadata_map


def _graph(session: ort.InferenceSession) -> tuple[dict[str, list[object]], dict[str, list[object]]]:
    return ({i.name: i.shape for i in session.get_inputs()}, {o.name: o.shape for o in session.get_outputs()})


T = Thresholds(decision=0.5, real=0.05, likely_real=0.3, likely_ai=0.7, ai=0.95)


def test_verdicts_are_in_documented_order() -> None:
    assert VERDICTS == ("ai", "likely_ai", "uncertain", "likely_real", "real")


@pytest.mark.parametrize(
    ("score", "verdict"),
    [(0.0, "real"), (0.05, "real"), (0.06, "likely_real"), (0.3, "likely_real"), (0.31, "uncertain"),
     (0.5, "uncertain"), (0.69, "uncertain"), (0.7, "likely_ai"), (0.94, "likely_ai"), (0.95, "ai"), (1.0, "ai")],
)
def test_verdict_bands_follow_thresholds(score: float, verdict: str) -> None:
    assert verdict_for(score, T) == verdict


def test_user_threshold_moves_band_edges_piecewise_linearly() -> None:
    moved = remap_thresholds(T, 0.25)
    assert moved.decision == 0.25
    assert moved.real == pytest.approx(0.025)  # below decision: scaled by 0.25 / 0.5
    assert moved.likely_real == pytest.approx(0.15)
    assert moved.likely_ai == pytest.approx(0.25 + 0.2 * 0.75 / 0.5)  # above: 0.5..1 -> 0.25..1
    assert moved.ai == pytest.approx(0.25 + 0.45 * 1.5)
    assert verdict_for(0.6, T, user_threshold=0.25) == "likely_ai"  # likely_ai edge moved to 0.55
    assert verdict_for(0.6, T) == "uncertain"
    assert remap_thresholds(T, 0.5) == T


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(ContractError, match="ordered"):
        Thresholds(decision=0.5, real=0.4, likely_real=0.3, likely_ai=0.7, ai=0.95)
    with pytest.raises(ContractError, match=r"\[0, 1\]"):
        Thresholds(decision=0.5, real=0.05, likely_real=0.3, likely_ai=0.7, ai=1.5)


def test_tiny_detector_contract_parses_and_matches_graph(tiny_detector_path: Path) -> None:
    session, meta = _session_contract(tiny_detector_path)
    contract = parse_contract(meta)
    assert contract.kind == "detector" and contract.name == "tiny-detector"
    assert contract.input is not None and (contract.input.height, contract.input.width) == (32, 32)
    assert contract.has_patch_map and contract.thresholds == T
    check_against_graph(contract, *_graph(session))


def test_generator_and_discriminator_contracts_match_graph(tiny_generator_path: Path,
                                                          tiny_discriminator_path: Path) -> None:
    for path in (tiny_generator_path, tiny_discriminator_path):
        session, meta = _session_contract(path)
        check_against_graph(parse_contract(meta), *_graph(session))


def test_model_without_contract_is_refused(no_contract_model_path: Path) -> None:
    _, meta = _session_contract(no_contract_model_path)
    with pytest.raises(ContractError, match="no 'pixelpatrol' contract"):
        parse_contract(meta)


def test_contract_naming_missing_output_is_refused(missing_output_model_path: Path) -> None:
    session, meta = _session_contract(missing_output_model_path)
    with pytest.raises(ContractError, match=r"'patch_map'.*not in the graph"):
        check_against_graph(parse_contract(meta), *_graph(session))


def test_contract_with_wrong_input_size_is_refused(tmp_path: Path) -> None:
    contract = tiny_models.detector_contract(size=64, grid=None)
    path = tiny_models.build_model_with_contract(tmp_path / "m.onnx", contract)
    session, meta = _session_contract(path)
    with pytest.raises(ContractError, match="dim 1 is 32 in the graph, contract says 64"):
        check_against_graph(parse_contract(meta), *_graph(session))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"contract_version": 7}, "contract_version 7"), ({"kind": "oracle"}, "'kind'"),
     ({"feed": {"mode": "stretch"}}, "feed.mode"), ({"thresholds": None}, "missing 'thresholds'"),
     ({"outputs": {}}, "needs 'outputs.score'")],
)
def test_malformed_contracts_name_the_problem(change: dict[str, object], message: str) -> None:
    data = tiny_models.detector_contract()
    data.update(change)
    if data.get("thresholds") is None:
        del data["thresholds"]
    with pytest.raises(ContractError, match=message):
        contract_from_dict(data)


def test_invalid_json_is_refused() -> None:
    with pytest.raises(ContractError, match="not valid JSON"):
        parse_contract({"pixelpatrol": "{nope"})
    assert contract_from_dict(json.loads(json.dumps(tiny_models.detector_contract()))).feed.mode == "resize"
