"""The shape of dataset records -> the Axolotl dataset type and field mapping that reads them.

Pure: records in, a Proposal out. The majority shape among the records wins; `misfit_reason` then
says, record by record, why one does not fit the proposal (mixed schemas are common when files
are concatenated from several sources).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.runspec import DATA_FORMAT

ROLE_KEYS = ("role", "from", "speaker", "author")
CONTENT_KEYS = ("content", "value", "text")
TEXT_FIELDS = ("text", "content", "document", "body")
PREFERENCE_FIELDS = frozenset({"prompt", "chosen", "rejected"})
UNPAIRED_FIELDS = frozenset({"prompt", "completion", "label"})
# What a prompts-only record (GRPO) must not have: then it is an example or a preference.
ANSWER_FIELDS = frozenset({"chosen", "rejected", "completion", "output", "response"})
# The objective each preference format proposes: the first in the spec's table that reads it.
OBJECTIVE_OF = {fmt: kind for kind, fmt in reversed(DATA_FORMAT.items())}


@dataclass(frozen=True)
class Proposal:
    """A dataset format and the spec's mapping answers for it."""

    kind: str
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return self.kind

    def describe(self) -> str:
        m = self.mapping
        if self.kind == "chat_template":
            return (
                f"chat_template: a list of messages in {m['field_messages']!r} with "
                f"{m['role_key']}/{m['content_key']}"
            )
        if self.kind == "alpaca":
            return "alpaca: instruction / input / output"
        if self.kind == "completion":
            return f"completion: raw text in {m['text_field']!r}"
        if self.kind == "input_output":
            return "input_output: segments with a label each"
        if self.kind == "unpaired_preference":
            return "unpaired_preference: prompt / completion / true-false label (KTO)"
        if self.kind == "prompts":
            return "prompts: a prompt per record, no answers (GRPO)"
        if m.get("conversations") == "true":
            return "preference: chosen / rejected conversations (argilla style; DPO, ORPO)"
        return "preference: prompt / chosen / rejected (DPO, IPO, SimPO)"

    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.kind, tuple(sorted(self.mapping.items()))


def shape_of(record: dict[str, Any]) -> Proposal | None:
    """The proposal that fits one record, or None when no known shape does."""
    preference = _preference_shape(record)
    if preference is not None:
        return preference
    if "prompt" in record and not set(record) & ANSWER_FIELDS:
        return Proposal("prompts")  # text, or messages that end before the answer
    chat = _chat_mapping(record)
    if chat is not None:
        return Proposal("chat_template", chat)
    if isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        return Proposal("alpaca")
    if _segments_ok(record.get("segments")):
        return Proposal("input_output")
    for name in TEXT_FIELDS:
        if isinstance(record.get(name), str):
            return Proposal("completion", {"text_field": name})
    return None


def _preference_shape(record: dict[str, Any]) -> Proposal | None:
    if set(record) >= PREFERENCE_FIELDS:
        return Proposal("preference")
    if all(_chat_mapping({k: record.get(k)}) for k in ("chosen", "rejected")):
        return Proposal("preference", {"conversations": "true"})
    if set(record) >= UNPAIRED_FIELDS and isinstance(record["label"], bool):
        return Proposal("unpaired_preference")
    return None


def _chat_mapping(record: dict[str, Any]) -> dict[str, str] | None:
    for name, value in record.items():
        if not (isinstance(value, list) and value and all(isinstance(m, dict) for m in value)):
            continue
        first = value[0]
        role = next((k for k in ROLE_KEYS if k in first), None)
        content = next((k for k in CONTENT_KEYS if k in first), None)
        if role and content:
            return {"field_messages": name, "role_key": role, "content_key": content}
    return None


def _segments_ok(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(s, dict) and isinstance(s.get("text"), str) for s in value)
    )


def propose(records: Sequence[dict[str, Any]]) -> Proposal | None:
    """The most common shape among the records (ties go to the earliest seen)."""
    shapes = [s for s in (shape_of(r) for r in records) if s is not None]
    if not shapes:
        return None
    counts = Counter(s.key() for s in shapes)
    best = max(counts.values())
    return next(s for s in shapes if counts[s.key()] == best)


def misfit_reason(record: dict[str, Any], proposal: Proposal) -> str | None:
    """Why `record` cannot be read as `proposal`, or None when it can."""
    m = proposal.mapping
    if proposal.kind == "alpaca":
        missing = [k for k in ("instruction", "output") if not isinstance(record.get(k), str)]
        return f"no text in {', '.join(missing)}" if missing else None
    if proposal.kind == "chat_template":
        return _chat_misfit(record.get(m["field_messages"]), m)
    if proposal.kind == "completion":
        ok = isinstance(record.get(m["text_field"]), str)
        return None if ok else f"no text in {m['text_field']!r}"
    if proposal.kind == "input_output":
        return None if _segments_ok(record.get("segments")) else "no list of text segments"
    if proposal.kind == "prompts":
        return None if "prompt" in record else "no 'prompt'"
    if proposal.kind == "unpaired_preference":
        missing = sorted(UNPAIRED_FIELDS - set(record))
        if missing:
            return f"missing {', '.join(missing)}"
        return None if isinstance(record["label"], bool) else "label is not true or false"
    needed = {"chosen", "rejected"} if m.get("conversations") == "true" else PREFERENCE_FIELDS
    missing = sorted(needed - set(record))
    return f"missing {', '.join(missing)}" if missing else None


def _chat_misfit(messages: Any, m: dict[str, str]) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"no list of messages in {m['field_messages']!r}"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or m["role_key"] not in message:
            return f"message {index} has no {m['role_key']!r}"
        if not isinstance(message.get(m["content_key"]), str):
            return f"message {index} has no text in {m['content_key']!r}"
    return None
