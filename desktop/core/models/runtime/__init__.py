"""onnxruntime and what can be known about a model file without it: sessions and the device they run on
(`device`), and the facts onnxruntime once read from a model file, kept by (path, size, mtime)
(`model_index`). onnxruntime and numpy are imported only when a session is really made."""
