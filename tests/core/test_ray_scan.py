"""`scan --engine ray` (issue 19): the same rows as the local engine, on a local Ray instance with 2 CPUs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from desktop.cli import main
from desktop.core.models.detector import ModelError
from desktop.core.scan.events import ScanRow
from tests.helpers import images, tiny_models

BAD_NAME = os.fsdecode(b"not-utf8-\xff.png")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """One local instance for the module: starting Ray takes seconds, each scan then reuses it. It declares
    one GPU (there is none): scans with --device cpu use CPU actors, the others a GPU actor whose session
    falls back to the CPU, as on a node where CUDA does not work."""
    ray = pytest.importorskip("ray", reason="the cluster extra (ray[data]) is not installed")
    pytest.importorskip("pyarrow", reason="the cluster extra (pyarrow) is not installed")
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _png_with_parameters(path: Path) -> None:
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "a cat on a sofa, Steps: 20, Sampler: Euler a")
    Image.new("RGB", (48, 48), (30, 30, 30)).save(path, pnginfo=meta)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Varied sizes and formats, a subfolder, files that cannot be decoded, evidence, an odd file name."""
    root = tmp_path / "archive"
    for i, value in enumerate((20, 90, 128, 170, 240)):
        images.write(root / f"photo{i}.jpg", images.solid(value, size=(40 + 37 * i, 30 + 23 * i)), quality=90)
    images.write(root / "sub" / "thumb.png", images.solid(200, size=(32, 32)))
    images.write(root / "sub" / "wide.webp", images.solid(60, size=(300, 90)))
    _png_with_parameters(root / "generated.png")
    _png_with_parameters(root / BAD_NAME)
    images.write_truncated_jpeg(root / "truncated.jpg")
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_bytes(b"this is not a PNG")
    images.write(root / ".hidden.png", images.solid(10))  # skipped by both walks
    return root


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """Rows by path, every column as text (CSV, JSON lines or Parquet)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    by_path = {r["path"]: r for r in as_text}
    assert len(by_path) == len(rows)  # each file once
    return by_path


def test_ray_engine_writes_the_same_rows_as_the_local_engine_broken_files_included(
    ray_instance: None, archive: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
    model = ["--model", str(tiny_detector_path), "--device", "cpu"]
    assert main(["scan", str(archive), *model, "--no-cache", "--out", str(local), "-q"]) == 0
    assert main(["scan", str(archive), *model, "--engine", "ray", "--out", str(on_ray)]) == 0
    err = capsys.readouterr().err
    expected, got = _read(local), _read(on_ray)
    assert len(expected) == 12
    assert got == expected  # every column: score, verdict, model, reason, evidence, error, size, ...
    by_name = {Path(p).name: r for p, r in got.items()}
    assert by_name["truncated.jpg"]["error"].startswith("truncated or corrupt")
    assert by_name["empty.jpg"]["error"] == "empty file (0 bytes)"
    assert by_name["text.png"]["error"].startswith("not an image")
    assert by_name["generated.png"]["verdict"] == "ai" and by_name["generated.png"]["reason"].startswith("PNG")
    assert by_name["not-utf8-\\xff.png"]["path_hex"]  # the raw name survives the trip through the cluster
    assert "2 CPU actors" in err and "wrote 12 rows" in err and "3 could not be analysed" in err
    assert "skipped: 1 hidden" in err


def test_ray_engine_routes_each_image_and_writes_parquet_like_the_local_jsonl(
    ray_instance: None, archive: Path, pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # Per-image routing over two installed models, a user threshold, one model capped by its trust.
    bundled = Path(os.environ["PIXELPATROL_BUNDLED_MODELS"])
    small = tiny_models.detector_contract("small", 32, domain={"long_side": [1, 64], "description": "small"})
    large = tiny_models.detector_contract("large", 32, feed_mode="multiscale",
                                          domain={"long_side": [None, None], "description": "the rest"},
                                          trust={"auroc": 0.8, "measured_on": "tests", "max_band": "likely"})
    tiny_models.build_model_with_contract(bundled / "small.onnx", small)
    tiny_models.build_model_with_contract(bundled / "large.onnx", large)
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.parquet"
    assert main(["scan", str(archive), "--threshold", "0.4", "--no-cache", "--out", str(local), "-q"]) == 0
    assert main(["scan", str(archive), "--threshold", "0.4", "--engine", "ray", "--out", str(on_ray)]) == 0
    assert "1 GPU actor," in capsys.readouterr().err  # its decode threads and its session's CPU fallback
    expected, got = _read(local), _read(on_ray)
    assert got == expected
    assert {r["model"] for r in got.values()} == {"small", "large", ""}  # both routed to; "" = error rows


def test_ray_engine_without_the_cluster_extra_says_how_to_install_it(
    archive: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as on a desktop install: `import ray` fails
    out = tmp_path / "r.csv"
    code = main(["scan", str(archive), "--model", str(tiny_detector_path), "--engine", "ray", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "pip install 'pixelpatrol[cluster]'" in err
    assert not out.exists()


def test_ray_address_without_the_ray_engine_is_a_usage_error(
    archive: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["scan", str(archive), "--model", str(tiny_detector_path), "--ray-address", "ray://head:10001"])
    assert code == 2
    assert "--ray-address needs --engine ray" in capsys.readouterr().err


def test_an_actor_that_loads_another_model_than_the_driver_refuses_to_score(tiny_detector_path: Path) -> None:
    from desktop.core.scan.ray import ActorPlan, ScoreActor

    plan = ActorPlan(str(tiny_detector_path), "0" * 64, "cpu", None, 1)
    with pytest.raises(ModelError, match="differ from the driver's"):
        ScoreActor(plan)


def test_a_node_that_sees_other_model_files_fails_the_run_with_one_clear_line(
    ray_instance: None, archive: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from desktop.core.scan import ray as ray_scan

    real_plan = ray_scan.ActorPlan
    # the actors are told another digest than their model file's: what a node with other files sees
    monkeypatch.setattr(ray_scan, "ActorPlan", lambda *a, **k: dataclasses.replace(real_plan(*a, **k),
                                                                                    digest="0" * 64))
    out = tmp_path / "r.csv"
    code = main(["scan", str(archive), "--model", str(tiny_detector_path), "--engine", "ray", "--out", str(out)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert last.startswith("pixelpatrol: error: the Ray scan failed: the models on node ")
    assert "differ from the driver's" in last
    assert not out.exists()


def test_gpu_actors_take_the_cpus_beside_a_gpu_on_the_leanest_gpu_node() -> None:
    from desktop.core.scan.ray import _cpus_per_gpu

    nodes = [{"Alive": True, "Resources": {"CPU": 64.0, "GPU": 8.0}},
             {"Alive": True, "Resources": {"CPU": 12.0, "GPU": 4.0}},
             {"Alive": True, "Resources": {"CPU": 96.0}},  # CPU-only: not where GPU actors go
             {"Alive": False, "Resources": {"CPU": 2.0, "GPU": 2.0}}]
    assert _cpus_per_gpu(nodes) == 3
    assert _cpus_per_gpu([{"Alive": True, "Resources": {"CPU": 8.0}}]) == 1


def test_rows_cross_the_cluster_as_arrow_unchanged() -> None:
    pytest.importorskip("pyarrow", reason="the cluster extra (pyarrow) is not installed")
    from desktop.core.scan.ray import rows_to_table, table_to_rows

    rows = [ScanRow("/a/" + BAD_NAME, 0.25, "likely_real", 40, 30, "JPEG", 1234, 99, None, model="m",
                    evidence="EXIF camera: X", reason="model"),
            ScanRow("/a/broken.jpg", None, None, None, None, None, 0, 5, "empty file (0 bytes)")]
    assert table_to_rows(rows_to_table(rows)) == rows


@pytest.mark.slow
def test_the_command_starts_its_own_local_instance_and_says_how_many_rows_it_wrote(
    archive: Path, tiny_detector_path: Path, tmp_path: Path,
) -> None:
    pytest.importorskip("ray", reason="the cluster extra (ray[data]) is not installed")
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "PIXELPATROL_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-m", "desktop", "scan", str(archive), "--model", str(tiny_detector_path),
                             "--engine", "ray", "--workers", "2", "--out", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "on a local Ray instance: 2 CPU actors" in result.stderr and "wrote 12 rows" in result.stderr
    assert len(_read(out)) == 12


def test_the_core_and_the_command_line_do_not_import_ray_until_the_ray_engine_runs() -> None:
    code = ("import sys, desktop.cli, desktop.cli.scan, desktop.core.scan.ray, desktop.core.scan.engine; "
            "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
