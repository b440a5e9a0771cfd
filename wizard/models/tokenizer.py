"""Whether a local tokenizer ships a chat template (Axolotl's `tokenizer_default` needs one).

Read from the files transformers saves: `chat_template.jinja` (transformers >= 4.43),
`chat_template.json`, or the `chat_template` key of `tokenizer_config.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

# tokenizer_config.json carries the added tokens: a few MB for large vocabularies, never more.
MAX_TOKENIZER_CONFIG_BYTES = 32 * 1024 * 1024
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")


def has_chat_template(folder: Path) -> bool | None:
    """True or False for a folder that holds a tokenizer; None when it holds none (unknown)."""
    if any((folder / name).is_file() for name in TEMPLATE_FILES):
        return True
    config = folder / "tokenizer_config.json"
    if not config.is_file() or config.stat().st_size > MAX_TOKENIZER_CONFIG_BYTES:
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # unreadable here: Axolotl's own loader will say what is wrong
    return bool(data.get("chat_template")) if isinstance(data, dict) else None


def needs_tokenizer_template(cfg: dict[str, object]) -> list[int]:
    """Indexes of the datasets whose chat template comes from the tokenizer, as Axolotl reads
    them: `type: chat_template` with no template of its own and none at the top level."""
    if _own_template(cfg):
        return []
    datasets = cfg.get("datasets")
    if not isinstance(datasets, list):
        return []
    return [
        index
        for index, entry in enumerate(datasets)
        if isinstance(entry, dict)
        and str(entry.get("type") or "").split(".")[0] == "chat_template"
        and not _own_template(entry)
    ]


def _own_template(block: dict[str, object]) -> bool:
    choice = block.get("chat_template")
    return bool(block.get("chat_template_jinja")) or bool(choice and choice != "tokenizer_default")
