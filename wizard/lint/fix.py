"""`check --fix`: apply the mechanical fixes (renames) to a copy of the YAML text.

Editing the text, not re-dumping the data, keeps the user's comments, order and quoting. Only a
key whose line reads `key: value` (optionally with a comment) is touched; anything fancier is
left for the person, and reported as not applied.
"""

from __future__ import annotations

import re
from pathlib import Path

from wizard.lint.findings import Finding, Rename
from wizard.lint.positions import Located


def fixed_path(path: Path) -> Path:
    """`axolotl.yml` -> `axolotl.fixed.yml`, next to the original."""
    return path.with_name(f"{path.stem}.fixed{path.suffix or '.yml'}")


def apply_renames(
    text: str, findings: list[Finding], located: Located
) -> tuple[str, list[Finding], list[Finding]]:
    """The migrated text, the findings applied, and those with a rename that could not be."""
    lines = text.splitlines(keepends=True)
    applied: list[Finding] = []
    skipped: list[Finding] = []
    for finding in findings:
        rename = finding.rename
        pos = located.positions.get(rename.path) if rename else None
        if rename is None or pos is None:
            continue
        sibling = (*rename.path[:-1], rename.new_key)
        clash = rename.new_key != rename.path[-1] and sibling in located.positions
        new_line = None if clash else _edit(lines[pos.line - 1], pos.col - 1, rename)
        if new_line is None:
            skipped.append(finding)
        else:
            lines[pos.line - 1] = new_line
            applied.append(finding)
    return "".join(lines), applied, skipped


def _edit(line: str, col: int, rename: Rename) -> str | None:
    old = str(rename.path[-1])
    match = re.compile(rf"({re.escape(old)})(\s*:)([ \t]*)([^#\n]*?)([ \t]*#.*)?(\r?\n)?$").match(
        line, col
    )
    if match is None:
        return None
    value = match.group(4) if rename.new_value is None else rename.new_value
    space = match.group(3) or (" " if value else "")
    tail = (match.group(5) or "") + (match.group(6) or "")
    return f"{line[:col]}{rename.new_key}{match.group(2)}{space}{value}{tail}"
