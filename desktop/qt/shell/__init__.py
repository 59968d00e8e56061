"""The app's frame: entry point, main window, settings, status banner, shared verdict colours, warm-up."""
