"""Reusable widgets of the console, each with its own DEFAULT_CSS."""
