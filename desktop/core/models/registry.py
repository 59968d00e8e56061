"""Adding and removing the user's models: one name per model, never a silent refusal.

A model is copied into the user's models folder (`paths.user_models_dir()`) only after its contract
checks out. Names are unique across the bundled and the user's models: a clash with a different file
gets a suffix (`name-2`), and the copy's contract says so (its `name` and `title` are rewritten in the
ONNX metadata of the copy; the user's original file is never changed). The same file added twice is
found by its content digest and not copied again.

Rewriting the metadata needs no `onnx` package: an ONNX file is a protobuf `ModelProto` whose
`metadata_props` (field 14) are key/value entries; :func:`rewrite_contract` replaces the
`pixelpatrol` entry and copies every other byte unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.core.models.catalog import ModelEntry, inspect_model, list_models
from desktop.core.models.detector import ModelError, file_digest
from spec.contract import CONTRACT_KEY

_METADATA_PROPS = 14  # ModelProto.metadata_props (StringStringEntryProto: key = 1, value = 2)
_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class Added:
    """What `add_model` did: where the copy is, under which name, and why it differs from asked."""

    path: Path
    name: str
    title: str
    already: bool = False  # the same file was already there (nothing copied)
    note: str = ""  # one line: a renamed clash, or "already registered"


# --- protobuf, just enough to replace one metadata entry ------------------------------------------
def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(field number, wire type, start of the field, start of its payload, end) for each top-level field."""
    out = []
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, end = _varint(data, pos)
            payload = pos
        elif wire == 1:
            payload, end = pos, pos + 8
        elif wire == 2:
            length, payload = _varint(data, pos)
            end = payload + length
        elif wire == 5:
            payload, end = pos, pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if end > len(data):
            raise ValueError("truncated protobuf field")
        out.append((number, wire, start, payload, end))
        pos = end
    return out


def _string_field(number: int, text: str) -> bytes:
    raw = text.encode("utf-8")
    return _encode_varint(number << 3 | 2) + _encode_varint(len(raw)) + raw


def _entry_key(entry: bytes) -> str | None:
    for number, wire, _start, payload, end in _fields(entry):
        if number == 1 and wire == 2:
            return entry[payload:end].decode("utf-8", "replace")
    return None


def rewrite_contract(model: bytes, contract: dict[str, Any]) -> bytes:
    """The ONNX file `model` with its `pixelpatrol` metadata entry replaced by `contract` (JSON)."""
    entry = _string_field(1, CONTRACT_KEY) + _string_field(2, json.dumps(contract, allow_nan=False))
    new_field = _encode_varint(_METADATA_PROPS << 3 | 2) + _encode_varint(len(entry)) + entry
    parts: list[bytes] = []
    replaced = False
    for number, wire, start, payload, end in _fields(model):
        if number == _METADATA_PROPS and wire == 2 and _entry_key(model[payload:end]) == CONTRACT_KEY:
            if not replaced:
                parts.append(new_field)
                replaced = True
            continue
        parts.append(model[start:end])
    if not replaced:
        parts.append(new_field)
    return b"".join(parts)


# --- names ----------------------------------------------------------------------------------------
def slug(text: str) -> str:
    """A model name from free text: lower case, letters, digits, '.', '_' and '-'."""
    return _NAME_CHARS.sub("-", text.strip().lower()).strip("-._") or "model"


def unique_name(wanted: str, taken: Sequence[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`, ... whichever is free."""
    used = set(taken)
    if wanted not in used:
        return wanted
    n = 2
    while f"{wanted}-{n}" in used:
        n += 1
    return f"{wanted}-{n}"


def origin(entry: ModelEntry) -> str:
    """"bundled" (shipped with the app) or "user" (added or trained by the person)."""
    return entry.source


# --- add / remove ---------------------------------------------------------------------------------
def add_model(source: Path, name: str | None = None, entries: Sequence[ModelEntry] | None = None) -> Added:
    """Copy a checked model into the user's models folder under a name no other model has.

    `name`: the name the person asked for (else the contract's). ModelError says why a file cannot
    be added (not a PixelPatrol model, unreadable).
    """
    source = Path(source).expanduser()
    if not source.is_file():
        raise ModelError(f"{source}: file not found")
    entry = inspect_model(source)
    if entry.error or entry.contract is None:
        reason = entry.error or f"{source}: no contract"
        if "metadata" in reason.lower() or f"'{CONTRACT_KEY}'" in reason:
            reason += " - this ONNX file was not made for PixelPatrol (no model contract)"
        raise ModelError(reason)
    folder = paths.user_models_dir()
    entries = list_models() if entries is None else entries
    digest = file_digest(source)
    wanted = slug(name) if name else entry.contract.name
    for other in entries:
        if other.contract is not None and other.path.is_file() and file_digest(other.path) == digest:
            return Added(other.path, other.contract.name, other.contract.title, already=True,
                         note=f"already installed as '{other.contract.name}' ({other.source}: {other.path})")
    taken = [e.name for e in entries] + [p.stem for p in folder.glob("*.onnx")]
    final = unique_name(wanted, taken)
    old_title = entry.contract.title
    title = f"{name.strip()} ({old_title})" if name and wanted != entry.contract.name else old_title
    note = ""
    if final != wanted:
        title = f"{title} [{final}]"
        note = f"a model named '{wanted}' already exists; added as '{final}'"
    if (final, title) != (entry.contract.name, old_title):
        data = rewrite_contract(source.read_bytes(), {**entry.contract.raw, "name": final, "title": title})
    else:
        data = source.read_bytes()
    dest = folder / f"{final}.onnx"
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_bytes(data)
    check = inspect_model(tmp)
    if check.error or check.contract is None or check.contract.name != final:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"{source}: the renamed copy did not check out ({check.error or 'name not set'})")
    tmp.replace(dest)
    return Added(dest, final, title, note=note)


def remove_model(name_or_path: str | Path, entries: Sequence[ModelEntry] | None = None) -> Path:
    """Delete a model from the user's models folder (by name, file stem or path); bundled ones stay."""
    entries = list_models() if entries is None else entries
    text = str(name_or_path)
    target = Path(text).expanduser()
    matches = [e for e in entries if e.name == text or e.path.stem == text
               or (target.exists() and e.path.resolve() == target.resolve())]
    user = [e for e in matches if e.source == "user"]
    if not user:
        if matches:
            raise ModelError(f"'{text}' is a bundled model; only models in {paths.user_models_dir()} can be removed")
        known = ", ".join(sorted(e.name for e in entries if e.source == "user")) or "none"
        raise ModelError(f"no model of yours named '{text}' (yours: {known})")
    for e in user:
        e.path.unlink(missing_ok=True)
    return user[0].path


__all__ = ["Added", "add_model", "origin", "remove_model", "rewrite_contract", "slug", "unique_name"]
