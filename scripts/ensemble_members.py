"""Take a shipped CIFAKE ensemble apart: each member network of an exported `cifake-cnn` or `cifake-patchgan` graph
(mean of members, maximum with experts, mirror-averaged, temperature-scaled; training/detector/calibrate.py) written
as a standalone detector ONNX (image -> score = sigmoid(member logit); a PatchGAN member as its recipe gives it,
score and patch_map), and checked by putting them back together.

Why: the Keras members a shipped ensemble was finished from live outside the repository and can be lost (session 11
lost `cnn-seed1-ema` and `gan-expert3`; session 19 started on a machine without any of them). A member extracted here
is a model of the detector's own architecture, so `pixelpatrol-train cifake-cnn --epochs 0 --set init_from=MEMBER.onnx
--out RUN` (or `cifake-patchgan` for a PatchGAN member) makes a Keras checkpoint of it again (warm start, with its
parity check) for `ensemble_with` / `experts_with` of a new finish.

    python scripts/ensemble_members.py onnx_models/cifake-cnn.onnx --out /work/data/members \
        --images /work/shared/data/cifake_train_REAL.zip [--expert-offset -2]

`--expert-offset`: the experts' offset as the card gives it; taken out of each expert file (its logit's bias), so a
warm start gets the expert as trained and a finish with `experts_offset` adds it back. Without it the expert file
scores with the offset in.

The check: on the sample images, the shipped score (a patch map's cells, for a graph that ends in a map) must equal
sigmoid(mean over the image and its mirror of max(mean(members), experts + offset) / T + b) for one T and b (fitted
from the two, reported) within 1e-4; a PatchGAN member joined to a whole-image model first enters the mean as the
logit of its score.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# The top of one pass's combination: ".../ensemble_N/logit_1/Maximum" (members' mean joined to experts) or
# ".../ensemble_N/logit_1/truediv" (a mean alone); a nested mean is ".../member_i_1/logit_1/truediv"
_TOP = re.compile(r"^[^/]+/ensemble_\d+/logit_1/(Maximum|truediv)$")
_PASS_THROUGH = {"Reshape", "Transpose", "Unsqueeze", "Identity"}  # the broadcast of an image logit over patches


def _sample(zip_path: Path, n: int) -> np.ndarray:
    from PIL import Image

    with zipfile.ZipFile(zip_path) as z:
        names = sorted(m for m in z.namelist() if m.lower().endswith((".jpg", ".jpeg", ".png")))[:n]
        return np.stack([np.asarray(Image.open(io.BytesIO(z.read(m))).convert("RGB").resize((32, 32)), np.float32)
                         for m in names])


def _member_logits(graph: Any) -> tuple[list[str], list[str]]:
    """(members, experts): the logit tensors of the unflipped pass, members in the mean in graph order, experts
    beside it in the maximum (each expert's with its offset added). A member's logit is one number per image, or
    a patch model's logit map (a Conv output)."""
    producers = {o: node for node in graph.node for o in node.output}

    def source(name: str) -> str:
        node = producers.get(name)
        while node is not None and node.op_type in _PASS_THROUGH:
            name = node.input[0]
            node = producers.get(name)
        return name

    def unscored(name: str) -> str:
        """A PatchGAN member joined by its score's logit (a ``…_score_logit`` layer): its logit map instead."""
        node = producers.get(name)
        if node is None or "_score_logit" not in node.name:
            return name
        scope = node.name.split("_score_logit", 1)[0]
        inside = [n for n in graph.node if n.name.startswith(scope + "_score_logit")]
        entering = {i for n in inside for i in n.input
                    if i in producers and not producers[i].name.startswith(scope + "_score_logit")}
        if len(entering) != 1:
            raise ValueError(f"{scope}: {len(entering)} tensors enter its score logit, expected the one map")
        return source(entering.pop())

    def in_mean(name: str) -> list[str]:
        node = producers.get(name)
        if node is not None and node.op_type == "Mul" and node.name.endswith("logit_1/truediv"):
            total = producers[node.input[0]]  # the members' sum: Add (two members) or Sum (more)
            return [unscored(source(i)) for i in total.input]
        return [unscored(source(name))]

    for top in (n for n in graph.node if _TOP.match(n.name)):
        if _mirrored(producers, top.output[0]):
            continue
        if top.op_type == "Max":
            return in_mean(top.input[0]), [source(i) for i in top.input[1:]]
        return in_mean(top.output[0]), []
    return [], []


def _mirrored(producers: dict[str, Any], output: str) -> bool:
    """Whether `output` depends on the graph's mirror (ReverseSequence) node; ``producers``: each tensor's node."""
    todo, seen = [output], set()
    while todo:
        name = todo.pop()
        node = producers.get(name)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type == "ReverseSequence":
            return True
        todo.extend(node.input)
    return False


def _standalone(src: Path, logit: str, dest: Path, offset: float = 0.0) -> bytes:
    """Write the member as a detector: image -> ``score`` = sigmoid(logit), or for a logit map (NCHW, as the
    export leaves a Conv) ``score`` = the mean patch probability and ``patch_map`` [N, rows, cols, 1], as the
    PatchGAN recipe's model gives them. ``offset`` (an expert's, as its card gives it) is taken out of the bias
    of the logit's Add, so that a warm start gets the expert as it was trained. Returns the member with its raw
    logit as output, for the check."""
    import onnx
    import onnx.shape_inference
    import onnx.utils
    from onnx import TensorProto, helper, numpy_helper

    onnx.utils.extract_model(str(src), str(dest), [onnx.load(str(src)).graph.input[0].name], [logit])
    part = onnx.load(str(dest))
    if offset:
        adds = [n for n in part.graph.node if logit in n.output and n.op_type == "Add"]
        inits = {t.name: t for t in part.graph.initializer}
        bias = [inits[i] for n in adds for i in n.input if i in inits]
        if len(bias) != 1:
            raise ValueError(f"{logit}: no bias to take the expert's offset out of")
        bias[0].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias[0]) - np.float32(offset), bias[0].name))
    raw: bytes = part.SerializeToString()
    inferred = onnx.shape_inference.infer_shapes(part).graph.output[0].type.tensor_type
    if not inferred.HasField("shape"):
        raise ValueError(f"{logit}: its rank is not known, so not whether it is a patch map")
    is_map = len(inferred.shape.dim) == 4
    del part.graph.output[:]
    if not is_map:
        part.graph.node.append(helper.make_node("Sigmoid", [logit], ["score"]))
        part.graph.output.append(helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1]))
    else:
        part.graph.node.extend([
            helper.make_node("Sigmoid", [logit], ["member_probabilities"]),
            helper.make_node("Transpose", ["member_probabilities"], ["patch_map"], perm=[0, 2, 3, 1]),
            helper.make_node("Flatten", ["member_probabilities"], ["member_flat"], axis=1),
            helper.make_node("ReduceMean", ["member_flat"], ["score"], axes=[1], keepdims=1),
        ])
        part.graph.output.extend([helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1]),
                                  helper.make_tensor_value_info("patch_map", TensorProto.FLOAT, None)])
    onnx.save(part, str(dest))
    return raw


