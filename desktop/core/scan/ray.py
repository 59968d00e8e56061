"""The scan on Ray Data: the local engine's walk, decode, feed and rows, spread over a cluster (issue 19).

The driver lists the files with the engine's own walk (`walk.iter_image_files`) and hands the paths to
Ray Data in blocks; `map_batches` runs them through a pool of actors that each hold one model loaded by
`routing.load_for_scan` (a Detector, or the per-image Router), decode each file with `scan.decode_file`
and build the rows with `scan.rows_from_decoded`: the very functions the local engine calls, so a file
gets the same score, verdict, reason and error on both. The rows stream back to the driver, which writes
them (CSV, JSON, JSON lines or Parquet).

Device rules are the local ones: an actor on a GPU node asks Ray for a GPU and loads its model with the
user's --device (auto falls back to the CPU with a reason); CPU actors load with "cpu". Each actor checks
that it loaded the same model as the driver (by digest), so a node that sees other files fails loudly
instead of writing other scores. What this engine does not do: the result database (no cache, no
--resume); rows come in the order actors finish them.

Ray and pyarrow come with the `cluster` extra and are imported only when this engine runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from desktop.core.models.detector import ModelError
from desktop.core.paths import BUNDLED_MODELS_ENV, HOME_ENV
from desktop.core.scan.events import ScanRow
from desktop.core.scan.export import COLUMNS, readable, row_dict
from desktop.core.scan.walk import Skipped, iter_image_files

if TYPE_CHECKING:
    import pyarrow as pa

    from desktop.core.models.routing import AnyDetector

MISSING_EXTRA = ("--engine ray needs the cluster extra, which is not installed: "
                 "pip install 'pixelpatrol[cluster]' (Ray Data and pyarrow)")
PATHS_PER_BLOCK = 1024  # paths per Ray Data block: enough blocks to spread, few enough to schedule
ROWS_PER_BATCH = 64  # files an actor decodes and scores per call
MAX_DECODE_THREADS_PER_GPU = 8
LOCAL_CPUS = 2  # a local instance (no --ray-address) stays small unless told otherwise


class RayMissingError(RuntimeError):
    """The cluster extra (ray[data], pyarrow) is not installed; the message is one line."""


def require_ray() -> None:
    try:
        import pyarrow  # noqa: F401
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissingError(MISSING_EXTRA) from None


@dataclass(frozen=True)
class ActorPlan:
    """What every scoring actor needs to load the driver's model and feed it as the local engine does."""

    model_ref: str | None  # an absolute model file, or None for per-image routing over the installed models
    digest: str  # of the driver's model (Router: of all members): each actor must load the same
    device: str  # "cpu", or the user's --device for actors that hold a GPU
    threshold: float | None
    threads: int  # decode threads and onnxruntime threads in one actor (its CPUs)
    env: dict[str, str] = field(default_factory=dict)  # where the driver finds its models


# -------------------------------------------------------------------------------- rows as Arrow

def _row_schema() -> pa.Schema:
    import pyarrow as pa

    # path as bytes: a file name that is not valid UTF-8 crosses the cluster unchanged
    return pa.schema([("path", pa.binary()), ("score", pa.float64()), ("verdict", pa.string()),
                      ("model", pa.string()), ("reason", pa.string()), ("evidence", pa.string()),
                      ("error", pa.string()), ("width", pa.int64()), ("height", pa.int64()),
                      ("format", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64())])


def _text(value: str | None) -> str | None:
    # Arrow strings are UTF-8; the writers apply `readable` to these columns anyway, so this changes nothing
    return None if value is None else readable(value)


def rows_to_table(rows: Sequence[ScanRow]) -> pa.Table:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {
        "path": [os.fsencode(r.path) for r in rows],
        "score": [None if r.score is None else float(r.score) for r in rows],
        "verdict": [r.verdict for r in rows],
        "model": [r.model for r in rows],
        "reason": [_text(r.reason) for r in rows],
        "evidence": [_text(r.evidence) for r in rows],
        "error": [_text(r.error) for r in rows],
        "width": [r.width for r in rows],
        "height": [r.height for r in rows],
        "format": [r.format for r in rows],
        "size": [r.size for r in rows],
        "mtime_ns": [r.mtime_ns for r in rows],
    }
    return pa.table(columns, schema=_row_schema())


