"""What the app (`desktop`) and the trainer (`training`) both speak, defined once.

Standard library only: both sides import it, and neither may import the other (import-linter
contracts in pyproject.toml). It holds names, lists and the contract schema, nothing that needs more than the standard library:

- :mod:`spec.contract` — the model contract: the ONNX metadata key it lives under and its types;
- :mod:`spec.contract_parse` — the strict parser and the check against a graph, which the app runs on every
  model it loads and the trainer on every contract it writes;
- :mod:`spec.images` — the image file extensions the scan and the trainer read;
- :mod:`spec.metrics` — the metrics stream (``metrics.jsonl``): version, event names, fields;
- :mod:`spec.recipes` — the recipe catalogue: names, titles and one-line summaries.
"""
