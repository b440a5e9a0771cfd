"""Answers in layers, their keys, and the answers file a run folder keeps."""
