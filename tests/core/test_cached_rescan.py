"""A rescan whose every file is in the result cache needs no model session, no image library and no read of
the model's bytes: the model index (desktop/core/models/runtime/model_index.py) knows the model, and sessions,
decoding and the thread pool wait for the first file that has to be scored."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import onnxruntime
import pytest

from desktop.cli import main
from desktop.core.models.runtime import device
from tests.helpers import images

REPO = Path(__file__).resolve().parents[2]


def _settled_copy(model: Path, folder: Path) -> Path:
    """The model copied with an mtime an hour back: the index keeps no file written in the last seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = Path(shutil.copy(model, folder / model.name))
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(copy, ns=(hour_ago, hour_ago))
    return copy


def _tree(root: Path) -> Path:
    for i, v in enumerate((20, 128, 240)):
        images.write(root / f"d{i}" / f"img{i}.jpg", images.solid(v), quality=95)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return root


def _csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {r["path"]: r for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("device_flag", ["cpu", "auto"])
def test_a_rescan_of_cached_files_creates_no_onnxruntime_session(
    tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], device_flag: str,
) -> None:
    if device_flag == "auto" and device.cuda_ruled_out() is None:
        pytest.skip("an NVIDIA driver is installed: 'auto' probes CUDA with a real session")
    model = _settled_copy(tiny_detector_path, tmp_path / "models")
    tree = _tree(tmp_path / "tree")
    scan = ["scan", str(tree), "--model", str(model), "--device", device_flag]
    assert main(scan) == 0
    first = _csv_rows(capsys.readouterr().out)

    def no_session(*args: object, **kwargs: object) -> None:
        raise AssertionError("an onnxruntime session was created for a rescan of cached files")

    monkeypatch.setattr(onnxruntime, "InferenceSession", no_session)
    assert main(scan) == 0
    out, err = capsys.readouterr()
    second = _csv_rows(out)
    assert set(second) == set(first) and len(second) == 4
    for path, row in second.items():
        if first[path]["error"]:  # a file that cannot be decoded is cached as such, and comes back as it was
            assert row["error"] == first[path]["error"]
        assert row["cached"] == "True"
        assert {k: v for k, v in row.items() if k != "cached"} == {k: v for k, v in first[path].items() if k != "cached"}
    assert "(4 from cache)" in err and "on CPU" in err


def test_a_cached_rescan_imports_neither_onnxruntime_nor_numpy_nor_pillow(
    tmp_path: Path, tiny_detector_no_patch_path: Path, pixelpatrol_home: Path,
) -> None:
    # A model without a patch map: a cached patch map is a numpy array, so it needs numpy.
    model = _settled_copy(tiny_detector_no_patch_path, tmp_path / "models")
    tree = _tree(tmp_path / "tree")
    scan = ["scan", str(tree), "--model", str(model), "--device", "cpu", "-q"]
    assert main(scan) == 0
    code = ("import sys; from desktop.cli import main; code = main(sys.argv[1:]); "
            "heavy = sorted(m for m in ('onnxruntime', 'numpy', 'PIL', 'concurrent.futures') if m in sys.modules); "
            "print('LOADED', heavy, file=sys.stderr); sys.exit(code)")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code, *scan], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stderr
    assert len(_csv_rows(proc.stdout)) == 4


def test_a_rescan_with_one_changed_file_makes_the_session_then(
    tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    model = _settled_copy(tiny_detector_path, tmp_path / "models")
    tree = _tree(tmp_path / "tree")
    scan = ["scan", str(tree), "--model", str(model), "--device", "cpu", "--format", "json", "-q"]
    assert main(scan) == 0
    first = {r["path"]: r for r in json.loads(capsys.readouterr().out)}
    changed = tree / "d0" / "img0.jpg"
    images.write(changed, images.solid(250), quality=95)
    assert main(scan) == 0
    second = {r["path"]: r for r in json.loads(capsys.readouterr().out)}
    assert not second[str(changed)]["cached"] and second[str(changed)]["verdict"] == "ai"
    assert first[str(changed)]["verdict"] == "real"
    assert sum(r["cached"] for r in second.values()) == 3
