"""Whether a local tokenizer ships a chat template (Axolotl's `tokenizer_default` needs one).

Read from the files transformers saves: `chat_template.jinja` (transformers >= 4.43),
`chat_template.json`, or the `chat_template` key of `tokenizer_config.json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig, view_of

# tokenizer_config.json carries the added tokens: a few MB for large vocabularies, never more.
MAX_TOKENIZER_CONFIG_BYTES = 32 * 1024 * 1024
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
# The template's key in tokenizer_config.json (transformers' file; Axolotl's key is named alike).
TOKENIZER_TEMPLATE_KEY = "chat_template"


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
    return bool(data.get(TOKENIZER_TEMPLATE_KEY)) if isinstance(data, dict) else None


def needs_tokenizer_template(cfg: Mapping[str, Any] | AxolotlConfig) -> list[int]:
    """Indexes of the datasets whose chat template comes from the tokenizer, as Axolotl reads
    them: `type: chat_template` with no template of its own and none at the top level."""
    view = view_of(cfg)
    if _names_template(view.value(K.CHAT_TEMPLATE), view.value(K.CHAT_TEMPLATE_JINJA)):
        return []
    return [
        index
        for index, entry in enumerate(view.datasets)
        if isinstance(entry, dict)
        and str(entry.get("type") or "").split(".")[0] == "chat_template"
        # A dataset's own template keys are named as the top level's.
        and not _names_template(entry.get(K.CHAT_TEMPLATE), entry.get(K.CHAT_TEMPLATE_JINJA))
    ]


def _names_template(choice: Any, jinja: Any) -> bool:
    """`chat_template` other than the tokenizer's own, or `chat_template_jinja`, is given."""
    return bool(jinja) or bool(choice and choice != "tokenizer_default")
