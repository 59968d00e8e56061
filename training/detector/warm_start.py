"""Start a Keras detector from an exported ONNX model of the same architecture.

tf2onnx folds each batch normalisation into the convolution before it, so the ONNX file holds
``W' = W * gamma / sigma`` and ``b' = beta - mu * gamma / sigma``, not the four BN tensors. The Keras model
gets ``W'`` as its kernel and a BN re-derived from data: with ``m`` and ``s`` the per-channel mean and
standard deviation of ``W' x`` over a sample of training images, BN(gamma = s, beta = m + b', moving mean m,
moving variance s^2 - eps) computes exactly ``W' x + b'`` at inference, and nearly that in training mode
(batch statistics close to ``m, s``), so fine-tuning starts where the exported model is. A parity check
against onnxruntime on the sample proves the start.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from training.data.preprocess import to_model_input

log = logging.getLogger(__name__)
PARITY_ATOL = 1e-4


def _onnx_weights(path: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]]]:
    """(kernel, bias) of each Conv and of each MatMul(+Add), in graph order, as Keras layouts."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    adds = {n.input[0]: n for n in graph.node if n.op_type == "Add"}
    convs, dense = [], []
    for node in graph.node:
        if node.op_type == "Conv":
            w = init[node.input[1]].transpose(2, 3, 1, 0)  # OIHW -> HWIO
            b = init[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[-1], np.float32)
            convs.append((w, b))
        elif node.op_type == "MatMul" and node.input[1] in init:
            w = init[node.input[1]]
            add = adds.get(node.output[0])
            found = [init[i] for i in add.input if i in init] if add is not None else []
            dense.append((w, found[0] if found else np.zeros(w.shape[-1], np.float32)))
    return convs, dense


def warm_start(model: Any, onnx_path: str | Path, sample: np.ndarray) -> float:
    """Load the ONNX model's weights into ``model`` (same architecture, Conv-BN-ReLU blocks, Dense head);
    returns the max abs difference of the two on ``sample`` (uint8 NHWC), raising if above PARITY_ATOL."""
    import keras
    import onnxruntime as ort

    path = Path(onnx_path)
    convs, dense = _onnx_weights(path)
    conv_layers = [la for la in model.layers if isinstance(la, keras.layers.Conv2D)]
    dense_layers = [la for la in model.layers if isinstance(la, keras.layers.Dense)]
    if len(conv_layers) != len(convs) or len(dense_layers) != len(dense):
        raise ValueError(
            f"{path.name}: {len(convs)} conv / {len(dense)} dense layers, the model has "
            f"{len(conv_layers)} / {len(dense_layers)}: not the same architecture"
        )
    bns = []
    for layer, (w, b) in zip(conv_layers, convs, strict=True):
        if tuple(layer.kernel.shape) != w.shape:
            raise ValueError(f"{path.name}: kernel {w.shape} does not fit {layer.name} {tuple(layer.kernel.shape)}")
        bn = _next_batchnorm(model, layer)
        if layer.use_bias:
            layer.set_weights([w, b])
        elif bn is None:
            raise ValueError(f"{layer.name} has no bias and no batch normalisation to carry it")
        else:
            layer.set_weights([w])
        bns.append((bn, b if not layer.use_bias else np.zeros_like(b)))
    for layer, (w, b) in zip(dense_layers, dense, strict=True):
        layer.set_weights([w, b])
    for bn, bias in bns:  # first the exported model exactly (BN = + bias), so each conv sees true inputs
        if bn is not None:
            c = bias.shape[0]
            bn.set_weights([np.ones(c, np.float32), bias.astype(np.float32), np.zeros(c, np.float32),
                            np.full(c, 1.0 - bn.epsilon, np.float32)])
    x = to_model_input(sample)
    probe = keras.Model(model.inputs, [la.output for la in conv_layers])
    outs = probe.predict(x, batch_size=512, verbose=0)
    for (bn, bias), z in zip(bns, outs, strict=True):
        if bn is None:
            continue
        z = z.reshape(-1, z.shape[-1]).astype(np.float64)
        m, s = z.mean(0), np.maximum(z.std(0), 1e-3)
        var = np.maximum(s**2 - bn.epsilon, 1e-8)
        s = np.sqrt(var + bn.epsilon)
        bn.set_weights([s.astype(np.float32), (m + bias).astype(np.float32), m.astype(np.float32), var.astype(np.float32)])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    refs = session.run(None, {session.get_inputs()[0].name: x})
    gots = model.predict(x, batch_size=512, verbose=0)
    gots = gots if isinstance(gots, (list, tuple)) else [gots]
    diff = max(float(np.abs(np.asarray(g).reshape(r.shape) - r).max()) for g, r in zip(gots, refs, strict=True))
    if diff > PARITY_ATOL:
        raise ValueError(f"{path.name}: the warm-started model differs from the file by {diff:.2g}")
    log.info("warm start from %s: max abs difference %.2g on %d images", path.name, diff, len(x))
    return diff


def _next_batchnorm(model: Any, conv: Any) -> Any:
    import keras

    layers = model.layers
    i = layers.index(conv)
    nxt = layers[i + 1] if i + 1 < len(layers) else None
    return nxt if isinstance(nxt, keras.layers.BatchNormalization) else None
