from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.core.scan.store import ResultStore
from tests.helpers import images, tiny_models

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pics(tmp_path: Path) -> Path:
    root = tmp_path / "pics"
    images.write(root / "dark.png", images.solid(20))
    images.write(root / "bright.jpg", images.solid(240), quality=95)
    images.write(root / "ünïcode 名.png", images.solid(128))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return root


def test_scan_writes_csv_to_stdout_and_exits_0_despite_file_errors(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", str(pics), "--model", str(tiny_detector_path)]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {Path(r["path"]).name for r in rows} == {"dark.png", "bright.jpg", "ünïcode 名.png", "broken.jpg"}
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["dark.png"]["verdict"] == "real" and by_name["bright.jpg"]["verdict"] == "ai"
    assert by_name["broken.jpg"]["score"] == "" and by_name["broken.jpg"]["error"]
    assert "4 images" in err and "1 could not be analysed" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_scan_output_formats(pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
                             suffix: str) -> None:
    out = tmp_path / f"results{suffix}"
    assert main(["scan", str(pics), "--model", str(tiny_detector_path), "--out", str(out), "-q"]) == 0
    text = out.read_text(encoding="utf-8")
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    elif suffix == ".json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 4
    assert {"path", "score", "verdict", "error"} <= set(rows[0])


def test_usage_errors_exit_2_with_one_line(pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(pics / "nope"), "--model", str(tiny_detector_path)]) == 2
    assert capsys.readouterr().err.strip() == f"pixelpatrol: error: path not found: {pics / 'nope'}"
    assert main(["scan", str(pics), "--model", str(tiny_detector_path), "--out", "x.xlsx"]) == 2
    assert "unknown output format" in capsys.readouterr().err
    assert main(["scan", str(pics), "--threshold", "1.5"]) == 2
    assert main(["scan"]) == 2
    assert main(["frobnicate"]) == 2


def test_bad_models_exit_1_with_one_line(pics: Path, no_contract_model_path: Path, pixelpatrol_home: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(pics), "--model", str(no_contract_model_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no 'pixelpatrol' contract" in err
    assert main(["scan", str(pics)]) == 1  # nothing bundled in this isolated home
    assert "no detector model installed" in capsys.readouterr().err


def test_cuda_request_without_gpu_falls_back_to_cpu_and_says_so(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", str(pics), "--model", str(tiny_detector_path), "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 0
    if "on CUDA" not in err:
        assert "warning: --device cuda requested but CUDA not available" in err and "on CPU" in err


def test_model_found_by_name_and_listed(pics: Path, pixelpatrol_home: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bundled = tmp_path / "pp_bundled_models"
    tiny_models.build_detector(bundled / "cnn.onnx", name="cifake-cnn")
    (pixelpatrol_home / "data" / "models").mkdir(parents=True)
    (pixelpatrol_home / "data" / "models" / "junk.onnx").write_bytes(b"junk")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "cifake-cnn (default)" in out and "Brightness-based test model" in out
    assert "junk" in out and "unusable" in out and out.startswith("device: CPU")
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed["models"]] == ["cifake-cnn", "junk"]
    assert main(["scan", str(pics), "-q"]) == 0  # the bundled default model
    assert main(["scan", str(pics), "--model", "cifake-cnn", "-q"]) == 0


def test_gui_missing_is_a_clear_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "desktop.qt.shell.app", None)  # importing it raises ImportError
    assert main([]) == 1
    assert "desktop app is not available" in capsys.readouterr().err


def _env(home: Path, bundled: Path) -> dict[str, str]:
    env = dict(os.environ, PIXELPATROL_HOME=str(home), PIXELPATROL_BUNDLED_MODELS=str(bundled))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_killed_scan_loses_nothing_and_resumes(tmp_path: Path, tiny_detector_path: Path) -> None:
    files = images.write_tree(tmp_path / "tree", 1500, size=(96, 96), per_folder=150)
    home, bundled = tmp_path / "home", tmp_path / "bundled"
    bundled.mkdir()
    env = _env(home, bundled)
    cmd = [sys.executable, "-m", "desktop", "scan", str(tmp_path / "tree"), "--model", str(tiny_detector_path),
           "--batch-size", "2", "--workers", "1", "--out", str(tmp_path / "first.csv")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = home / "data" / "pixelpatrol.sqlite3"
    committed = 0
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if db.exists():
            with sqlite3.connect(db, timeout=5) as conn:
                try:
                    committed = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:  # schema not created yet
                    committed = 0
            if committed >= 20:
                break
        time.sleep(0.01)  # polling another process's database; not a timing assumption
    assert proc.poll() is None, "the scan finished before it could be killed; make the tree bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = ResultStore(db)
    (interrupted,) = store.interrupted_scans()
    kept = {r.path for r in store.rows(interrupted.id)}
    assert len(kept) >= committed  # everything committed before the kill is still there
    store.close()
    resumed = subprocess.run([*cmd[:-1], str(tmp_path / "second.csv"), "--resume"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {interrupted.id}" in resumed.stderr
    rows = list(csv.DictReader((tmp_path / "second.csv").open(encoding="utf-8")))
    assert sorted(r["path"] for r in rows) == sorted(str(f) for f in files)  # each file exactly once
    store = ResultStore(db)
    record = store.get_scan(interrupted.id)
    assert record is not None and record.status == "finished" and record.done == 1500
    store.close()


def test_python_dash_m_desktop_runs_the_cli(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "desktop", "scan", "--help"], capture_output=True, text=True,
                          env=_env(tmp_path / "h", tmp_path), timeout=60)
    assert proc.returncode == 0 and "--threshold" in proc.stdout


def test_progress_bar_shows_rate_and_eta_on_a_terminal_only() -> None:
    from desktop.cli.scan import ProgressBar
    from desktop.core.scan.events import Progress

    tty = io.StringIO()
    bar = ProgressBar(tty, enabled=True)
    bar.update(Progress(done=250, total=1000, rate_per_s=125.0, eta_s=6.0), force=True)
    assert "250/1,000" in tty.getvalue() and "125 img/s" in tty.getvalue() and "ETA 0:06" in tty.getvalue()
    bar.update(Progress(done=10, total=None, rate_per_s=5.0, eta_s=None), force=True)
    assert "counting" in tty.getvalue()
    piped = io.StringIO()
    ProgressBar(piped, enabled=False).update(Progress(1, 2, 1.0, 1.0), force=True)
    assert piped.getvalue() == ""


def test_broken_pipe_on_stdout_is_not_an_error(pics: Path, tiny_detector_path: Path, tmp_path: Path) -> None:
    more = pics / "more"
    more.mkdir()
    for i in range(3000):  # ~400 kB of error rows: far more than a pipe buffer holds
        (more / f"{i:04d}.jpg").write_bytes(b"")
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "scan", str(pics), "--model", str(tiny_detector_path),
                             "--batch-size", "4"], env=_env(tmp_path / "h", tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"path,score")
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err
