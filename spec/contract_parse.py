"""Parsing the model contract JSON into :mod:`spec.contract`'s types, strictly, and checking it against
an ONNX graph's inputs and outputs. Standard library only; the app parses every model it loads with it
and the trainer validates every contract it writes with it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from spec.contract import (
    AGGREGATES,
    CONTRACT_KEY,
    FEED_MODES,
    KINDS,
    RESAMPLE_NAMES,
    SUPPORTED_VERSIONS,
    ContractError,
    Domain,
    FeedSpec,
    GeneratorInputs,
    InputSpec,
    ModelContract,
    OutputSpec,
    Thresholds,
    Trust,
)


def _req(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ContractError(f"missing '{where}{key}'")
    return obj[key]


def _str(obj: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = obj.get(key, default) if default is not None else _req(obj, key, where)
    if not isinstance(value, str) or not value:
        raise ContractError(f"'{where}{key}' must be a non-empty string")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = obj.get(key, default) if default is not None else _req(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ContractError(f"'{where}{key}' must be a positive integer")
    return value


def _float(obj: Mapping[str, Any], key: str, where: str) -> float:
    value = _req(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContractError(f"'{where}{key}' must be a number")
    return float(value)


def _mapping(obj: Mapping[str, Any], key: str, where: str, required: bool = True) -> Mapping[str, Any]:
    value = obj.get(key) if not required else _req(obj, key, where)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ContractError(f"'{where}{key}' must be an object")
    return value


def _value_range(obj: Mapping[str, Any], where: str) -> tuple[float, float]:
    value = _req(obj, "value_range", where)
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or float(value[0]) >= float(value[1])
    ):
        raise ContractError(f"'{where}value_range' must be [low, high] with low < high")
    return float(value[0]), float(value[1])


def _parse_input(obj: Mapping[str, Any]) -> InputSpec:
    w = "input."
    layout = _str(obj, "layout", w, "NHWC")
    if layout != "NHWC":
        raise ContractError(f"'input.layout' {layout!r} is not supported (only NHWC)")
    dtype = _str(obj, "dtype", w, "float32")
    if dtype not in ("float32", "uint8"):
        raise ContractError(f"'input.dtype' {dtype!r} is not supported (float32 or uint8)")
    channels = _int(obj, "channels", w, 3)
    if channels != 3:
        raise ContractError("'input.channels' must be 3 (RGB)")
    color = _str(obj, "color", w, "RGB")
    if color != "RGB":
        raise ContractError(f"'input.color' {color!r} is not supported (only RGB)")
    return InputSpec(
        name=_str(obj, "name", w),
        layout=layout,
        height=_int(obj, "height", w),
        width=_int(obj, "width", w),
        channels=channels,
        dtype=dtype,
        color=color,
        value_range=_value_range(obj, w),
    )


def _parse_feed(obj: Mapping[str, Any]) -> FeedSpec:
    w = "feed."
    feed = FeedSpec(
        mode=_str(obj, "mode", w, "resize"),
        resample=_str(obj, "resample", w, "bilinear").lower(),
        max_patches=_int(obj, "max_patches", w, 16),
        aggregate=_str(obj, "aggregate", w, "mean"),
    )
    if feed.mode not in FEED_MODES:
        raise ContractError(f"'feed.mode' must be one of {FEED_MODES}, got {feed.mode!r}")
    if feed.resample not in RESAMPLE_NAMES:
        raise ContractError(f"'feed.resample' must be one of {RESAMPLE_NAMES}, got {feed.resample!r}")
    if feed.aggregate not in AGGREGATES:
        raise ContractError(f"'feed.aggregate' must be one of {AGGREGATES}, got {feed.aggregate!r}")
    return feed


def _parse_shape(value: Any, where: str) -> tuple[int | None, ...] | None:
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ContractError(f"'{where}shape' must be a list")
    dims: list[int | None] = []
    for d in value:
        if d is None or isinstance(d, str):
            dims.append(None)
        elif isinstance(d, int) and not isinstance(d, bool) and d > 0:
            dims.append(d)
        else:
            raise ContractError(f"'{where}shape' has a bad dimension {d!r}")
    return tuple(dims)


def _parse_outputs(obj: Mapping[str, Any]) -> dict[str, OutputSpec]:
    outputs: dict[str, OutputSpec] = {}
    for role, spec in obj.items():
        w = f"outputs.{role}."
        if not isinstance(spec, Mapping):
            raise ContractError(f"'outputs.{role}' must be an object")
        outputs[str(role)] = OutputSpec(
            name=_str(spec, "name", w),
            meaning=str(spec.get("meaning", "")),
            shape=_parse_shape(spec.get("shape"), w),
            extra=dict(spec),
        )
    return outputs


def _parse_thresholds(obj: Mapping[str, Any]) -> Thresholds:
    w = "thresholds."
    return Thresholds(
        decision=_float(obj, "decision", w),
        real=_float(obj, "real", w),
        likely_real=_float(obj, "likely_real", w),
        likely_ai=_float(obj, "likely_ai", w),
        ai=_float(obj, "ai", w),
    )


def _parse_generator_inputs(obj: Mapping[str, Any]) -> GeneratorInputs:
    latent = _mapping(obj, "latent", "inputs.")
    label = _mapping(obj, "label", "inputs.", required=False)
    return GeneratorInputs(
        latent_name=_str(latent, "name", "inputs.latent."),
        latent_dim=_int(latent, "dim", "inputs.latent."),
        label_name=_str(label, "name", "inputs.label.") if label else None,
        label_dtype=_str(label, "dtype", "inputs.label.", "int64") if label else "int64",
    )


MAX_BANDS = ("confident", "likely")


def _parse_domain(obj: Mapping[str, Any]) -> Domain:
    value = obj.get("long_side", [None, None])
    if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2
            or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in value)):
        raise ContractError("'domain.long_side' must be [low, high] with positive integers or null")
    lo, hi = value[0], value[1]
    if lo is not None and hi is not None and lo > hi:
        raise ContractError(f"'domain.long_side' low {lo} is above high {hi}")
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise ContractError("'domain.description' must be a string")
    return Domain((lo, hi), description)


def _parse_trust(obj: Mapping[str, Any]) -> Trust:
    auroc = obj.get("auroc")
    if auroc is not None and (isinstance(auroc, bool) or not isinstance(auroc, (int, float))
                              or not 0.0 <= float(auroc) <= 1.0):
        raise ContractError("'trust.auroc' must be a number in [0, 1]")
    max_band = obj.get("max_band", "confident")
    if max_band not in MAX_BANDS:
        raise ContractError(f"'trust.max_band' must be one of {MAX_BANDS}, got {max_band!r}")
    measured_on = obj.get("measured_on", "")
    if not isinstance(measured_on, str):
        raise ContractError("'trust.measured_on' must be a string")
    return Trust(None if auroc is None else float(auroc), measured_on, max_band)


REQUIRED_OUTPUTS = {"detector": ("score",), "discriminator": ("score",), "classifier": ("probs",),
                    "generator": ("image",)}


def contract_from_dict(data: Mapping[str, Any]) -> ModelContract:
    """Validate a decoded contract object. Raises ContractError naming the first problem."""
    if not isinstance(data, Mapping):
        raise ContractError("the contract must be a JSON object")
    version = _req(data, "contract_version", "")
    if version not in SUPPORTED_VERSIONS:
        raise ContractError(f"contract_version {version!r} is not supported (this app reads {SUPPORTED_VERSIONS})")
    kind = _str(data, "kind", "")
    if kind not in KINDS:
        raise ContractError(f"'kind' must be one of {KINDS}, got {kind!r}")
    name = _str(data, "name", "")
    outputs = _parse_outputs(_mapping(data, "outputs", ""))
    for role in REQUIRED_OUTPUTS[kind]:
        if role not in outputs:
            raise ContractError(f"a {kind} needs 'outputs.{role}'")
    generator_inputs = None
    input_spec = None
    if kind == "generator":
        generator_inputs = _parse_generator_inputs(_mapping(data, "inputs", ""))
    else:
        input_spec = _parse_input(_mapping(data, "input", ""))
    thresholds_obj = _mapping(data, "thresholds", "", required=kind == "detector")
    thresholds = _parse_thresholds(thresholds_obj) if thresholds_obj else None
    labels = data.get("labels", [])
    if not isinstance(labels, Sequence) or isinstance(labels, str):
        raise ContractError("'labels' must be a list of strings")
    card = _mapping(data, "card", "", required=False)
    domain_obj = data.get("domain")
    if domain_obj is not None and not isinstance(domain_obj, Mapping):
        raise ContractError("'domain' must be an object")
    return ModelContract(
        version=int(version),
        name=name,
        kind=kind,
        title=str(data.get("title") or name),
        input=input_spec,
        feed=_parse_feed(_mapping(data, "feed", "", required=False)),
        outputs=outputs,
        labels=tuple(str(x) for x in labels),
        thresholds=thresholds,
        card=dict(card),
        generator_inputs=generator_inputs,
        domain=_parse_domain(domain_obj) if domain_obj is not None else None,
        trust=_parse_trust(_mapping(data, "trust", "", required=False)),
        raw=dict(data),
    )


def parse_contract(metadata: Mapping[str, str]) -> ModelContract:
    """Parse the contract from an ONNX custom metadata map (key `pixelpatrol`)."""
    text = metadata.get(CONTRACT_KEY)
    if text is None:
        raise ContractError(f"no '{CONTRACT_KEY}' contract in the model metadata (not a PixelPatrol model)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"the '{CONTRACT_KEY}' metadata is not valid JSON: {exc.msg}") from None
    return contract_from_dict(data)


# ---------------------------------------------------------------------------- graph check

GraphDims = Sequence[int | str | None]


def _check_dims(role: str, name: str, expected: Sequence[int | None], actual: GraphDims) -> None:
    if len(expected) != len(actual):
        raise ContractError(f"{role} '{name}' has rank {len(actual)} in the graph, contract says {len(expected)}")
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        if e is not None and isinstance(a, int) and a != e:
            raise ContractError(f"{role} '{name}' dim {i} is {a} in the graph, contract says {e}")


def check_against_graph(
    contract: ModelContract, inputs: Mapping[str, GraphDims], outputs: Mapping[str, GraphDims]
) -> None:
    """Check that every named input/output exists with matching rank and fixed dims."""
    if contract.input is not None:
        spec = contract.input
        if spec.name not in inputs:
            raise ContractError(f"contract input '{spec.name}' is not in the graph (has {sorted(inputs)})")
        _check_dims("input", spec.name, (None, spec.height, spec.width, spec.channels), inputs[spec.name])
    if contract.generator_inputs is not None:
        gen = contract.generator_inputs
        if gen.latent_name not in inputs:
            raise ContractError(f"contract latent input '{gen.latent_name}' is not in the graph")
        _check_dims("input", gen.latent_name, (None, gen.latent_dim), inputs[gen.latent_name])
        if gen.label_name is not None:
            if gen.label_name not in inputs:
                raise ContractError(f"contract label input '{gen.label_name}' is not in the graph")
            _check_dims("input", gen.label_name, (None,), inputs[gen.label_name])
    for role, out in contract.outputs.items():
        if out.name not in outputs:
            raise ContractError(f"contract output '{role}' names '{out.name}', which is not in the graph "
                                f"(has {sorted(outputs)})")
        if out.shape is not None:
            _check_dims("output", out.name, out.shape, outputs[out.name])
        if role == "image" and contract.kind == "generator":
            e = out.extra
            dims = (None, e.get("height"), e.get("width"), e.get("channels"))
            _check_dims("output", out.name, [d if isinstance(d, int) else None for d in dims],
                        outputs[out.name])
