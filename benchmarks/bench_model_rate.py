"""Network-only rate of one model against a reference model, the two interleaved in one process.

    .venv/bin/python benchmarks/bench_model_rate.py MODEL.onnx --reference OLD.onnx [--images 4096] [--batch 256]
        [--rounds 5] [--threads 2]

Both are run in onnxruntime on the CPU on the same random images at the model's own input size (no decode, no
verdicts), round by round in turn (the order alternating), so that load from anything else on the machine falls on both alike. Prints
images/s per round, the medians and the ratio model ÷ reference: the figure to quote, not the absolute rates.
Session 15 used it for `cifake-cnn` v12 against v11 (`git show 6a50f8e:onnx_models/cifake-cnn.onnx`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def session(path: str, threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def images_for(sess, count: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    shape = sess.get_inputs()[0].shape  # NHWC or NCHW with a free batch dimension
    dims = [d if isinstance(d, int) else 1 for d in shape[1:]]
    return np.random.default_rng(0).integers(0, 256, (count, *dims)).astype(np.float32)


def rate(sess, images: np.ndarray, batch: int) -> float:  # type: ignore[no-untyped-def]
    name = sess.get_inputs()[0].name
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        sess.run(None, {name: images[i:i + batch]})
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--reference", required=True)
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sessions = {"reference": session(args.reference, args.threads), "model": session(args.model, args.threads)}
    data = {k: images_for(s, args.images) for k, s in sessions.items()}
    for k, s in sessions.items():
        rate(s, data[k][: args.batch], args.batch)  # first-call costs out of the figures
    rates: dict[str, list[float]] = {k: [] for k in sessions}
    for r in range(args.rounds):
        order = list(sessions) if r % 2 == 0 else list(reversed(sessions))  # neither always goes first
        for k in order:
            rates[k].append(rate(sessions[k], data[k], args.batch))
    medians = {k: statistics.median(v) for k, v in rates.items()}
    for k in sessions:
        print(f"{k}: {', '.join(f'{r:.0f}' for r in rates[k])} images/s; median {medians[k]:.0f}")
    print(f"model / reference: {medians['model'] / medians['reference']:.2f}x")


if __name__ == "__main__":
    main()
