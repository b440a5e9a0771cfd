"""RenderedConfig -> the YAML text a person reads: a header, then commented groups (pure)."""

from __future__ import annotations

from typing import Any

from wizard.render.rendered import Entry, RenderedConfig
from wizard.yamlio import dump_yaml, safe_load


def config_text(rendered: RenderedConfig, header: list[str]) -> str:
    lines = [f"# {line}".rstrip() for line in header]
    for group in rendered.groups:
        lines += ["", f"# --- {group.title} ---"]
        for entry in group.entries:
            lines += _entry_lines(entry)
    text = "\n".join(lines) + "\n"
    _assert_round_trip(text, rendered.as_dict())
    return text


def _entry_lines(entry: Entry) -> list[str]:
    block = dump_yaml({entry.key: entry.value}).rstrip("\n").split("\n")
    if entry.comment:
        if len(block) == 1:
            block[0] += f"  # {entry.comment}"
        else:
            block.insert(0, f"# {entry.comment}")
    return block


def _assert_round_trip(text: str, expected: dict[str, Any]) -> None:
    # Comments are glued onto dumped lines by hand; make sure that never changes a value.
    if safe_load(text) != expected:
        raise AssertionError("rendered YAML does not read back as the config it was made from")
