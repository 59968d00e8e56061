"""The Training tab: start, stop, resume and follow runs; live curves (desktop app part 2)."""
