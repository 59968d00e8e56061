"""Re-render a shipped detector's card from its run directory, adding the held-out-threshold estimate
computed from the run's saved validation scores (no retraining, no re-export).

    .venv/bin/python scripts/rerender_card.py RUN_DIR NAME onnx_models

Used in session 4 for cifake-patchgan and noise-discriminator, trained before the estimate existed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spec.contract import CONTRACT_KEY
from training.ship.card import write_card
from training.ship.evaluate import threshold_held_out

run, name, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
m = onnx.load(str(out / f"{name}.onnx"), load_external_data=False)
contract = json.loads({p.key: p.value for p in m.metadata_props}[CONTRACT_KEY])
evaluation = json.loads((run / "evaluation.json").read_text())
d = np.load(run / "val_scores.npz")
seed = json.loads((run / "config.json").read_text())["args"].get("seed") or 0  # training.cli stores the parsed args
evaluation["threshold_held_out"] = threshold_held_out(d["labels"], d["scores"], seed=seed)
(run / "evaluation.json").write_text(json.dumps(evaluation, indent=2, default=float))
write_card(out / f"{name}.md", contract, evaluation, [f"{name}-{p}.png" for p in ("history", "roc", "confusion")])
print(name, evaluation["threshold_held_out"])
