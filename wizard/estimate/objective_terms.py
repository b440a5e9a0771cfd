"""What the objective adds to memory (Axolotl's `rl:`): a frozen reference model, two sequences
per sample, and vLLM's share of the GPU when GRPO generates beside training.

- DPO, IPO and KTO score every batch with a frozen reference copy of the model. With an adapter
  there is no copy: peft disables the adapter for the reference pass (TRL's `null_ref_context`).
  ORPO and SimPO have no reference model; GRPO has one only with a KL penalty (`trl.beta` > 0).
- DPO, IPO, ORPO and SimPO run chosen and rejected through the model in one batch (TRL's
  `concatenated_forward`); KTO runs each completion beside a mismatched one for its KL term.
  Either way a micro batch holds twice its sequences.
- GRPO's sequences are a prompt (up to `sequence_len`, which Axolotl does not cut for GRPO) and
  up to `trl.max_completion_length` generated tokens (TRL's default 256), trained on together.
- GRPO's vLLM in colocate mode takes `vllm.gpu_memory_utilization` of each GPU (TRL starts it
  with that share); in server mode it has GPUs of its own and costs the trainers nothing.
"""

from __future__ import annotations

from typing import Any

from wizard.axolotl.view import AxolotlConfig

PAIRED = frozenset({"dpo", "ipo", "orpo", "simpo", "kto"})
WITH_REFERENCE = frozenset({"dpo", "ipo", "kto"})
# Axolotl 0.19's VllmConfig default for gpu_memory_utilization; TRL's max_completion_length.
VLLM_SHARE_DEFAULT = 0.9
COMPLETION_DEFAULT = 256


def completion_tokens(view: AxolotlConfig) -> int:
    """The tokens GRPO writes after each prompt (0 for every other objective)."""
    if view.rl != "grpo":
        return 0
    length = view.trl.get("max_completion_length")
    if isinstance(length, int) and not isinstance(length, bool) and length > 0:
        return length
    return COMPLETION_DEFAULT


def _grpo_beta(view: AxolotlConfig) -> float:
    beta = view.trl.get("beta")
    return float(beta) if isinstance(beta, (int, float)) and not isinstance(beta, bool) else 0.0


def _colocated_share(view: AxolotlConfig) -> float:
    if view.vllm_mode != "colocate":
        return 0.0
    share = view.vllm.get("gpu_memory_utilization")
    if isinstance(share, (int, float)) and not isinstance(share, bool) and 0 < share < 1:
        return float(share)
    return VLLM_SHARE_DEFAULT


def objective_fields(view: AxolotlConfig, method: str, notes: list[str]) -> dict[str, Any]:
    """The Workload fields of the objective: `rl` and what its trainer keeps in memory."""
    kind = view.objective
    reference = kind in WITH_REFERENCE or (kind == "grpo" and _grpo_beta(view) > 0)
    if reference and method != "full":
        notes.append(f"{kind} with an adapter: the reference pass disables the adapter, no copy")
        reference = False
    elif reference:
        notes.append(f"{kind}: a frozen reference copy of the model sits beside the trained one")
    if kind == "grpo":
        notes.append(f"grpo: each sequence is the prompt plus {completion_tokens(view)} generated "
                     "tokens (trl.max_completion_length)")  # fmt: skip
    share = _colocated_share(view) if kind == "grpo" else 0.0
    if share:
        notes.append(f"GRPO with vLLM colocated: vLLM takes {share:.0%} of each GPU")
    return {
        "objective": kind,
        "sequences_per_sample": 2 if kind in PAIRED else 1,
        "reference_model": reference,
        "vllm_share": share,
    }
