"""Models: their contract, loading them on a device, the bundled and user catalogue, adding and
removing them, routing images to the detector made for them, and generators."""
