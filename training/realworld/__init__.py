"""The real-world detector: photos, art and screenshots against modern AI images, at native resolution.

- :mod:`training.realworld.views` — the one training-side definition of what the network sees (native crops
  and one whole-image view) and the augmentation that removes format/size/compression shortcuts;
- :mod:`training.realworld.pack` — a manifest of labelled images -> a compact uint8 file of views + splits;
- :mod:`training.realworld.net` — the NPR-style residual CNN;
- :mod:`training.realworld.train` — training with checkpoints and ``--resume``, calibration, export.
"""
