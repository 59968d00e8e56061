"""Shipping a model, one path for every kind: the ONNX writer with the contract check and parity
(`onnx.py`), evaluation (`evaluate.py`), plots, the card renderer and provenance."""
