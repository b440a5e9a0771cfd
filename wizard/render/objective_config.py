"""The objective's Axolotl keys (`rl:` and each trainer's settings), and the dataset type that
reads preference data for it (pure).

Which of Axolotl's dataset transforms reads a preference record depends on the objective (ORPO
and KTO have transforms of their own) and, for KTO, on the chat template whose markup the
transform writes: one table, here, so `new`, the interview and the README cannot disagree.
"""

from __future__ import annotations

from typing import Any

from wizard.axolotl import keys as K
from wizard.recipes.table import grpo_colocate_share
from wizard.runspec import (
    DatasetSpec,
    GrpoObjective,
    RunSpec,
)

Entry = tuple[str, Any, str, str]  # key, value, comment, answer
_KTO_TRANSFORM = {"chatml": "chatml.prompt_pairs", "llama3": "llama3.prompt_pairs"}


def rl_entries(spec: RunSpec) -> list[Entry]:
    """`rl:` (and the loss it trains with); nothing for SFT (Axolotl's default). The trainers'
    own settings are rows of the key table (`render.key_table`)."""
    kind = spec.objective.kind
    if kind == "sft":
        return []
    if kind == "ipo":
        # Axolotl 0.19 warns that `rl: ipo` "will soon be deprecated": DPO's trainer with
        # IPO's loss is the spelling it asks for.
        return [(K.RL, "dpo", _RL_COMMENT["ipo"], "objective.kind"),
                (K.DPO_LOSS_TYPE, ["ipo"], "", "objective.kind")]  # fmt: skip
    return [(K.RL, kind, _RL_COMMENT[kind], "objective.kind")]


_RL_COMMENT = {
    "dpo": "preference pairs against a frozen reference",
    "ipo": "DPO with IPO's bounded loss",
    "orpo": "SFT + odds-ratio preference loss, no reference model",
    "simpo": "length-normalised preference loss, no reference model",
    "kto": "good/bad labelled answers against a frozen reference",
    "grpo": "answers generated and scored by the reward functions",
}


def grpo_entries(spec: RunSpec) -> list[Entry]:
    """GRPO's `trl:` settings and where vLLM generates (`vllm:`); nothing for the others."""
    objective = spec.objective
    if not isinstance(objective, GrpoObjective):
        return []
    trl: dict[str, Any] = {
        "num_generations": objective.num_generations,
        "max_completion_length": objective.max_completion_length,
        "reward_funcs": list(objective.reward_functions),
    }
    if objective.reward_weights is not None:
        trl["reward_weights"] = list(objective.reward_weights)
    if objective.beta is not None:
        trl["beta"] = objective.beta
    trl["use_vllm"] = objective.vllm != "none"
    entries: list[Entry] = []
    if objective.vllm != "none":
        trl["vllm_mode"] = objective.vllm
    entries.append((K.TRL, trl, "GRPO's trainer settings (TRL)", "objective.num_generations"))
    if objective.vllm == "server":
        vllm = {"tensor_parallel_size": objective.vllm_gpus}
        comment = f"`axolotl vllm-serve` on {objective.vllm_gpus} GPU(s) of its own"
        entries.append((K.VLLM, vllm, comment, "objective.vllm_gpus"))
    elif objective.vllm == "colocate":
        # Axolotl's default share (0.9) is a server's; beside training, TRL's colocate default.
        share = objective.vllm_memory_share
        default = " (TRL's colocate default)" if share is None else ""
        comment = f"vLLM's share of each GPU{default}"
        vllm_share = {"gpu_memory_utilization": share or grpo_colocate_share()}
        entries.append((K.VLLM, vllm_share, comment, "objective.vllm_memory_share"))
    return entries


def preference_dataset_fields(dataset: DatasetSpec, spec: RunSpec) -> dict[str, Any]:
    """`type` and field names of a dataset in a preference format, for this objective."""
    kind, fmt = spec.objective.kind, dataset.format
    if fmt == "prompts":
        # GRPO reads `prompt` as it is (text, or messages it formats with the chat template).
        return {"type": "passthrough"}
    if fmt == "unpaired_preference":
        template = spec.data.chat_template or "chatml"
        return {"type": _KTO_TRANSFORM.get(template, _KTO_TRANSFORM["chatml"])}
    if kind == "orpo":
        return {"type": "chat_template.argilla"}
    fields: dict[str, Any] = {}
    if dataset.conversations:
        fields["type"] = "chat_template.argilla_chat"
    else:
        fields = {"type": "chat_template.default", "field_messages": dataset.field_prompt}
    for name in ("field_chosen", "field_rejected"):
        if getattr(dataset, name) != DatasetSpec.model_fields[name].default:
            fields[name] = getattr(dataset, name)
    return fields
