"""The model contract's place in an ONNX file (the schema itself: docs/model-contract.md)."""

from __future__ import annotations

# The metadata_props key whose value is the contract, as JSON.
CONTRACT_KEY = "pixelpatrol"
