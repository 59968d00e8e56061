"""`pixelpatrol scan --engine ray`: the scan on a Ray cluster (desktop/core/scan/ray.py), written like the local one."""

from __future__ import annotations

import argparse
import sys
import time
from typing import IO, TYPE_CHECKING, TextIO, cast

from desktop.cli.common import (
    EXIT_CANNOT_WRITE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Tally,
    fail,
    run_with_output,
)
from desktop.core.scan.export import AtomicFile, RowWriter, format_for

if TYPE_CHECKING:
    from desktop.core.scan.ray import ParquetRowWriter, RayRun


def output_format(ns: argparse.Namespace) -> str:
    """csv, json, jsonl or parquet (Parquet only from an --out name ending in .parquet)."""
    if ns.out and str(ns.out).lower().endswith(".parquet"):
        if ns.format:
            raise ValueError("--format does not apply to a .parquet output")
        return "parquet"
    return str(ns.format or (format_for(ns.out) if ns.out else "csv"))


def run_ray_scan(ns: argparse.Namespace) -> int:
    from desktop.core.scan.ray import RayMissingError, require_ray

    try:
        require_ray()
    except RayMissingError as exc:
        return fail(str(exc), EXIT_FAILED)
    if ns.resume:
        return fail("--resume works with the local engine only (the Ray engine keeps no result database)",
                    EXIT_USAGE)
    return run_with_output(ns, _checked_format, _run)


def _checked_format(ns: argparse.Namespace) -> str:
    fmt = output_format(ns)
    if fmt == "parquet" and not ns.out:
        raise ValueError("Parquet is written to a file: pass --out FILE.parquet")
    return fmt


def _run(ns: argparse.Namespace, paths: list[str], fmt: str, out_file: AtomicFile | None) -> int:
    import ray.exceptions

    from desktop.core.models.detector import ModelError, first_line
    from desktop.core.models.routing import trust_lines
    from desktop.core.scan.ray import ParquetRowWriter, RayRun, ray_scan

    err = sys.stderr
    talk = not ns.quiet
    out: IO[str] = out_file.stream if out_file is not None else sys.stdout
    writer: RowWriter | ParquetRowWriter
    if fmt == "parquet":
        assert out_file is not None
        writer = ParquetRowWriter(cast(TextIO, out_file.stream).buffer)
    else:
        writer = RowWriter(out, fmt)
    run = RayRun()
    tally = Tally()
    started = time.monotonic()
    told_start = False
    batches = ray_scan(paths, ns.model, address=ns.ray_address, device=ns.device, threshold=ns.threshold,
                       recursive=not ns.no_recursive, include_hidden=ns.hidden, actors=ns.workers,
                       batch_size=ns.batch_size, local_cpus=ns.workers, run=run)
    try:
        for rows in batches:
            if not told_start:
                told_start = True
                _say_started(run, err, ns.device, talk)
            writer.write(rows)
            tally.add(rows)
        writer.close()
        if out_file is not None:
            out_file.commit()
    except KeyboardInterrupt:
        batches.close()  # leaves the cluster (and stops a local instance)
        try:  # the rows so far, as a complete file
            writer.close()
            if out_file is not None:
                out_file.commit()
        except OSError:
            pass
        print(f"{PROG}: interrupted; {tally.rows:,} rows written"
              + (f" to {ns.out}" if out_file is not None and out_file.done else "")
              + " (the Ray engine cannot resume: run it again)", file=err)
        return EXIT_INTERRUPTED
    except ModelError as exc:
        return fail(str(exc), EXIT_FAILED)
    except ConnectionError as exc:
        return fail(f"cannot join the Ray cluster at {ns.ray_address}: {first_line(exc)}", EXIT_FAILED)
    except ray.exceptions.RayError as exc:
        return fail(f"the Ray scan failed: {_cause(exc)}", EXIT_FAILED)
    except OSError as exc:
        return fail(f"cannot write {ns.out or 'the standard output'}: {exc.strerror or exc}", EXIT_CANNOT_WRITE)
    finally:
        batches.close()
    if talk:
        if not told_start:
            _say_started(run, err, ns.device, talk)
        tally.print_summary(err, f"wrote {tally.rows:,} rows in {time.monotonic() - started:.1f} s", ns.out,
                            trust_lines(run.detector) if run.detector is not None else (), run.skipped)
    return EXIT_OK


def _cause(exc: BaseException) -> str:
    """The error a worker raised (the last 'SomeError: message' line of Ray's report), not Ray's wrapper."""
    import re

    found = re.findall(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$", str(exc), re.MULTILINE)
    if found:
        kind, message = found[-1]
        return message if kind == "ModelError" else f"{kind}: {message}"
    from desktop.core.models.detector import first_line

    return first_line(exc)


def _say_started(run: RayRun, err: IO[str], device: str, talk: bool) -> None:
    if device == "cuda" and run.device != "gpu":
        print(f"{PROG}: warning: --device cuda requested but {run.address} has no GPUs; running on CPU actors",
              file=err)
    if not talk:
        return
    title = run.detector.title if run.detector is not None else "?"
    print(f"{PROG}: ray scan of {run.files:,} files on {run.address}: {run.actors} {run.device.upper()} "
          f"actor{'s' if run.actors != 1 else ''}, model {title}", file=err)
