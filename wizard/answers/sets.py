"""`--set KEY=VALUE`: the answers given on the command line, as one layer."""

from __future__ import annotations

import yaml

from wizard.answers.layers import Layer, LayerKind, check_layer
from wizard.errors import UsageError
from wizard.terminal import shown
from wizard.yamlio import check_shape, safe_load


def parse_sets(items: list[str]) -> Layer:
    """Split at the first `=`; the value is read as YAML (so 8 is a number), bounded like a
    file, and taken as the literal text when it is not YAML (say `a: b: c`)."""
    layer = Layer("--set", kind=LayerKind.SET)
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {shown(item)} is not KEY=VALUE", "e.g. --set training.seed=7")
        try:
            check_shape(text, f"--set {key}")
            value = safe_load(text)
        except yaml.YAMLError:
            value = text
        layer.set(key, value)
    check_layer(layer, "--set")
    return layer
