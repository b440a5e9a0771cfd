"""Load YAML keeping where every key and list item sits, so findings can say `file:line:col`.

PyYAML's `safe_load` throws the marks away. We compose the node tree once, construct the data from
it with the same SafeLoader (so values are exactly what Axolotl's `yaml.safe_load` sees), and walk
both together to record a 1-based (line, col) for each key path. Duplicate keys, which YAML
silently resolves to the last one, are recorded too: that is a mistake Axolotl never reports.
"""

from __future__ import annotations

from typing import Any

import yaml

from wizard.lint.findings import KeyPath
from wizard.records import Record
from wizard.yamlio import SAFE_LOADER, check_shape, syntax_error


class Pos(Record):
    line: int
    col: int


class Located(Record):
    """The parsed document, the position of each key path, and the duplicated keys."""

    data: Any
    positions: dict[KeyPath, Pos]
    duplicates: list[tuple[KeyPath, Pos, Pos]]

    def pos(self, path: KeyPath) -> Pos | None:
        """The position of `path`, or of its nearest ancestor that has one."""
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return None


def load_located(text: str, source: str) -> Located:
    """Parse `text`; a syntax error becomes the same one-line WizardError as `parse_yaml` gives.
    Nesting and alias expansion are bounded first (yamlio.check_shape), before the node tree is
    composed (composing recurses) and walked (a walk follows every alias)."""
    try:
        check_shape(text, source)
    except yaml.YAMLError as err:
        raise syntax_error(err, source) from None
    loader = SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        raise syntax_error(err, source) from None
    finally:
        loader.dispose()
    located = Located(data, {}, [])
    if node is not None:
        _walk(node, (), located)
    return located


def _mark(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: KeyPath, out: Located) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                out.duplicates.append((child, seen[key], _mark(key_node)))
            seen[key] = _mark(key_node)
            out.positions[child] = _mark(key_node)
            _walk(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out.positions[child] = _mark(item)
            _walk(item, child, out)
