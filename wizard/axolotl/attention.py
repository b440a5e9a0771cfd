"""Axolotl's attention backends: their names, the legacy flags that stand for them, and which of
them keep packed samples apart. The schema only lists them in prose (`attn_implementation` is a
free string), so they are kept here, in one place, as Axolotl 0.19 spells them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wizard.axolotl.flags import is_on

# The wizard's `training.attention` answer -> `attn_implementation`.
FROM_ANSWER = {"flash": "flash_attention_2", "sdpa": "sdpa", "eager": "eager"}
# The backends that run without CUDA.
RUN_ON_CPU = frozenset({"sdpa", "eager", "flex_attention"})
# The flags older configs use, and the backend each stands for.
LEGACY_FLAGS = {
    "xformers_attention": "xformers",
    "sdp_attention": "sdpa",
    "flex_attention": "flex_attention",
    "flash_attention": "flash_attention_2",
    "sage_attention": "sage",
    "eager_attention": "eager",
}
# Short names Axolotl 0.19 refuses in attn_implementation, and the name it wants.
SHORT_NAMES = {"flash": "flash_attention_2", "flex": "flex_attention", "sdp": "sdpa"}
# Backends that keep packed samples apart (Axolotl's attn_decontaminates_packing).
KEEP_PACKED_APART = frozenset({
    "flash_attention_2", "flash_attention_3", "flash_attention_4", "flash_attention_torch",
    "flex_attention", "xformers", "sage", "sdpa", "eager",
    "kernels-community/flash-attn2", "kernels-community/flash-attn3",
    "kernels-community/sage-attention",
})  # fmt: skip
# Backends that load the flash-attn package.
NEED_FLASH_ATTN = frozenset({
    "flash_attention_2", "flash_attention_3",
    "kernels-community/flash-attn2", "kernels-community/flash-attn3",
})  # fmt: skip


def backend(cfg: Mapping[str, Any], enabled: Callable[[str], bool] | None = None) -> str | None:
    """The backend Axolotl will use: attn_implementation, else the first legacy flag set."""
    impl = cfg.get("attn_implementation")
    if isinstance(impl, str):
        # Axolotl's attn_impl_base: `org/kernel@rev:fn` compares as `org/kernel`.
        return impl.split(":", 1)[0].split("@", 1)[0].strip()
    flag_on = enabled or (lambda key: is_on(cfg.get(key)))
    return next((name for flag, name in LEGACY_FLAGS.items() if flag_on(flag)), None)