def table_to_rows(table: pa.Table) -> list[ScanRow]:
    return [ScanRow(os.fsdecode(d["path"]), d["score"], d["verdict"], d["width"], d["height"], d["format"],
                    d["size"], d["mtime_ns"], d["error"], model=d["model"], evidence=d["evidence"],
                    reason=d["reason"]) for d in table.to_pylist()]


# -------------------------------------------------------------------------------- the actors

class ScoreActor:
    """One model per actor, loaded once; each call decodes and scores a batch of paths."""

    def __init__(self, plan: ActorPlan) -> None:
        os.environ.update(plan.env)  # this actor's own worker process: the driver's model folders
        from desktop.core.models.routing import load_for_scan
        from desktop.core.scan.engine import member_thresholds

        self.detector = load_for_scan(plan.model_ref, device=plan.device, threads=plan.threads)
        if self.detector.digest != plan.digest:
            import socket

            raise ModelError(
                f"the models on node {socket.gethostname()} differ from the driver's "
                f"({self.detector.title}, digest {self.detector.digest[:12]} instead of {plan.digest[:12]}): "
                "every node must see the same model files at the same paths (docs/scale-out.md)")
        self.thresholds = member_thresholds(self.detector, plan.threshold)
        self.pool = ThreadPoolExecutor(plan.threads, "pixelpatrol-decode") if plan.threads > 1 else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        from desktop.core.scan.engine import decode_file, rows_from_decoded

        paths = [os.fsdecode(p) for p in batch.column("path").to_pylist()]
        if self.pool is not None:
            decoded = list(self.pool.map(decode_file, paths, repeat(self.detector)))
        else:
            decoded = [decode_file(p, self.detector) for p in paths]
        return rows_to_table(rows_from_decoded(self.detector, self.thresholds, decoded))


# -------------------------------------------------------------------------------- the driver

@dataclass
class RayRun:
    """What a run used, for the summary: filled in as the scan starts."""

    address: str = ""
    actors: int = 0
    device: str = "cpu"
    detector: AnyDetector | None = None
    skipped: Skipped = field(default_factory=Skipped)
    files: int = 0


@contextlib.contextmanager
def connected(address: str | None, num_cpus: int | None) -> Iterator[str]:
    """Join the cluster at `address`, or start a small local instance; reuse one this process already has."""
    import ray
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # the rows and the summary are the output; Ray's own notes would bury them (failures still raise)
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        yield "this process's Ray instance"
        return
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        where = f"the cluster at {address}"
    else:
        ray.init(num_cpus=num_cpus or min(LOCAL_CPUS, os.cpu_count() or 1), include_dashboard=False,
                 log_to_driver=False, logging_level=logging.ERROR)
        where = "a local Ray instance"
    try:
        yield where
    finally:
        ray.shutdown()


