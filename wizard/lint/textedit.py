"""Line edits on a YAML text, addressed by key path: rename, set a value, delete, insert.

`check --fix` edits the text rather than re-dumping the data, so the user's comments, order and
quoting survive. An edit applies only where the key's line is plain block style (`key: value`,
maybe after `- `, maybe with a comment); anything fancier (flow mappings, multi-line scalars
being replaced) is refused and left for the person. Edits are applied bottom-up, so the line
numbers of the ones still to apply stay valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from wizard.lint.findings import KeyPath
from wizard.lint.positions import Located

EditKind = Literal["rename", "set", "delete", "insert"]


@dataclass(frozen=True)
class Edit:
    """`rename` path's key to `new_key` (and its value to `value` when given); `set` its value;
    `delete` its block; `insert` `lines` (a mapping of new keys) after its block, as siblings."""

    kind: EditKind
    path: KeyPath
    new_key: str | None = None
    value: str | None = None
    lines: dict[str, Any] | None = None


def _line_re(key: str) -> re.Pattern[str]:
    return re.compile(rf"({re.escape(key)})(\s*:)([ \t]*)([^#\n]*?)([ \t]*#.*)?(\r?\n)?$")


def yaml_scalar(value: Any) -> str:
    """A value as it reads on the right of `key: ` (flow style, one line)."""
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True
    )
    return text.removesuffix("\n...\n").strip()


def block_lines(mapping: dict[str, Any], indent: int) -> list[str]:
    """`mapping` as block YAML, each line indented by `indent`; nested mappings as blocks,
    lists and scalars on one line (the way people write `roles:`)."""
    out = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            out.append(" " * indent + f"{key}:\n")
            out += block_lines(value, indent + 2)
        else:
            out.append(" " * indent + f"{key}: {yaml_scalar(value)}\n")
    return out


class TextEditor:
    def __init__(self, text: str, located: Located) -> None:
        self.lines = text.splitlines(keepends=True)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += "\n"
        self.located = located

    def text(self) -> str:
        return "".join(self.lines)

    def line_of(self, path: KeyPath) -> int | None:
        pos = self.located.positions.get(path)
        return pos.line if pos else None

    def can_apply(self, edit: Edit) -> bool:
        pos = self.located.positions.get(edit.path)
        if pos is None:
            return False
        line, col = self.lines[pos.line - 1], pos.col - 1
        if "{" in line[:col] or _line_re(str(edit.path[-1])).match(line, col) is None:
            return False
        # The key after `- ` carries the item: deleting it needs a person.
        starts_item = line[:col].strip() != ""
        return not (edit.kind == "delete" and starts_item)

    def _block_end(self, line: int) -> int:
        """The last line (1-based) of the key on `line` and its nested block."""
        indent = self._key_col(line)
        end = line
        for index in range(line, len(self.lines)):
            text = self.lines[index]
            stripped = text.strip()
            if not stripped:
                continue
            lead = len(text) - len(text.lstrip(" "))
            if lead <= indent:
                break
            end = index + 1
        return end

    def _key_col(self, line: int) -> int:
        cols = [p.col - 1 for path, p in self.located.positions.items() if p.line == line]
        return max(cols) if cols else 0

    def apply(self, edits: list[Edit]) -> list[Edit]:
        """Apply every edit that can be; returns those applied. Call once per instance."""
        ready = [e for e in edits if self.can_apply(e)]
        # Bottom-up; on one line, an insert (below the key) before the edit of the key itself.
        order = sorted(
            ready,
            key=lambda e: (self.located.positions[e.path].line, e.kind == "insert"),
            reverse=True,
        )
        for edit in order:
            self._apply_one(edit)
        return ready

    def _apply_one(self, edit: Edit) -> None:
        pos = self.located.positions[edit.path]
        index, col = pos.line - 1, pos.col - 1
        if edit.kind == "insert":
            end = self._block_end(pos.line)
            self.lines[end:end] = block_lines(edit.lines or {}, col)
        elif edit.kind == "delete":
            del self.lines[index : self._block_end(pos.line)]
        else:
            self.lines[index] = self._rewrite(self.lines[index], col, edit)
            if edit.value is not None:
                del self.lines[index + 1 : self._block_end(pos.line)]

    @staticmethod
    def _rewrite(line: str, col: int, edit: Edit) -> str:
        match = _line_re(str(edit.path[-1])).match(line, col)
        assert match is not None  # can_apply checked it
        key = edit.new_key if edit.kind == "rename" and edit.new_key else match.group(1)
        value = match.group(4) if edit.value is None else edit.value
        space = match.group(3) or (" " if value else "")
        tail = (match.group(5) or "") + (match.group(6) or "")
        return f"{line[:col]}{key}{match.group(2)}{space}{value}{tail}"
