"""Reliability under faults (docs/reliability.md): odd file names, atomic output, a damaged database,
read-only places, a full disk, a busy database, models that break their contract, paths past PATH_MAX."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from desktop.cli import main
from desktop.core.models import checks as model_checks
from desktop.core.models.detector import Detector, ModelError
from desktop.core.scan import export as export
from desktop.core.scan import store as store_module
from desktop.core.scan import store_errors
from desktop.core.scan.events import RowsReady, ScanEvent, ScanRow
from desktop.core.scan.export import path_hex, raw_path, readable
from desktop.core.scan.store import ResultStore
from desktop.core.scan.store_errors import StoreError
from tests.helpers import images, tiny_models

REPO = Path(__file__).resolve().parents[2]
ODD = b"caf\xe9 \xff\xfe.png"  # Latin-1 bytes: not valid UTF-8


@pytest.fixture
def pics(tmp_path: Path) -> Path:
    root = tmp_path / "pics"
    images.write(root / "dark.png", images.solid(20))
    images.write(root / "bright.jpg", images.solid(240), quality=95)
    images.write(root / "mid.png", images.solid(128))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return root


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _scan(pics: Path, model: Path, *extra: str) -> list[str]:
    return ["scan", str(pics), "--model", str(model), *extra]


# ---------------------------------------------------------------------------- 1. file names that are not UTF-8


def _odd_name(folder: Path) -> Path:
    """An image whose name is not valid UTF-8; skips where the file system refuses such names."""
    source = images.write(folder / "odd-source.png", images.solid(30))
    target = os.path.join(os.fsencode(folder), ODD)
    try:
        os.rename(os.fsencode(source), target)
    except OSError as exc:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({exc.strerror})")
    return Path(os.fsdecode(target))


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_a_non_utf8_file_name_scans_and_its_bytes_are_recoverable(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    odd = _odd_name(pics)
    out = tmp_path / f"results{suffix}"
    for run in range(2):  # the second run answers from the cache, which must find the odd name too
        assert main(_scan(pics, tiny_detector_path, "--out", str(out), "-q")) == 0
        text = out.read_bytes().decode("utf-8")  # strict: the output is valid UTF-8
        if suffix == ".csv":
            rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(text)))
        elif suffix == ".json":
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines()]
        assert len(rows) == 5
        (row,) = [r for r in rows if r["path_hex"]]
        assert row["path"] == str(pics) + "/caf\\xe9 \\xff\\xfe.png"  # readable
        assert raw_path(row) == os.fsencode(odd)  # and exact
        assert row["verdict"] == "real" and not row["error"]
        assert str(row["cached"]).lower() == ("true" if run else "false")
        assert {raw_path(r) for r in rows} == {os.fsencode(p) for p in pics.iterdir()}
    assert capsys.readouterr().err == ""


def test_the_store_keeps_non_utf8_paths_losslessly(tmp_path: Path) -> None:
    odd = os.fsdecode(b"/photos/" + ODD)
    store = ResultStore(tmp_path / "db.sqlite3")
    scan_id = store.begin_scan([os.fsdecode(b"/photos/\xff")], "m", "m.onnx", "d1", "cpu", {})
    row = ScanRow(odd, 0.25, "real", 10, 10, "PNG", 99, 7, None, np.zeros((2, 2), np.float32))
    failed = ScanRow(odd + "x", None, None, None, None, None, 1, 7, f"cannot decode: {odd}")
    store.add_rows(scan_id, [row, failed], "d1", [row, failed])
    assert [r.path for r in store.rows(scan_id)] == [odd, odd + "x"]
    assert store.rows(scan_id)[1].error == "cannot decode: /photos/caf\\xe9 \\xff\\xfe.png"
    assert set(store.cache_get_many("d1", [(odd, 99, 7), (odd + "x", 1, 7)])) == {odd, odd + "x"}
    store.finish_scan(scan_id, "interrupted")
    assert store.list_scans()[0].paths == [os.fsdecode(b"/photos/\xff")]
    assert store.reopen_scan(scan_id, "cpu") == {odd, odd + "x"}
    store.close()
    assert readable(odd) == "/photos/caf\\xe9 \\xff\\xfe.png" and path_hex("/plain/é.png") == ""


# ---------------------------------------------------------------------------- 2. atomic --out


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def _env(home: Path, bundled: Path) -> dict[str, str]:
    env = dict(os.environ, PIXELPATROL_HOME=str(home), PIXELPATROL_BUNDLED_MODELS=str(bundled))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_kill_9_during_a_rewrite_leaves_the_old_output_byte_identical(tmp_path: Path, tiny_detector_path: Path,
                                                                     suffix: str) -> None:
    images.write_tree(tmp_path / "tree", 600, size=(64, 64), per_folder=100)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"results{suffix}"
    old = ("path,score\n" + "".join(f"/old/{i}.jpg,0.5\n" for i in range(10_001))).encode()
    out.write_bytes(old)
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    cmd = [sys.executable, "-m", "desktop", "scan", str(tmp_path / "tree"), "--model", str(tiny_detector_path),
           "--batch-size", "1", "--workers", "1", "--no-cache", "--out", str(out)]
    for kill_after in (300, 3_000, 20_000):  # bytes of new rows written when the kill comes
        proc = subprocess.Popen(cmd, env=_env(tmp_path / "home", bundled), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        earlier = set(_parts(out_dir))
        deadline = time.monotonic() + 60
        written = 0
        while proc.poll() is None and time.monotonic() < deadline and written < kill_after:
            written = max((p.stat().st_size for p in out_dir.glob(".*.part") if p.name not in earlier), default=0)
            time.sleep(0.005)  # polling another process's progress; not a timing assumption
        assert proc.poll() is None, "the scan finished before it could be killed; make the tree bigger"
        assert written >= kill_after  # it really was rewriting the file
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert out.read_bytes() == old
    assert len(_parts(out_dir)) == 3  # what a killed run leaves: its hidden temporary file, safe to delete


def _full_disk_from(call: int) -> Any:
    """RowWriter.write that fails with ENOSPC from its `call`-th call on (a disk that fills up)."""
    real = export.RowWriter.write
    calls = [0]

    def write(writer: export.RowWriter, rows: Any) -> None:
        calls[0] += 1
        if calls[0] >= call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(writer, rows)

    return write


def test_a_full_disk_at_the_output_keeps_the_old_file_and_resume_counts_every_row(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "results.json"
    out.write_text('[{"path": "old"}]\n')
    with monkeypatch.context() as m:
        m.setattr(export.RowWriter, "write", _full_disk_from(call=3))
        code = main(_scan(pics, tiny_detector_path, "--out", str(out), "--batch-size", "1", "--workers", "1"))
    err = capsys.readouterr().err
    assert code == 3
    line = [x for x in err.splitlines() if "error" in x]
    assert len(line) == 1 and "Traceback" not in err
    assert "no space left" in line[0] and "--resume" in line[0] and re.search(r"\b[1-4] rows are saved", line[0])
    assert out.read_text() == '[{"path": "old"}]\n' and _parts(tmp_path) == []
    # 7. the resumed run's summary counts the rows of the first run too
    assert main(_scan(pics, tiny_detector_path, "--out", str(out), "--resume")) == 0
    err = capsys.readouterr().err
    rows = json.loads(out.read_text())
    assert sorted(Path(r["path"]).name for r in rows) == ["bright.jpg", "broken.jpg", "dark.png", "mid.png"]
    assert "resuming" in err and "4 images" in err and "ai 1, uncertain 1, real 1; 1 could not be analysed" in err


def _interrupt_after_first_rows(events: Iterator[ScanEvent]) -> Iterator[ScanEvent]:
    for event in events:
        yield event
        if isinstance(event, RowsReady):
            raise KeyboardInterrupt


def test_ctrl_c_writes_a_complete_file_of_the_rows_so_far(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import desktop.cli.scan as cli_scan

    real = cli_scan._scan_events
    out = tmp_path / "results.json"
    out.write_text("old")
    with monkeypatch.context() as m:
        m.setattr(cli_scan, "_scan_events", lambda *a: _interrupt_after_first_rows(real(*a)))
        assert main(_scan(pics, tiny_detector_path, "--out", str(out), "--batch-size", "1", "--workers", "1")) == 130
    assert "interrupted" in capsys.readouterr().err
    rows = json.loads(out.read_text())  # valid JSON: closed, renamed into place
    assert 1 <= len(rows) < 4 and _parts(tmp_path) == []
    assert main(_scan(pics, tiny_detector_path, "--out", str(out), "--resume", "-q")) == 0
    assert len(json.loads(out.read_text())) == 4


def test_an_unwritable_out_is_refused_before_the_scan_starts(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "r.csv"
    assert main(_scan(pics, tiny_detector_path, "--out", str(missing))) == 3
    assert "does not exist" in _one_line(capsys.readouterr().err)
    assert main(_scan(pics, tiny_detector_path, "--out", str(tmp_path / "pics"), "--format", "csv")) == 3
    assert "is a folder" in _one_line(capsys.readouterr().err)
    assert not (pixelpatrol_home / "data" / "pixelpatrol.sqlite3").exists()  # no scan was started


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that permissions apply to")
def test_out_in_a_read_only_folder_is_one_line_and_exit_3(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "r.csv").write_text("old")
    folder.chmod(0o555)
    try:
        assert main(_scan(pics, tiny_detector_path, "--out", str(folder / "r.csv"))) == 3
    finally:
        folder.chmod(0o755)
    assert "Permission denied" in _one_line(capsys.readouterr().err)
    assert (folder / "r.csv").read_text() == "old"


def test_atomic_file_keeps_the_old_mode_and_discard_leaves_the_target(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    target.write_text("old")
    target.chmod(0o640)
    out = export.AtomicFile(target)
    out.stream.write("new")
    out.discard()
    assert target.read_text() == "old" and _parts(tmp_path) == []
    out = export.AtomicFile(target)
    out.stream.write("new")
    out.commit()
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640 and _parts(tmp_path) == []


# ---------------------------------------------------------------------------- 3. a damaged database


def _fill(db: Path, rows: int = 3000) -> None:
    store = ResultStore(db)
    scan_id = store.begin_scan(["/old"], "m", "m.onnx", "d0", "cpu", {})
    batch = [ScanRow(f"/old/photos/{i:06d}.jpg", 0.5, "real", 64, 64, "JPEG", 1000 + i, 7, None,
                     np.full((4, 4), 0.5, np.float32)) for i in range(rows)]
    store.add_rows(scan_id, batch, "d0", batch)
    store.finish_scan(scan_id, "finished")
    store.close()


def _damage(db: Path, how: str) -> None:
    size = db.stat().st_size
    if how == "cut in half":
        os.truncate(db, size // 2)
    elif how == "overwritten":
        db.write_bytes(b"this is not a database at all\n" * 100)
    else:  # pages in the middle overwritten, header and schema intact
        with db.open("r+b") as fh:
            fh.seek(size // 2)
            fh.write(b"\xff" * 16384)


@pytest.mark.parametrize("how", ["cut in half", "overwritten", "garbage in the middle"])
def test_a_damaged_database_is_moved_aside_and_the_scan_finishes(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, how: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = pixelpatrol_home / "data" / "pixelpatrol.sqlite3"
    _fill(db)
    _damage(db, how)
    damaged = db.read_bytes()
    out = tmp_path / "r.csv"
    assert main(_scan(pics, tiny_detector_path, "--out", str(out), "-q")) == 0
    line = _one_line(capsys.readouterr().err)
    assert "database was damaged" in line and "started a fresh one" in line
    (aside,) = db.parent.glob("pixelpatrol.sqlite3.damaged-*")
    assert aside.read_bytes() == damaged and aside.name[len("pixelpatrol.sqlite3.damaged-"):][:8].isdigit()
    assert len(list(csv.DictReader(out.open()))) == 4
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    assert main(_scan(pics, tiny_detector_path, "-q", "--out", str(out))) == 0  # the fresh one is healthy
    assert capsys.readouterr().err == ""


def test_a_store_left_checked_is_read_through_again_only_once_it_changed(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "db.sqlite3"
    _fill(db)  # checked at open, marked checked at close
    checks: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(lambda sql: checks.append(sql) if "quick_check" in sql else None)
        return conn

    monkeypatch.setattr(store_module.sqlite3, "connect", traced)
    monkeypatch.setattr(store_module, "_CHECKED", set())  # each open below as a new process
    ResultStore(db).close()
    assert checks == []  # as the last process left it
    writer = connect(db)  # another process's writes still in the WAL (as a crash leaves them)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("DELETE FROM results WHERE id < 100")
    writer.commit()
    store_module._CHECKED.clear()
    ResultStore(db).close()
    writer.close()
    assert len(checks) == 1
    for _ in range(2):  # the writer's close checkpointed into the file: checked once more, then left checked
        store_module._CHECKED.clear()
        ResultStore(db).close()
    assert len(checks) == 2
    _damage(db, "garbage in the middle")  # same size, another mtime
    store_module._CHECKED.clear()
    store = ResultStore(db)
    assert len(checks) == 4 and store.notice and "damaged" in store.notice  # the damaged file, then the fresh one
    store.close()


def test_damage_found_by_a_statement_mid_scan_moves_the_file_aside_and_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    _fill(db)
    store = ResultStore(db)
    scan_id = store.begin_scan(["/new"], "m", "m.onnx", "d1", "cpu", {})
    first = [ScanRow("/new/a.jpg", 0.1, "real", 1, 1, "JPEG", 1, 1, None)]
    store.add_rows(scan_id, first, "d1", first)
    store.close()  # another process (or the disk) damages the file under a running scan
    with db.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xff" * (db.stat().st_size - 4096))
    later = [ScanRow("/new/b.jpg", 0.9, "ai", 1, 1, "JPEG", 1, 1, None)]
    store.add_rows(scan_id, later, "d1", later)  # detected, moved aside, written to a fresh file
    assert store.notice is not None and "damaged" in store.notice
    assert store.moved_to is not None and store.moved_to.exists()
    assert [r.path for r in store.rows(scan_id)] == ["/new/b.jpg"]  # the scan goes on under its id
    store.finish_scan(scan_id, "finished")
    (record,) = store.list_scans()
    assert record.id == scan_id and record.status == "finished" and record.paths == ["/new"]
    store.close()


# ---------------------------------------------------------------------------- 4. environment errors


def test_a_data_folder_that_cannot_be_created_is_one_line_and_exit_3(
    pics: Path, tiny_detector_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PIXELPATROL_HOME", str(blocker / "home"))  # a folder inside a file: ENOTDIR
    monkeypatch.setenv("PIXELPATROL_BUNDLED_MODELS", str(tmp_path))
    assert main(_scan(pics, tiny_detector_path)) == 3
    line = _one_line(capsys.readouterr().err)
    assert "cannot create" in line and "PIXELPATROL_HOME" in line


def _read_only_connect(real: Any) -> Any:
    def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    return connect


def test_a_read_only_database_is_one_line_and_exit_3(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ResultStore().close()  # exists, then can only be opened read-only (as on a read-only file system)
    out = tmp_path / "r.csv"
    out.write_text("old")
    monkeypatch.setattr(store_module.sqlite3, "connect", _read_only_connect(sqlite3.connect))
    assert main(_scan(pics, tiny_detector_path, "--out", str(out))) == 3
    line = _one_line(capsys.readouterr().err)
    assert "cannot write the result database" in line and "PIXELPATROL_HOME" in line
    assert out.read_text() == "old"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that permissions apply to")
def test_a_read_only_data_folder_is_one_line_and_exit_3(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    ResultStore().close()
    data = pixelpatrol_home / "data"
    data.chmod(0o555)
    try:
        assert main(_scan(pics, tiny_detector_path)) == 3
    finally:
        data.chmod(0o755)
    assert "cannot write the result database" in _one_line(capsys.readouterr().err)


def _small_disk(real: Any, pages: int) -> Any:
    """connect() whose database may not grow past `pages` pages: SQLite's own 'database or disk is full'."""
    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.execute(f"PRAGMA max_page_count={pages}")
        return conn

    return connect


