"""Checks on a model file that its contract cannot make itself (docs/reliability.md).

- The size of its metadata, read from the file's own framing before onnxruntime loads it: the
  contract is a few kilobytes, and a file whose metadata runs to hundreds of megabytes would take
  gigabytes of memory to load (onnxruntime, then Python, then the JSON parser each hold a copy).
- The element type of the image input: a graph that takes uint8 where the contract says float32
  (or the reverse) loads fine and then fails on every image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from desktop.core.models.contract import ModelContract

MAX_METADATA_BYTES = 16 << 20
# ModelProto fields that hold free text rather than the graph: doc_string (6), metadata_props (14).
_METADATA_FIELDS = frozenset({6, 14})
_GRAPH_DTYPES = {"float32": "tensor(float)", "uint8": "tensor(uint8)"}


def _varint(fh: IO[bytes]) -> int | None:
    value = shift = 0
    while True:
        byte = fh.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            return None


def metadata_bytes(path: str | Path) -> int:
    """Bytes taken by the model's doc string and metadata properties, found by walking the top-level
    protobuf fields and seeking past everything else (the graph is never read). A file that is not
    a protobuf gives what was counted before the walk lost its way; onnxruntime then says what is wrong."""
    total = 0
    with open(path, "rb") as fh:
        while (tag := _varint(fh)) is not None:
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                if _varint(fh) is None:
                    break
            elif wire == 1:
                fh.seek(8, 1)
            elif wire == 5:
                fh.seek(4, 1)
            elif wire == 2:
                length = _varint(fh)
                if length is None:
                    break
                if field in _METADATA_FIELDS:
                    total += length
                fh.seek(length, 1)
            else:  # groups (never in ONNX) or not a protobuf at all
                break
    return total


def metadata_problem(path: str | Path, limit: int | None = None) -> str | None:
    """Why the model's metadata is too large to read (over `limit`, default MAX_METADATA_BYTES), or None."""
    limit = MAX_METADATA_BYTES if limit is None else limit
    try:
        size = metadata_bytes(path)
    except OSError:
        return None  # loading says why the file cannot be read
    if size > limit:
        return (f"its metadata takes {size / 1e6:,.1f} MB (at most {limit / 1e6:,.1f} MB is read): "
                "not loaded; a PixelPatrol contract needs a few kB")
    return None


def input_dtype_problem(contract: ModelContract, graph_inputs: Sequence[Any]) -> str | None:
    """Why the graph's image input does not take the element type the contract feeds it, or None.

    `graph_inputs`: onnxruntime NodeArgs (name, type such as 'tensor(float)')."""
    spec = contract.input
    if spec is None:
        return None
    types = {a.name: a.type for a in graph_inputs}
    want = _GRAPH_DTYPES.get(spec.dtype)
    have = types.get(spec.name)
    if want is None or have is None or have == want:
        return None
    shown = {v: k for k, v in _GRAPH_DTYPES.items()}.get(have, have.removeprefix("tensor(").removesuffix(")"))
    return (f"the graph's input '{spec.name}' takes {shown} but the contract says {spec.dtype}: "
            "every image would fail; re-export the model with a matching input.dtype")