def _path_blocks(paths: Sequence[str | Path], recursive: bool, include_hidden: bool, skipped: Skipped,
                 actors: int) -> list[pa.Table]:
    """The walk's files in blocks of PATHS_PER_BLOCK (built as the walk goes: 10 M paths are about 1 GB
    of Arrow, not a list of Python objects), or smaller blocks, a few per actor, when there are few."""
    import pyarrow as pa

    chunks: list[pa.Array] = []
    chunk: list[bytes] = []
    for p in iter_image_files(paths, recursive, include_hidden, skipped=skipped):
        chunk.append(os.fsencode(p))
        if len(chunk) >= PATHS_PER_BLOCK:
            chunks.append(pa.array(chunk, pa.binary()))
            chunk = []
    if chunk:
        chunks.append(pa.array(chunk, pa.binary()))
    total = sum(len(c) for c in chunks)
    if total >= actors * 4 * PATHS_PER_BLOCK:
        return [pa.table({"path": c}) for c in chunks]
    files = pa.concat_arrays(chunks) if chunks else pa.array([], pa.binary())
    size = max(1, -(-total // (actors * 4)))
    return [pa.table({"path": files.slice(start, size)}) for start in range(0, total, size)]


def _cpus_per_gpu(nodes: list[dict[str, Any]]) -> int:
    """The CPUs beside each GPU on the GPU node that has fewest, so that a GPU actor fits on every one."""
    ratios = [int(n["Resources"].get("CPU", 1) // n["Resources"]["GPU"]) for n in nodes
              if n.get("Alive") and n.get("Resources", {}).get("GPU")]
    return min(ratios) if ratios else 1


def _model_env() -> dict[str, str]:
    return {k: os.path.abspath(os.environ[k]) for k in (HOME_ENV, BUNDLED_MODELS_ENV) if os.environ.get(k)}


def ray_scan(
    paths: Sequence[str | Path],
    model_ref: str | None,
    *,
    address: str | None = None,
    device: str = "auto",
    threshold: float | None = None,
    recursive: bool = True,
    include_hidden: bool = False,
    actors: int | None = None,
    batch_size: int | None = None,
    local_cpus: int | None = None,
    run: RayRun | None = None,
) -> Generator[list[ScanRow], None, None]:
    """Scan on Ray Data, yielding rows in batches as the actors finish them; `run` says what was used.

    Raises RayMissingError without the cluster extra, ModelError when the model cannot be loaded (on the
    driver, or on a node that sees other model files), ConnectionError when the cluster cannot be joined.
    """
    require_ray()
    import ray
    import ray.data

    from desktop.core.models.routing import AUTO, load_for_scan

    run = run if run is not None else RayRun()
    # On the driver, on the CPU: checks the model before the cluster is asked for anything, and gives
    # the digest every actor must match.
    detector = load_for_scan(model_ref, device="cpu", threads=1)
    run.detector = detector
    routed = model_ref is None or str(model_ref) == AUTO
    with connected(address, local_cpus) as where:
        run.address = where
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        use_gpu = gpus > 0 and device != "cpu"
        if use_gpu:
            run.actors = actors or gpus
            threads = max(1, min(MAX_DECODE_THREADS_PER_GPU, _cpus_per_gpu(ray.nodes())))  # type: ignore[no-untyped-call]
            remote: dict[str, Any] = {"num_gpus": 1, "num_cpus": threads}
        else:  # one single-threaded actor per core: each decodes and scores its own files (as locally)
            run.actors = actors or max(1, cpus)
            threads = 1
            remote = {"num_cpus": 1}
        run.device = "gpu" if use_gpu else "cpu"
        plan = ActorPlan(None if routed else str(Path(detector.path).resolve()), detector.digest,
                         device if use_gpu else "cpu", threshold, threads, _model_env())
        blocks = _path_blocks(paths, recursive, include_hidden, run.skipped, run.actors)
        run.files = sum(b.num_rows for b in blocks)
        if not blocks:
            return
        ds = ray.data.from_arrow(blocks).map_batches(
            ScoreActor, fn_constructor_kwargs={"plan": plan}, batch_format="pyarrow",
            batch_size=batch_size or ROWS_PER_BATCH,
            compute=ray.data.ActorPoolStrategy(size=min(run.actors, len(blocks))), **remote)
        for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
            table = cast("pa.Table", batch)
            if table.num_rows:
                yield table_to_rows(table)


# -------------------------------------------------------------------------------- Parquet output

def parquet_schema() -> pa.Schema:
    """The output columns (export.COLUMNS) with their Arrow types."""
    import pyarrow as pa

    types = {"score": pa.float64(), "width": pa.int64(), "height": pa.int64(), "size": pa.int64(),
             "mtime_ns": pa.int64(), "cached": pa.bool_()}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


class ParquetRowWriter:
    """The RowWriter face (write, close, count) for a Parquet file on a binary stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        import pyarrow.parquet as pq

        self.schema = parquet_schema()
        self._writer = pq.ParquetWriter(stream, self.schema)
        self.count = 0

    def write(self, rows: Sequence[ScanRow]) -> None:
        import pyarrow as pa

        if rows:
            self._writer.write_table(pa.Table.from_pylist([row_dict(r) for r in rows], schema=self.schema))
            self.count += len(rows)

    def close(self) -> None:
        self._writer.close()
