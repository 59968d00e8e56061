"""The Gallery tab: per-epoch sample grids of a run, and images made by a generator model."""
