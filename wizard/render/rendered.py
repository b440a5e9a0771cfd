"""The rendered Axolotl config before it is text: groups of entries, each naming the answer it
is written from (or marked as the wizard's own choice)."""

from __future__ import annotations

from typing import Any

from wizard.records import Record


class Entry(Record):
    key: str
    value: Any
    comment: str = ""
    answer: str | None = None  # the answer it is rendered from
    opinion: bool = False  # the wizard's own choice, not an answer: never written for an import


class Group(Record):
    title: str
    entries: list[Entry]

    def add(
        self,
        key: str,
        value: Any,
        comment: str = "",
        answer: str | None = None,
        opinion: bool = False,
    ) -> None:
        self.entries.append(Entry(key, value, comment, answer, opinion))


class RenderedConfig(Record):
    groups: list[Group]

    def as_dict(self) -> dict[str, Any]:
        return {e.key: e.value for g in self.groups for e in g.entries}
