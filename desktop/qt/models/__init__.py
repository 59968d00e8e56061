"""The Models tab and the model list every tab picks from (bundled and user models, devices)."""
