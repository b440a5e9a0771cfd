"""Presets: shared, partial answers from untrusted folders."""
