"""`type: sharegpt` → `type: chat_template`, the migration Axolotl's docs describe.

Axolotl's old ShareGPT loaders read `conversations` turns of `{from, value}` (non-strict: also
`role` for `from` and `text` / `content` for `value`), mapped `human`/`user` to the user and
`gpt`/`assistant` to the assistant, and formatted them with a FastChat `conversation:` template.
The chat_template loader says the same with `field_messages`, `message_property_mappings` and
`roles`, and the template by name (`chat_template:`). When the dataset is a local JSON/JSONL file,
its first rows say which keys and `from` values it really uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.axolotl.paths import is_local_path

# Old loader variant -> (messages field, role key, content key, user names, assistant names).
VARIANTS: dict[str, tuple[str, str, str, list[str], list[str]]] = {
    "sharegpt": ("conversations", "from", "value", ["human", "user"], ["gpt", "assistant"]),
    "sharegpt.load_role": (
        "conversations",
        "role",
        "value",
        ["human", "user"],
        ["gpt", "assistant"],
    ),
    "sharegpt.load_guanaco": (
        "conversations",
        "from",
        "value",
        ["human", "prompter", "user"],
        ["gpt", "assistant"],
    ),
    "sharegpt.load_ultrachat": (
        "messages",
        "role",
        "content",
        ["user", "human"],
        ["assistant", "gpt"],
    ),
}
# FastChat conversation names -> Axolotl chat_template names (same prompt format).
CONVERSATIONS = {
    "chatml": "chatml",
    "llama-3": "llama3",
    "llama3": "llama3",
    "gemma": "gemma",
    "phi3": "phi_3",
    "phi-3": "phi_3",
    "alpaca": "alpaca",
    "cohere": "cohere",
}
SNIFF_ROWS = 50
SNIFF_BYTES = 4 * 1024 * 1024


@dataclass
class ShareGptPlan:
    """What the entry becomes; `notes` are the decisions left to the person."""

    keys: dict[str, Any] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    template: str | None = None
    notes: list[str] = field(default_factory=list)


def plan_entry(
    entry: dict[str, Any], templates: set[str], bases: list[Path], config_template: Any = None
) -> ShareGptPlan | None:
    """The chat_template form of a ShareGPT entry, or None for a variant we cannot map."""
    variant = str(entry.get("type"))
    if variant not in VARIANTS:
        return None
    messages, role, content, users, assistants = VARIANTS[variant]
    messages = str(entry.get("field_messages") or messages)
    seen = sniff(entry.get("path"), messages, bases)
    if seen is not None:
        role, content = seen.role_key or role, seen.content_key or content
    users = _with(users, entry.get("field_human"))
    assistants = _with(assistants, entry.get("field_model"))
    old_roles = entry.get("roles")
    if isinstance(old_roles, dict) and ("input" in old_roles or "output" in old_roles):
        users = list(old_roles.get("input") or users)
        assistants = list(old_roles.get("output") or assistants)
    plan = ShareGptPlan()
    plan.keys = {
        "field_messages": messages,
        "message_property_mappings": {"role": role, "content": content},
        "roles": {"user": users, "assistant": assistants, "system": ["system"]},
    }
    if seen is not None and seen.extra_roles:
        plan.keys["roles"].update({name: [name] for name in sorted(seen.extra_roles)})
    plan.drop = [k for k in ("field_human", "field_model", "strict") if k in entry]
    plan.template, note = _template(entry.get("conversation"), templates)
    if note and not (config_template and entry.get("conversation") is None):
        plan.notes.append(note)  # a config-wide chat_template already says which
    return plan


def _with(names: list[str], extra: Any) -> list[str]:
    return [*names, str(extra)] if extra and str(extra) not in names else list(names)


def _template(conversation: Any, templates: set[str]) -> tuple[str | None, str | None]:
    if conversation is None:
        return None, (
            "no `conversation:` was set, so the old loader used FastChat's vicuna_v1.1, which "
            "Axolotl no longer has: the fixed file uses the tokenizer's own chat template; set "
            "`chat_template:` to choose another"
        )
    name = CONVERSATIONS.get(str(conversation), str(conversation))
    if name in templates:
        return name, None
    return None, (
        f"`conversation: {conversation}` has no Axolotl chat_template of the same format; "
        "replace it with `chat_template: NAME` (or `chat_template_jinja:`)"
    )


@dataclass
class Sniffed:
    role_key: str | None = None
    content_key: str | None = None
    extra_roles: set[str] = field(default_factory=set)


KNOWN_ROLES = {"human", "user", "gpt", "assistant", "system", "prompter"}


def sniff(path: Any, messages: str, bases: list[Path]) -> Sniffed | None:
    """Keys and `from` values of the first rows of a local JSON/JSONL dataset, if readable."""
    rows = _rows(path, bases)
    if not rows:
        return None
    turns = [
        t for r in rows if isinstance(r, dict) for t in r.get(messages) or [] if isinstance(t, dict)
    ]
    if not turns:
        return None
    found = Sniffed()
    found.role_key = next((k for k in ("from", "role") if all(k in t for t in turns)), None)
    found.content_key = next(
        (k for k in ("value", "text", "content") if all(k in t for t in turns)), None
    )
    if found.role_key:
        found.extra_roles = {str(t[found.role_key]) for t in turns} - KNOWN_ROLES
    return found


def _rows(path: Any, bases: list[Path]) -> list[Any]:
    if not isinstance(path, str) or not is_local_path(path):
        return []
    candidates = [Path(os.path.normpath(b / Path(path).expanduser())) for b in bases]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None or found.suffix not in (".json", ".jsonl"):
        return []
    try:
        with found.open("rb") as handle:
            raw = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return []
    if found.suffix == ".jsonl":
        return [_loads(line) for line in raw.splitlines()[:SNIFF_ROWS] if line.strip()]
    data = _loads(raw)
    return data[:SNIFF_ROWS] if isinstance(data, list) else []


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # a head cut short, or nested a million deep
        return None