def _views(session: Any, x: np.ndarray) -> list[np.ndarray]:
    """A member's raw logits on the images and on their mirror images, [N, cells] each: one cell, or the patches
    of a map in raster order, the mirror image's flipped back to line up."""
    out = []
    for mirror in (False, True):
        z = session.run(None, {session.get_inputs()[0].name: x[:, :, ::-1].copy() if mirror else x})[0]
        z = np.asarray(z, np.float64)
        if z.ndim == 4:  # NCHW
            z = z[:, 0, :, ::-1] if mirror else z[:, 0]
        out.append(z.reshape(len(x), -1))
    return out


def _score_logit(z: np.ndarray) -> np.ndarray:
    """[N, cells] -> [N, 1]: the logit of the mean patch probability (a patch member joined to a whole-image
    model first; training/detector/calibrate.py)."""
    p = (1 / (1 + np.exp(-z))).mean(axis=1, keepdims=True)
    return np.asarray(np.log(p) - np.log1p(-p))


def main(argv: list[str] | None = None) -> int:
    import onnx
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the member ONNX files")
    parser.add_argument("--images", type=Path, required=True, help="a zip of images for the check (32x32 used)")
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--expert-offset", type=float, default=0.0,
                        help="the experts' offset as the card gives it (e.g. -2): taken out of each expert file, so a "
                        "warm start gets the expert as trained and a finish adds it back (default: left in)")
    args = parser.parse_args(argv)
    if not args.model.is_file() or not args.images.is_file():
        print(f"ensemble_members: {args.model if not args.model.is_file() else args.images}: no such file",
              file=sys.stderr)
        return 2
    graph = onnx.load(str(args.model)).graph
    members, experts = _member_logits(graph)
    if not members or (len(members) < 2 and not experts):
        print(f"ensemble_members: {args.model}: no ensemble members found (not an ensemble graph?)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    x = _sample(args.images, args.count)
    logits: dict[tuple[str, int], list[np.ndarray]] = {}
    for kind, names in (("member", members), ("expert", experts)):
        for i, name in enumerate(names):
            dest = args.out / f"{args.model.stem}-{kind}{i}.onnx"
            offset = args.expert_offset if kind == "expert" else 0.0
            s = ort.InferenceSession(_standalone(args.model, name, dest, offset), providers=["CPUExecutionProvider"])
            logits[(kind, i)] = [v + offset for v in _views(s, x)]  # an expert's logit with its offset, as joined
            print(f"{dest}: {kind} {i} ({name}), {logits[(kind, i)][0].shape[1]} cell(s), mean score "
                  f"{np.mean(1 / (1 + np.exp(-logits[(kind, i)][0]))):.4f}")
    shipped = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    as_map = logits[("member", 0)][0].shape[1] > 1  # a patch model first: the combination is a logit map
    out_name = "patch_map" if as_map else "score"
    score = np.asarray(shipped.run([out_name], {shipped.get_inputs()[0].name: x})[0], np.float64).reshape(len(x), -1)
    passes = []
    for view in (0, 1):
        parts = [logits[("member", i)][view] for i in range(len(members))]
        if not as_map:
            parts = [p if p.shape[1] == 1 else _score_logit(p) for p in parts]
        z = np.mean(np.broadcast_arrays(*parts), axis=0)
        for i in range(len(experts)):
            z = np.maximum(z, logits[("expert", i)][view])
        passes.append(z)
    z = np.mean(passes, axis=0).reshape(-1)
    score = score.reshape(-1)
    keep = (score > 1e-4) & (score < 1 - 1e-4)  # where float32 rounding of the score barely moves its logit
    target = np.log(score[keep] / (1 - score[keep]))
    # least squares: target = z / T + b (b is 0 unless calibrated with each class weighing half)
    (a, b), *_ = np.linalg.lstsq(np.stack([z[keep], np.ones(int(keep.sum()))], axis=1), target, rcond=None)
    diff = float(np.abs(1 / (1 + np.exp(-(z * a + b))) - score).max())
    print(f"recombined ({out_name}): temperature {1 / a:.4f}, bias {b:+.4f}, max |difference| {diff:.2g} on "
          f"{len(x)} images")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