def test_a_full_disk_under_the_database_stops_cleanly_with_rows_kept(
    tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = images.write_tree(tmp_path / "tree", 200, per_folder=200)
    ResultStore().close()
    out = tmp_path / "r.csv"
    out.write_text("old")
    with monkeypatch.context() as m:
        m.setattr(store_module.sqlite3, "connect", _small_disk(sqlite3.connect, pages=16))
        code = main(["scan", str(tmp_path / "tree"), "--model", str(tiny_detector_path), "--out", str(out),
                     "--batch-size", "8", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if "error" in x]
    assert "no space left" in line and "--resume" in line
    assert out.read_text() == "old" and _parts(tmp_path) == []
    store = ResultStore()
    (interrupted,) = store.interrupted_scans()
    assert 0 < interrupted.done < 200  # the rows saved before the disk filled are kept
    store.close()
    assert main(["scan", str(tmp_path / "tree"), "--model", str(tiny_detector_path), "--out", str(out),
                 "--resume", "-q"]) == 0
    assert sorted(r["path"] for r in csv.DictReader(out.open())) == sorted(map(str, files))


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB file system (tmpfs), where this test may mount one (root on Linux); else skipped."""
    where = tmp_path / "tiny"
    where.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root on Linux); the simulated tests cover it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)  # even if a failed test left a file open


def test_a_really_full_disk_at_the_output_keeps_the_old_file(
    tiny_filesystem: Path, tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = images.write_tree(tmp_path / "tree", 600, per_folder=600)
    (tiny_filesystem / "filler").write_bytes(b"\0" * (1024 - 48) * 1024)  # 48 kB left
    out = tiny_filesystem / "r.csv"
    out.write_text("old")
    scan = ["scan", str(tmp_path / "tree"), "--model", str(tiny_detector_path), "-q"]
    assert main([*scan, "--out", str(out)]) == 3  # 600 rows of CSV do not fit in 48 kB
    assert "no space left" in _one_line(capsys.readouterr().err)
    assert out.read_text() == "old" and _parts(tiny_filesystem) == []
    assert main([*scan, "--out", str(tmp_path / "r.csv"), "--resume"]) == 0
    assert len(list(csv.DictReader((tmp_path / "r.csv").open()))) == len(files)


def test_a_data_folder_on_a_read_only_file_system_is_one_line_and_exit_3(
    tiny_filesystem: Path, pics: Path, tiny_detector_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PIXELPATROL_HOME", str(tiny_filesystem / "home"))
    assert main(_scan(pics, tiny_detector_path, "-q")) == 0  # a database there, then the disk turns read-only
    capsys.readouterr()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_filesystem)], check=True)
    assert main(_scan(pics, tiny_detector_path, "-q")) == 3
    assert "cannot write the result database" in _one_line(capsys.readouterr().err)
    monkeypatch.setenv("PIXELPATROL_HOME", str(tiny_filesystem / "new-home"))
    assert main(_scan(pics, tiny_detector_path, "-q")) == 3
    assert "Read-only file system" in _one_line(capsys.readouterr().err)


def test_a_lock_held_too_long_is_one_line_exit_4_and_the_old_output_stays(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ResultStore().close()
    holder = sqlite3.connect(pixelpatrol_home / "data" / "pixelpatrol.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than we wait
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.1)
    out = tmp_path / "r.csv"
    out.write_text("old")
    try:
        assert main(_scan(pics, tiny_detector_path, "--out", str(out))) == 4
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = _one_line(capsys.readouterr().err)
    assert "busy" in line and "run again" in line
    assert out.read_text() == "old" and _parts(tmp_path) == []


def test_store_errors_name_what_to_do() -> None:
    def error(code: int, text: str) -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    where = Path("/data/pixelpatrol.sqlite3")
    kinds = {code: store_errors.store_error(error(code, text), where) for code, text in
             ((5, "database is locked"), (13, "database or disk is full"), (8, "attempt to write a readonly database"),
              (14, "unable to open database file"), (1, "no such table: x"))}
    assert {c: (e.kind if e else None) for c, e in kinds.items()} == {5: "busy", 13: "full", 8: "unwritable",
                                                                       14: "unwritable", 1: None}
    assert isinstance(kinds[13], StoreError) and "--resume" in str(kinds[13])


# ---------------------------------------------------------------------------- 5. models that break their contract


def _graph_with(path: Path, *, uint8_input: bool = False, score_op: str = "",
                metadata_bytes: int = 0) -> Path:
    model = tiny_models._brightness_graph(32, 4, True)
    graph = model.graph
    if uint8_input:  # the contract still says float32
        graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
        graph.node.insert(0, helper.make_node("Cast", ["image"], ["image_f"], to=TensorProto.FLOAT))
        graph.node[1].input[0] = "image_f"
    if score_op:  # "score" = op(mean logit), the logit being about -3.4 (dark) .. 3.5 (bright)
        (sigmoid,) = [n for n in graph.node if n.output[0] == "score"]
        sigmoid.op_type = score_op
    tiny_models._save(model, path, tiny_models.detector_contract("odd-model"))
    if metadata_bytes:
        saved = onnx.load(str(path))
        saved.doc_string = "x" * metadata_bytes
        onnx.save(saved, str(path))
    return path


def test_a_model_whose_input_dtype_contradicts_its_contract_is_refused_at_load(
    pics: Path, pixelpatrol_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    model = _graph_with(tmp_path / "u8.onnx", uint8_input=True)
    with pytest.raises(ModelError, match="takes uint8 but the contract says float32"):
        Detector.load(model, device="cpu")
    assert main(_scan(pics, model)) == 1
    assert "takes uint8 but the contract says float32" in _one_line(capsys.readouterr().err)
    Detector.load(_graph_with(tmp_path / "ok.onnx"), device="cpu")  # the same graph with float32 input loads


@pytest.mark.parametrize("op", ["Identity", "Log"])  # raw logits (-3.4, 3.5); log: NaN for the dark image
def test_scores_that_are_not_probabilities_are_error_rows_not_verdicts(
    pics: Path, pixelpatrol_home: Path, tmp_path: Path, op: str, capsys: pytest.CaptureFixture[str],
) -> None:
    model = _graph_with(tmp_path / f"{op}.onnx", score_op=op)
    assert main(_scan(pics, model)) == 0
    rows = {Path(r["path"]).name: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    for name in ("dark.png", "bright.jpg"):
        assert rows[name]["verdict"] == "" and rows[name]["score"] == ""
        assert "not a probability in [0, 1]" in rows[name]["error"]
    assert ("nan:" in rows["dark.png"]["error"]) == (op == "Log")
    if op == "Identity":
        assert rows["mid.png"]["verdict"] != ""  # a logit of ~0 is still in [0, 1]: scored


def test_model_metadata_over_the_cap_is_refused_without_loading_it(
    pics: Path, pixelpatrol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = _graph_with(tmp_path / "fat.onnx", metadata_bytes=300_000)
    assert 300_000 < model_checks.metadata_bytes(model) < 310_000
    small = tiny_models.build_detector(tmp_path / "small.onnx")
    assert 0 < model_checks.metadata_bytes(small) < 5_000  # the contract itself
    monkeypatch.setattr(model_checks, "MAX_METADATA_BYTES", 100_000)
    loaded: list[Path] = []
    monkeypatch.setattr("desktop.core.models.detector.create_session", lambda p, *a, **k: loaded.append(p))
    assert main(_scan(pics, model)) == 1
    assert "metadata takes 0.3 MB" in _one_line(capsys.readouterr().err)
    assert loaded == []  # onnxruntime never saw the file
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x0a\xff\xff\xff\xff\x0f not a protobuf")
    assert model_checks.metadata_bytes(junk) == 0


# ---------------------------------------------------------------------------- 6. paths longer than PATH_MAX


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PATH_MAX of 4096 bytes (Linux)")
def test_a_folder_deeper_than_path_max_is_an_error_row(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(pics)
    depth = 0
    while len(os.fsencode(os.getcwd())) < 4200:  # relative steps: each mkdir is short, the whole is not
        os.mkdir("d" * 240)
        os.chdir("d" * 240)
        depth += 1
    images.write(Path("deep.png"), images.solid(20))
    deep = os.getcwd()
    monkeypatch.chdir(pics)
    assert main(_scan(pics, tiny_detector_path, "-q")) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5
    (long_row,) = [r for r in rows if len(r["path"]) > 4096]
    assert deep.startswith(long_row["path"]) and "too long" in long_row["error"]


# ---------------------------------------------------------------------------- held before: kept held


def test_names_with_newlines_commas_and_quotes_round_trip_through_csv(
    tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    names = {'a,b.png', 'say "cheese".png', "two\nlines.png", "semi;colon 'q'.png"}
    for i, name in enumerate(sorted(names)):
        images.write(tmp_path / "odd" / name, images.solid(40 + i))
    assert main(_scan(tmp_path / "odd", tiny_detector_path, "-q")) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {Path(r["path"]).name for r in rows} == names and all(r["verdict"] for r in rows)


def test_two_scans_of_different_folders_at_once_share_one_database(tmp_path: Path, tiny_detector_path: Path) -> None:
    trees = [images.write_tree(tmp_path / name, 300, per_folder=100) for name in ("one", "two")]
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    env = _env(tmp_path / "home", bundled)
    procs = [subprocess.Popen([sys.executable, "-m", "desktop", "scan", str(tmp_path / name), "--model",
                               str(tiny_detector_path), "--batch-size", "4", "--workers", "1", "-q"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name in ("one", "two")]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    for (out, _), tree in zip(results, trees, strict=True):
        assert sorted(r["path"] for r in csv.DictReader(io.StringIO(out.decode()))) == sorted(map(str, tree))
    store = ResultStore(tmp_path / "home" / "data" / "pixelpatrol.sqlite3")
    assert sorted((s.status, s.done) for s in store.list_scans()) == [("finished", 300), ("finished", 300)]
    store.close()


def test_a_lock_held_for_a_while_is_waited_for(
    pics: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    import threading

    ResultStore().close()
    holder = sqlite3.connect(pixelpatrol_home / "data" / "pixelpatrol.sqlite3", isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.5, lambda: holder.execute("ROLLBACK"))  # well inside BUSY_TIMEOUT_S
    release.start()
    try:
        assert main(_scan(pics, tiny_detector_path, "-q")) == 0
    finally:
        release.join()
        holder.close()
    assert len(list(csv.DictReader(io.StringIO(capsys.readouterr().out)))) == 4
