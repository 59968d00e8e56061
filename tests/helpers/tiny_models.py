"""Tiny but real ONNX models, built with onnx.helper, that carry a PixelPatrol contract.

They compute something from the pixels (no constant or random outputs), so scores differ per
image and a wrong preprocessing step shows up as a wrong score. Used by the tests and, until the
training side ships real models, by the benchmarks.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 9

THRESHOLDS = {"decision": 0.5, "real": 0.05, "likely_real": 0.3, "likely_ai": 0.7, "ai": 0.95}


def detector_contract(name: str = "tiny-detector", size: int = 32, grid: int | None = 4,
                      feed_mode: str = "resize", **overrides: Any) -> dict[str, Any]:
    """A valid detector contract; `overrides` replace top-level fields."""
    outputs: dict[str, Any] = {"score": {"name": "score", "meaning": "probability that the image is AI-generated",
                                         "shape": [None, 1]}}
    if grid:
        outputs["patch_map"] = {"name": "patch_map", "meaning": "per-patch probability of AI, rows x cols",
                                "shape": [None, grid, grid, 1]}
    contract: dict[str, Any] = {
        "contract_version": 1,
        "name": name,
        "kind": "detector",
        "title": f"Tiny test detector ({name})",
        "input": {"name": "image", "layout": "NHWC", "height": size, "width": size, "channels": 3,
                  "dtype": "float32", "color": "RGB", "value_range": [0, 255]},
        "feed": {"mode": feed_mode, "resample": "bilinear", "max_patches": 4, "aggregate": "mean"},
        "outputs": outputs,
        "labels": ["real", "ai"],
        "thresholds": dict(THRESHOLDS),
        "card": {"summary": "Brightness-based test model: bright images score high. Not a real detector.",
                 "intended_use": "tests and benchmarks only", "training_data": "none (hand-built graph)",
                 "validation": {"split": "none", "metrics": {}}, "command": "tests/helpers/tiny_models.py",
                 "params": 0},
    }
    contract.update(copy.deepcopy(overrides))
    return contract


def _save(model: onnx.ModelProto, path: Path, contract: dict[str, Any] | None) -> Path:
    if contract is not None:
        helper.set_model_props(model, {"pixelpatrol": json.dumps(contract)})
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _const(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array, name)


def _brightness_graph(size: int, grid: int | None, with_patch_map: bool) -> onnx.ModelProto:
    """score = sigmoid(mean over patches of (gray - 128) / 32); patch_map = per-patch sigmoid."""
    g = grid or 4
    k = size // g
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["gray"], axes=[3], keepdims=1),
        helper.make_node("Transpose", ["gray"], ["gray_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("AveragePool", ["gray_nchw"], ["pooled"], kernel_shape=[k, k], strides=[k, k]),
        helper.make_node("Transpose", ["pooled"], ["pooled_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Sub", ["pooled_nhwc", "mid"], ["centred"]),
        helper.make_node("Div", ["centred", "spread"], ["logits"]),
        helper.make_node("ReduceMean", ["logits"], ["mean_logit"], axes=[1, 2], keepdims=0),
        helper.make_node("Sigmoid", ["mean_logit"], ["score"]),
    ]
    outputs = [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])]
    if with_patch_map:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["patch_map"]))
        outputs.append(helper.make_tensor_value_info("patch_map", TensorProto.FLOAT, ["N", g, g, 1]))
    graph = helper.make_graph(
        nodes, "tiny_detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", size, size, 3])],
        outputs,
        initializer=[_const("mid", np.array(128.0, np.float32)), _const("spread", np.array(32.0, np.float32))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def expected_brightness_score(image_float_nhwc: np.ndarray, grid: int = 4) -> np.ndarray:
    """What the brightness detector computes, in numpy, for checking preprocessing end to end."""
    x = image_float_nhwc.astype(np.float64).mean(axis=3)
    n, h, w = x.shape
    pooled = x.reshape(n, grid, h // grid, grid, w // grid).mean(axis=(2, 4))
    logits = (pooled - 128.0) / 32.0
    return (1.0 / (1.0 + np.exp(-logits.mean(axis=(1, 2))))).astype(np.float32)


def build_detector(path: Path, name: str = "tiny-detector", size: int = 32) -> Path:
    return _save(_brightness_graph(size, 4, True), path, detector_contract(name, size))


def build_detector_without_patch_map(path: Path, name: str = "tiny-nopatch") -> Path:
    return _save(_brightness_graph(32, 4, False), path, detector_contract(name, grid=None))


def build_patches_detector(path: Path, name: str = "tiny-patches", size: int = 32) -> Path:
    return _save(_brightness_graph(size, 4, True), path, detector_contract(name, size, feed_mode="patches"))


def build_model_without_contract(path: Path) -> Path:
    return _save(_brightness_graph(32, 4, True), path, None)


def build_model_with_missing_output(path: Path) -> Path:
    """The contract names a `patch_map` output that the graph does not have."""
    return _save(_brightness_graph(32, 4, False), path, detector_contract("tiny-broken"))


def build_model_with_contract(path: Path, contract: dict[str, Any]) -> Path:
    """The brightness graph (with patch map) under an arbitrary contract, for refusal tests."""
    return _save(_brightness_graph(32, 4, True), path, contract)


def build_cnn_detector(path: Path, name: str = "tiny-cnn", seed: int = 0) -> Path:
    """A CIFAKE-sized CNN (about 0.6 M parameters, fixed seeded weights): realistic compute cost."""
    rng = np.random.default_rng(seed)

    def he(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    inits = [_const("scale", np.array(1.0 / 255.0, np.float32))]
    nodes = [helper.make_node("Transpose", ["image"], ["x0"], perm=[0, 3, 1, 2]),
             helper.make_node("Mul", ["x0", "scale"], ["x"])]
    channels = [3, 32, 64, 128]
    src = "x"
    for i in range(3):
        inits += [_const(f"w{i}", he(channels[i + 1], channels[i], 3, 3)),
                  _const(f"b{i}", np.zeros(channels[i + 1], np.float32))]
        nodes += [helper.make_node("Conv", [src, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
                  helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2])]
        src = f"p{i}"
    params = sum(int(np.prod(t.dims)) for t in inits)
    inits += [_const("fw1", (he(2048, 256) / np.sqrt(2.0)).astype(np.float32)), _const("fb1", np.zeros(256, np.float32)),
              _const("fw2", (he(256, 1) * 0.05).astype(np.float32)), _const("fb2", np.zeros(1, np.float32))]
    params += 2048 * 256 + 256 + 256 + 1
    nodes += [helper.make_node("Flatten", [src], ["flat"]),
              helper.make_node("Gemm", ["flat", "fw1", "fb1"], ["h1"]),
              helper.make_node("Relu", ["h1"], ["h1r"]),
              helper.make_node("Gemm", ["h1r", "fw2", "fb2"], ["logit"]),
              helper.make_node("Sigmoid", ["logit"], ["score"])]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 32, 32, 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    contract = detector_contract(name, grid=None)
    contract["card"] = dict(contract["card"], summary="Untrained CNN with fixed random weights: benchmark "
                            "stand-in with the compute cost of a CIFAKE CNN. Its scores mean nothing.",
                            params=params)
    return _save(model, path, contract)


def build_generator(path: Path, name: str = "tiny-generator", latent_dim: int = 16,
                    classes: int = 10, card: dict[str, Any] | None = None) -> Path:
    """z[N, latent_dim] + label[N] int64 -> image[N, 32, 32, 3] in [-1, 1] (tanh), deterministic."""
    rng = np.random.default_rng(1)
    pixels = 32 * 32 * 3
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["z", "w"], ["zw"]),
         helper.make_node("Gather", ["embed", "label"], ["e"], axis=0),
         helper.make_node("Add", ["zw", "e"], ["h"]),
         helper.make_node("Tanh", ["h"], ["flat"]),
         helper.make_node("Reshape", ["flat", "shape"], ["image"])],
        "tiny_generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 32, 32, 3])],
        initializer=[_const("w", (rng.standard_normal((latent_dim, pixels)) * 0.5).astype(np.float32)),
                     _const("embed", rng.standard_normal((classes, pixels)).astype(np.float32) * 0.5),
                     _const("shape", np.array([-1, 32, 32, 3], np.int64))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    labels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"][:classes]
    contract = {
        "contract_version": 1, "name": name, "kind": "generator", "title": "Tiny test generator",
        "inputs": {"latent": {"name": "z", "dim": latent_dim}, "label": {"name": "label", "dtype": "int64"}},
        "outputs": {"image": {"name": "image", "layout": "NHWC", "height": 32, "width": 32, "channels": 3,
                              "value_range": [-1, 1], "shape": [None, 32, 32, 3]}},
        "labels": labels,
        "card": {"summary": "Linear map + tanh with fixed weights; for tests only.", "params": 0, **(card or {})},
    }
    return _save(model, path, contract)


def build_discriminator(path: Path, name: str = "tiny-discriminator") -> Path:
    """image[N, 32, 32, 3] in [-1, 1] -> score[N, 1] = P(real) = sigmoid(4 * mean pixel)."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
         helper.make_node("ReduceMean", ["flat"], ["m"], axes=[1], keepdims=1),
         helper.make_node("Mul", ["m", "gain"], ["logit"]),
         helper.make_node("Sigmoid", ["logit"], ["score"])],
        "tiny_discriminator",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 32, 32, 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=[_const("flat_shape", np.array([0, -1], np.int64)), _const("gain", np.array(4.0, np.float32))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    contract = {
        "contract_version": 1, "name": name, "kind": "discriminator", "title": "Tiny test discriminator",
        "input": {"name": "image", "layout": "NHWC", "height": 32, "width": 32, "channels": 3,
                  "dtype": "float32", "color": "RGB", "value_range": [-1, 1]},
        "outputs": {"score": {"name": "score", "meaning": "probability that the input is real",
                              "shape": [None, 1]}},
        "labels": ["fake", "real"],
        "card": {"summary": "sigmoid(4 * mean pixel); for tests only.", "params": 0},
    }
    return _save(model, path, contract)
