"""`pixelpatrol models add/remove/--json`: unique names, renamed copies, scans by name use that file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from desktop.cli import main
from desktop.core.models.catalog import inspect_model, list_models
from desktop.core.models.registry import add_model, rewrite_contract
from desktop.core.paths import user_models_dir
from tests.helpers import images, tiny_models


def _scores(out: str) -> dict[str, str]:
    return {Path(r["path"]).name: r["score"] for r in csv.DictReader(io.StringIO(out))}


def _run(x: np.ndarray, path: Path) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {"image": x})[0])


def test_rewriting_the_contract_keeps_the_graph_and_changes_only_the_metadata(tmp_path: Path) -> None:
    src = tiny_models.build_cnn_detector(tmp_path / "a.onnx", name="alpha", seed=3)
    contract = dict(inspect_model(src).contract.raw)  # type: ignore[union-attr]
    copy = tmp_path / "b.onnx"
    copy.write_bytes(rewrite_contract(src.read_bytes(), {**contract, "name": "beta", "title": "Beta"}))
    entry = inspect_model(copy)
    assert entry.error is None and entry.contract is not None
    assert (entry.contract.name, entry.contract.title) == ("beta", "Beta")
    assert entry.contract.raw["card"] == contract["card"]
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(_run(x, src), _run(x, copy))


def test_two_trained_models_with_one_name_are_added_under_two_names_and_scan_as_themselves(
    pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pics = tmp_path / "pics"
    for i in range(3):
        images.write(pics / f"p{i}.png", images.noise(seed=i))
    first = tiny_models.build_cnn_detector(tmp_path / "one" / "cifake-cnn.onnx", name="cifake-cnn", seed=1)
    second = tiny_models.build_cnn_detector(tmp_path / "two" / "cifake-cnn.onnx", name="cifake-cnn", seed=2)
    # a shipped model of the same name: a user's model must never be listed or scanned under its name
    tiny_models.build_detector(tmp_path / "pp_bundled_models" / "cifake-cnn.onnx", name="cifake-cnn")
    original = second.read_bytes()

    assert main(["models", "add", str(first)]) == 0
    out, err = capsys.readouterr()
    assert "added 'cifake-cnn-2'" in out and "already exists" in err
    assert main(["models", "add", str(second), "--name", "Newsroom archive"]) == 0
    out, _ = capsys.readouterr()
    assert "added 'newsroom-archive'" in out
    assert second.read_bytes() == original  # the person's file is never changed

    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert set(listed) == {"cifake-cnn", "cifake-cnn-2", "newsroom-archive"}
    assert listed["cifake-cnn"]["origin"] == "bundled"
    for name in ("cifake-cnn-2", "newsroom-archive"):
        assert listed[name]["origin"] == "user" and listed[name]["kind"] == "detector"
        assert Path(listed[name]["path"]).parent == user_models_dir()
    assert "Newsroom archive" in listed["newsroom-archive"]["contract"]["title"]

    for name, source in (("cifake-cnn-2", first), ("newsroom-archive", second)):
        assert main(["scan", str(pics), "--model", name, "-q", "--no-cache"]) == 0
        by_name = _scores(capsys.readouterr().out)
        assert main(["scan", str(pics), "--model", str(source), "-q", "--no-cache"]) == 0
        assert by_name == _scores(capsys.readouterr().out)
    assert main(["scan", str(pics), "--model", "cifake-cnn-2", "-q", "--no-cache"]) == 0
    assert _scores(capsys.readouterr().out) != by_name  # the two trained models really differ


def test_adding_the_same_file_twice_copies_it_once_and_says_where_it_is(
    pixelpatrol_home: Path, tiny_detector_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add_model(tiny_detector_path).name == "tiny-detector"
    again = add_model(tiny_detector_path)
    assert again.already and "already installed as 'tiny-detector'" in again.note
    assert [e.name for e in list_models()] == ["tiny-detector"]


def test_models_remove_deletes_yours_and_refuses_a_bundled_one_with_a_reason(
    pixelpatrol_home: Path, tmp_path: Path, tiny_detector_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_models.build_detector(tmp_path / "pp_bundled_models" / "shipped.onnx", name="shipped")
    assert main(["models", "add", str(tiny_detector_path), "--name", "mine"]) == 0
    assert (user_models_dir() / "mine.onnx").exists()
    capsys.readouterr()
    assert main(["models", "remove", "shipped"]) == 1
    assert "bundled model" in capsys.readouterr().err
    assert main(["models", "remove", "nothing-here"]) == 1
    assert "no model of yours named 'nothing-here' (yours: mine)" in capsys.readouterr().err
    assert main(["models", "remove", "mine"]) == 0
    assert not (user_models_dir() / "mine.onnx").exists()
    assert [e.name for e in list_models()] == ["shipped"]


def test_adding_a_file_that_is_not_a_pixelpatrol_model_fails_with_the_reason(
    pixelpatrol_home: Path, no_contract_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "add", str(no_contract_model_path)]) == 1
    assert "not made for PixelPatrol" in capsys.readouterr().err
    assert list(user_models_dir().glob("*")) == []
