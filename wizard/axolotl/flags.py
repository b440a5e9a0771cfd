"""How Axolotl reads a switch: `bf16: true`, `bf16: "yes"`, `bf16: auto`, `sample_packing: 0`.

Axolotl's schema coerces the words Pydantic knows for booleans, and its code then tests the keys
with a plain `if cfg.key:`, so any other non-empty string (`auto`) counts as on. Every part of the
wizard that reads a flag from a config (lint, estimate, launch) reads it here.
"""

from __future__ import annotations

from typing import Any

# The words Pydantic's lax mode turns into booleans.
TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})


def is_on(value: Any) -> bool:
    """Whether Axolotl would treat `value` as switched on."""
    if isinstance(value, str):
        word = value.strip().lower()
        return bool(word) and word not in FALSE_WORDS
    return bool(value)
