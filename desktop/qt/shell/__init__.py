"""The app's frame: entry point, main window holding the tabs, About dialog, packaged assets, screenshots."""
