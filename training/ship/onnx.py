"""Keras -> ONNX with the model contract (docs/model-contract.md) in the metadata, and a parity check.

``export_keras`` converts with ``tf2onnx.convert.from_keras`` and a named ``input_signature``
(opset 17, dynamic batch), renames the graph outputs to the contract's names, stores the contract
JSON under the ``pixelpatrol`` metadata key, then runs real validation images through Keras and
onnxruntime: a max abs difference above ``atol`` (1e-4) raises :class:`ParityError` and leaves no
file behind.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from spec.contract import CONTRACT_KEY
from training.data.preprocess import to_model_input

log = logging.getLogger(__name__)
OPSET = 17


class ParityError(RuntimeError):
    """Keras and onnxruntime disagree on the same inputs."""


def _rename_outputs(proto: Any, names: list[str]) -> None:
    graph = proto.graph
    if len(graph.output) != len(names):
        raise RuntimeError(f"ONNX graph has {len(graph.output)} outputs, expected {len(names)} ({names})")
    for out, new in zip(graph.output, names, strict=True):
        old = out.name
        if old == new:
            continue
        for node in graph.node:
            for i, o in enumerate(node.output):
                if o == old:
                    node.output[i] = new
            for i, o in enumerate(node.input):
                if o == old:
                    node.input[i] = new
        out.name = new


def keras_outputs(model: Any, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Model predictions as {contract output name: array}, in the model's output order."""
    out = model(x, training=False)
    if isinstance(out, dict):
        return {n: np.asarray(out[n]) for n in names}
    if not isinstance(out, (list, tuple)):
        out = [out]
    return {n: np.asarray(o) for n, o in zip(names, out, strict=True)}


def write_checked(
    proto: Any,
    contract: dict[str, Any],
    path: str | Path,
    feeds: dict[str, np.ndarray],
    want: dict[str, np.ndarray],
    atol: float = 1e-4,
) -> float:
    """The one way a model file is written: the contract under the ``pixelpatrol`` key, the ONNX checker,
    a temporary file run through onnxruntime on ``feeds`` and compared with ``want`` (TensorFlow's outputs
    by name), and only then the rename into ``path``. A difference above ``atol`` or a missing output raises
    :class:`ParityError` and leaves no file behind; so does a contract the app's own parser
    (:mod:`spec.contract`) refuses or that does not fit the graph. Returns the largest difference."""
    import onnx
    import onnxruntime as ort

    from spec.contract_parse import check_against_graph, contract_from_dict

    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key = CONTRACT_KEY
    entry.value = json.dumps(contract, allow_nan=False)
    onnx.checker.check_model(proto)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    onnx.save(proto, str(tmp))
    try:
        sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        check_against_graph(
            contract_from_dict(contract),
            {a.name: list(a.shape) for a in sess.get_inputs()},
            {a.name: list(a.shape) for a in sess.get_outputs()},
        )
        names = [o.name for o in sess.get_outputs()]
        got = dict(zip(names, sess.run(names, feeds), strict=True))
        worst = 0.0
        for name, expected in want.items():
            if name not in got:
                raise ParityError(f"{path.name}: output {name!r} missing from the ONNX graph (has {names})")
            if got[name].shape != expected.shape:
                raise ParityError(f"{path.name}: output {name} shape {got[name].shape} != TensorFlow {expected.shape}")
            if expected.size:
                worst = max(worst, float(np.max(np.abs(got[name] - expected))))
        if not worst <= atol:
            n = len(next(iter(feeds.values())))
            raise ParityError(
                f"{path.name}: TensorFlow and onnxruntime differ by {worst:.3g} on {n} inputs "
                f"(allowed {atol:g}); not exported"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return worst


def export_keras(
    model: Any,
    path: str | Path,
    contract: dict[str, Any],
    parity_images: np.ndarray,
    *,
    atol: float = 1e-4,
    opset: int = OPSET,
) -> dict[str, Any]:
    """A Keras detector (one image input): write ``path`` with :func:`write_checked` on real images and
    return {"path", "opset", "parity_max_abs_diff", "parity_images"}."""
    import tensorflow as tf
    import tf2onnx

    if opset > 18:
        raise ValueError("opset must be <= 18")
    inp = contract["input"]
    out_names = [spec["name"] for spec in contract["outputs"].values()]
    signature = [
        tf.TensorSpec([None, inp["height"], inp["width"], inp["channels"]], tf.float32, name=inp["name"])
    ]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
    _rename_outputs(proto, out_names)
    x = to_model_input(parity_images)
    worst = write_checked(proto, contract, path, {inp["name"]: x}, keras_outputs(model, x, out_names), atol)
    log.info("exported %s (parity max abs diff %.2e on %d images)", path, worst, len(x))
    return {"path": str(path), "opset": opset, "parity_max_abs_diff": worst, "parity_images": len(x)}


def export_function(
    fn: Any,
    signature: list[Any],
    contract: dict[str, Any],
    path: str | Path,
    feeds: dict[str, np.ndarray],
    *,
    atol: float = 1e-4,
    opset: int = OPSET,
) -> float:
    """A ``tf.function`` returning {output name: tensor} (generators, discriminators, the classifier):
    written with :func:`write_checked` on ``feeds``; returns the largest difference."""
    import tensorflow as tf
    import tf2onnx

    if opset > 18:
        raise ValueError("opset must be <= 18")
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=signature, opset=opset)
    want = {k: np.asarray(v) for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
    return write_checked(proto, contract, path, feeds, want, atol)
