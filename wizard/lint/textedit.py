"""Line edits on a YAML text, addressed by key path: rename, set a value, delete, insert.

`check --fix` edits the text rather than re-dumping the data, so the user's comments, order and
quoting survive. An edit applies only where the key's line is plain block style (`key: value`,
maybe after `- `, maybe with a comment); anything fancier (flow mappings, multi-line scalars
being replaced) is refused and left for the person. Edits are applied bottom-up, so the line
numbers of the ones still to apply stay valid. A key written twice is read by YAML as its last
occurrence: an edit of it also deletes the earlier ones, which never took effect and would take
effect once the last one is renamed or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from wizard.lint.findings import KeyPath
from wizard.lint.positions import Located, Pos

EditKind = Literal["rename", "set", "delete", "insert", "itemize"]


@dataclass(frozen=True)
class Edit:
    """`rename` path's key to `new_key` (and its value to `value` when given); `set` its value
    (`""`: null); `delete` its block; `insert` `lines` (a mapping of new keys) after its block,
    as siblings; `itemize` its block mapping into the one item of a list."""

    kind: EditKind
    path: KeyPath
    new_key: str | None = None
    value: str | None = None
    lines: dict[str, Any] | None = None


@dataclass(frozen=True)
class Change:
    """One fix as the person reads it (`what`, at `line`) and the edits that make it; a
    `decision` is listed, never made."""

    line: int | None
    what: str
    edits: tuple[Edit, ...] = ()
    decision: bool = False


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

    def can_apply(self, edit: Edit) -> bool:
        if edit.path not in self.located.positions:
            return False
        return all(self._fits(pos, step) for pos, step in self._steps(edit))

    def _fits(self, pos: Pos, edit: Edit) -> bool:
        line, col = self.lines[pos.line - 1], pos.col - 1
        if "{" in line[:col] or _line_re(str(edit.path[-1])).match(line, col) is None:
            return False
        # The key after `- ` carries the item: deleting it needs a person.
        starts_item = line[:col].strip() != ""
        if edit.kind == "itemize":
            return not starts_item and self._block_end(pos) > pos.line and not _inline(line, col)
        return not (edit.kind == "delete" and starts_item)

    def _steps(self, edit: Edit) -> list[tuple[Pos, Edit]]:
        """Where `edit` applies: its key, and for any edit but an insert, a delete of each
        earlier occurrence of a key written twice."""
        steps = [(self.located.positions[edit.path], edit)]
        if edit.kind != "insert":
            steps += [
                (first, Edit("delete", edit.path))
                for path, first, _ in self.located.duplicates
                if path == edit.path
            ]
        return steps

    def _block_end(self, pos: Pos) -> int:
        """The last line (1-based) of the key at `pos` and its nested block."""
        indent = pos.col - 1
        end = pos.line
        for index in range(pos.line, len(self.lines)):
            text = self.lines[index]
            stripped = text.strip()
            if not stripped:
                continue
            lead = len(text) - len(text.lstrip(" "))
            if lead <= indent:
                break
            end = index + 1
        return end

    def apply(self, edits: list[Edit]) -> list[Edit]:
        """Apply every edit that can be; returns those applied. Call once per instance."""
        ready = [e for e in edits if self.can_apply(e)]
        # Bottom-up; on one line, an insert (below the key) before the edit of the key itself.
        steps = sorted(
            (step for e in ready for step in self._steps(e)),
            key=lambda step: (step[0].line, step[1].kind == "insert"),
            reverse=True,
        )
        done: set[int] = set()
        for pos, edit in steps:
            if edit.kind == "delete" and pos.line in done:
                continue  # an earlier occurrence two edits both delete
            self._apply_one(pos, edit)
            done.add(pos.line)
        return ready

    def _apply_one(self, pos: Pos, edit: Edit) -> None:
        index, col = pos.line - 1, pos.col - 1
        if edit.kind == "insert":
            end = self._block_end(pos)
            self.lines[end:end] = block_lines(edit.lines or {}, col)
        elif edit.kind == "delete":
            del self.lines[index : self._block_end(pos)]
        elif edit.kind == "itemize":
            self._itemize(index + 1, self._block_end(pos))
        else:
            end = self._block_end(pos)
            self.lines[index] = self._rewrite(self.lines[index], col, edit)
            if edit.value is not None:
                del self.lines[index + 1 : end]

    def _itemize(self, start: int, end: int) -> None:
        """Lines [start, end) (0-based), a block mapping, become the one item of a list: `- `
        before its first key, the rest indented to match."""
        first = True
        for index in range(start, end):
            text = self.lines[index]
            lead = len(text) - len(text.lstrip(" "))
            if first and text.strip() and not text.lstrip().startswith("#"):
                self.lines[index] = f"{text[:lead]}- {text[lead:]}"
                first = False
            elif text.strip():
                self.lines[index] = f"  {text}"

    @staticmethod
    def _rewrite(line: str, col: int, edit: Edit) -> str:
        match = _line_re(str(edit.path[-1])).match(line, col)
        assert match is not None  # can_apply checked it
        key = edit.new_key if edit.kind == "rename" and edit.new_key else match.group(1)
        value = match.group(4) if edit.value is None else edit.value
        comment = match.group(5) or ""
        # A space after the colon before a value or a `#` (`key: # c`), none before `key:  # c`;
        # a `#` right after a value would be part of it.
        spaced = bool(value) or comment[:1] == "#"
        space = (match.group(3) or " ") if spaced else ""
        if value and comment[:1] == "#":
            comment = " " + comment
        tail = comment + (match.group(6) or "")
        return f"{line[:col]}{key}{match.group(2)}{space}{value}{tail}"


def _inline(line: str, col: int) -> bool:
    """Whether the key at `col` has a value on its own line (`key: value`, not `key:`)."""
    rest = line[col:].partition(":")[2].split(" #")[0].strip()
    return bool(rest) and not rest.startswith("#")
