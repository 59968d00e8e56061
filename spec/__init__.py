"""What the app (`desktop`) and the trainer (`training`) both speak, defined once.

Standard library only: both sides import it, and neither may import the other (import-linter
contracts in pyproject.toml). It holds names and lists, no behaviour:

- :mod:`spec.contract` — the ONNX metadata key under which a model carries its contract;
- :mod:`spec.images` — the image file extensions the scan and the trainer read;
- :mod:`spec.metrics` — the metrics stream (``metrics.jsonl``): version, event names, fields;
- :mod:`spec.recipes` — the recipe catalogue: names, titles and one-line summaries.
"""
