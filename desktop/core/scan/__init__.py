"""The scan: walking folders, decoding, provenance evidence, verdicts, the engine (local and Ray), the
result store, events and rows, export, and acting on results (copy/move, undo)."""
