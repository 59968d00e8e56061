"""Take a shipped CIFAKE ensemble apart: each member network of an exported `cifake-cnn` graph (mean of members,
maximum with experts, mirror-averaged, temperature-scaled; training/detector/calibrate.py) written as a standalone
detector ONNX (image -> score = sigmoid(member logit)), and checked by putting them back together.

Why: the Keras members a shipped ensemble was finished from live outside the repository and can be lost (session 11
lost `cnn-seed1-ema` and `gan-expert3`). A member extracted here is a model of the detector's own architecture, so
`pixelpatrol-train cifake-cnn --epochs 0 --set init_from=MEMBER.onnx --out RUN` makes a Keras checkpoint of it again
(warm start, with its parity check) for `ensemble_with` / `experts_with` of a new finish.

    python scripts/ensemble_members.py onnx_models/cifake-cnn.onnx --out /work/data/members \
        --images /work/shared/data/cifake_train_REAL.zip

The check: on the sample images, the shipped score must equal sigmoid(mean over the image and its mirror of
max(mean(members), experts + offset) / T) for one T (fitted from the two, reported) within 1e-4.
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

# A member's scope in the graph: ".../ensemble_N/member_i_1/" and, nested (the mean inside the maximum),
# ".../ensemble_N/member_i_1/member_j_1/"; one scope per member and pass (the image, its mirror image)
_SCOPE = re.compile(r"^(.*?/ensemble_\d+/(?:member_\d+_1/)+)")


def _sample(zip_path: Path, n: int) -> np.ndarray:
    from PIL import Image

    with zipfile.ZipFile(zip_path) as z:
        names = sorted(m for m in z.namelist() if m.lower().endswith((".jpg", ".jpeg", ".png")))[:n]
        return np.stack([np.asarray(Image.open(io.BytesIO(z.read(m))).convert("RGB").resize((32, 32)), np.float32)
                         for m in names])


def _member_logits(graph: Any) -> dict[str, str]:
    """{member path: its logit tensor} for the innermost member scopes of the unflipped pass, in name order: the
    output of the member's logit layer that the combination reads (an expert's with its offset added)."""
    scopes: dict[str, list[Any]] = {}
    for node in graph.node:
        m = _SCOPE.match(node.name)
        if m:
            tokens = m.group(1).rstrip("/").split("/")
            first = next(i for i, t in enumerate(tokens) if t.startswith("member_"))
            for end in range(first + 1, len(tokens) + 1):  # every enclosing member scope, "/"-terminated
                scopes.setdefault("/".join(tokens[:end]) + "/", []).append(node)
    leaves = {s: nodes for s, nodes in scopes.items() if not any(t != s and t.startswith(s) for t in scopes)}
    found: dict[str, str] = {}
    for scope, nodes in sorted(leaves.items()):
        inside = {id(n) for n in nodes}
        read_outside = {i for n in graph.node if id(n) not in inside for i in n.input}
        # the member's logit layer ("logit_1/…": its MatMul, bias Add, an expert's offset add) that the
        # combination reads; tf2onnx also shares weights between the passes across scopes, hence the name
        ends = [o for n in nodes if "logit_1/" in n.name[len(scope):] for o in n.output if o in read_outside]
        if not ends:
            raise ValueError(f"{scope}: no logit leaves the member")
        logit = ends[-1]  # the last in graph (topological) order
        if not _mirrored(graph, logit):
            found[scope.split("/ensemble_", 1)[1].split("/", 1)[1]] = logit
    return found


def _mirrored(graph: Any, output: str) -> bool:
    """Whether `output` depends on the graph's mirror (ReverseSequence) node."""
    producers = {o: node for node in graph.node for o in node.output}
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


def _standalone(src: Path, logit: str, dest: Path) -> bytes:
    """Write the member as a detector (image -> score); return it with the logit as output, for the check."""
    import onnx
    import onnx.utils
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    onnx.utils.extract_model(str(src), str(dest), [model.graph.input[0].name], [logit])
    part = onnx.load(str(dest))
    raw: bytes = part.SerializeToString()
    part.graph.node.append(helper.make_node("Sigmoid", [logit], ["score"]))
    del part.graph.output[:]
    part.graph.output.append(helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1]))
    onnx.save(part, str(dest))
    return raw


def main(argv: list[str] | None = None) -> int:
    import onnx
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the member ONNX files")
    parser.add_argument("--images", type=Path, required=True, help="a zip of images for the check (32x32 used)")
    parser.add_argument("--count", type=int, default=512)
    args = parser.parse_args(argv)
    if not args.model.is_file() or not args.images.is_file():
        print(f"ensemble_members: {args.model if not args.model.is_file() else args.images}: no such file",
              file=sys.stderr)
        return 2
    graph = onnx.load(str(args.model)).graph
    found = _member_logits(graph)
    members = [p for p in found if p.count("member_") > 1]  # inside the mean
    experts = [p for p in found if p.count("member_") == 1]  # beside it, in the maximum
    if not members:
        print(f"ensemble_members: {args.model}: no ensemble members found (not an ensemble graph?)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    x = _sample(args.images, args.count)
    logits = {}
    for kind, paths in (("member", members), ("expert", experts)):
        for i, p in enumerate(paths):
            dest = args.out / f"{args.model.stem}-{kind}{i}.onnx"
            s = ort.InferenceSession(_standalone(args.model, found[p], dest), providers=["CPUExecutionProvider"])
            both = [s.run(None, {s.get_inputs()[0].name: v})[0][:, 0].astype(np.float64)
                    for v in (x, x[:, :, ::-1].copy())]
            logits[(kind, i)] = both  # an expert's logit carries its offset
            print(f"{dest}: {kind} {i} ({p.rstrip('/')}), mean score {np.mean(1 / (1 + np.exp(-both[0]))):.4f}")
    shipped = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    score = shipped.run(["score"], {shipped.get_inputs()[0].name: x})[0][:, 0].astype(np.float64)
    passes = []
    for view in (0, 1):
        z = np.mean([logits[("member", i)][view] for i in range(len(members))], axis=0)
        for i in range(len(experts)):
            z = np.maximum(z, logits[("expert", i)][view])
        passes.append(z)
    z = np.mean(passes, axis=0)
    keep = (score > 1e-6) & (score < 1 - 1e-6)  # where the score's logit is not lost to float32 rounding
    target = np.log(score[keep] / (1 - score[keep]))
    # least squares: target = z / T + b (b is 0 unless calibrated with each class weighing half)
    (a, b), *_ = np.linalg.lstsq(np.stack([z[keep], np.ones(int(keep.sum()))], axis=1), target, rcond=None)
    diff = float(np.abs(1 / (1 + np.exp(-(z * a + b))) - score).max())
    print(f"recombined: temperature {1 / a:.4f}, bias {b:+.4f}, max |score difference| {diff:.2g} on {len(x)} images")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
