"""`pixelpatrol models` is a table (one line a model); `pixelpatrol models NAME` is that model's full card."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli import main
from tests.helpers import tiny_models


@pytest.fixture
def listed(pixelpatrol_home: Path, tmp_path: Path) -> Path:
    bundled = tmp_path / "pp_bundled_models"
    contract = tiny_models.detector_contract("cifake-cnn")
    contract["card"]["validation"]["metrics"] = {"roc_auc": 0.9977, "accuracy": 0.9784}
    contract["card"]["licence"] = "NON-COMMERCIAL RESEARCH PURPOSES ONLY"
    tiny_models.build_model_with_contract(bundled / "cnn.onnx", contract)
    tiny_models.build_generator(bundled / "gen.onnx", name="faces-generator")
    return bundled


def test_models_prints_one_table_line_per_model(listed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("NAME"))
    assert lines[header].split()[:5] == ["NAME", "KIND", "ORIGIN", "INPUT", "MEASURED"]
    cnn = lines[header + 1]
    assert cnn.startswith("cifake-cnn (default)") and "detector" in cnn and "32x32" in cnn
    assert "AUROC 0.9977, accuracy 97.8 %" in cnn  # four decimals from 0.99: 0.9977 is not 0.998
    assert lines[header + 2].startswith("faces-generator") and "generator" in lines[header + 2]
    assert len(lines) < 15  # no cards, no training commands
    assert "command:" not in out and "pixelpatrol models NAME" in out


def test_models_name_prints_the_full_card(listed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "cifake-cnn"]) == 0
    out = capsys.readouterr().out
    assert "cifake-cnn (default)" in out and "thresholds:" in out
    assert "command: tests/helpers/tiny_models.py" in out and "NON-COMMERCIAL" in out
    assert "faces-generator" not in out
    assert main(["models", "nope"]) == 2
    assert "no model named 'nope'" in capsys.readouterr().err


def test_models_table_shows_the_domain_figures_not_those_lifted_by_an_easier_second_kind(
    pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A detector validated on CIFAKE plus easy GAN samples: all together it measures higher than on CIFAKE
    # alone; the table shows the contract's trust AUROC and the first kind's (CIFAKE's) balanced accuracy.
    bundled = tmp_path / "pp_bundled_models"
    contract = tiny_models.detector_contract("cifake-cnn")
    contract["card"]["validation"]["metrics"] = {"roc_auc": 0.9981, "accuracy": 0.981, "balanced_accuracy": 0.979}
    contract["card"]["validation"]["per_kind"] = {
        "cifake": {"balanced_accuracy": 0.977, "accuracy": 0.9773, "roc_auc": 0.99744},
        "gan_fakes": {"samples": 2000, "flagged_at_decision": 0.998},
    }
    contract["trust"] = {"auroc": 0.99744, "measured_on": "CIFAKE validation"}
    tiny_models.build_model_with_contract(bundled / "cnn.onnx", contract)
    assert main(["models"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cifake-cnn"))
    assert "AUROC 0.9974, balanced acc. 97.7 %" in line
    assert "0.998" not in line and "98.1" not in line
