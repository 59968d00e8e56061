"""Set top-level fields of a shipped model's contract (e.g. `domain`, `trust`) without retraining.

    .venv/bin/python scripts/set_contract_fields.py MODEL.onnx '{"domain": {...}, "trust": {...}}'

The graph is untouched; the contract is re-validated by the app's own parser before the file is replaced.
Used in session 7 to give `cifake-cnn` the domain and trust that routing reads (docs/verdicts.md).
"""

import json
import sys
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from desktop.core.models.contract import contract_from_dict
from spec.contract import CONTRACT_KEY

path, fields = Path(sys.argv[1]), json.loads(sys.argv[2])
m = onnx.load(str(path), load_external_data=False)
entry = next(p for p in m.metadata_props if p.key == CONTRACT_KEY)
contract = json.loads(entry.value)
contract.update(fields)
contract_from_dict(contract)  # refuses nonsense with one line
entry.value = json.dumps(contract, allow_nan=False)
tmp = path.with_name(path.name + ".tmp")
onnx.save(m, str(tmp))
tmp.replace(path)
print(f"{path}: set {', '.join(fields)}")
