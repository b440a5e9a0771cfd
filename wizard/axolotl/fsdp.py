"""How Axolotl reads its FSDP keys: whether a config trains with FSDP, and which version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fsdp_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """`fsdp_config` without the deprecated `fsdp_` prefixes Axolotl still accepts."""
    raw = config.get("fsdp_config")
    if not isinstance(raw, Mapping):
        return {}
    return {str(k).removeprefix("fsdp_"): v for k, v in raw.items()}


def fsdp_version(config: Mapping[str, Any]) -> int | None:
    """The FSDP version an Axolotl config trains with; None when it does not use FSDP.

    As Axolotl reads it: `fsdp_version`, else `fsdp_config.(fsdp_)version`, else 1."""
    settings = fsdp_settings(config)
    if not settings and not config.get("fsdp"):
        return None
    version = config.get("fsdp_version") or settings.get("version") or 1
    return 2 if str(version) == "2" else 1
