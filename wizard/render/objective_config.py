"""The objective's Axolotl keys (`rl:` and each trainer's settings), and the dataset type that
reads preference data for it (pure).

Which of Axolotl's dataset transforms reads a preference record depends on the objective (ORPO
and KTO have transforms of their own) and, for KTO, on the chat template whose markup the
transform writes: one table, here, so `new`, the interview and the README cannot disagree.
"""

from __future__ import annotations

from typing import Any

from wizard.recipes.table import grpo_colocate_share
from wizard.runspec import (
    DatasetSpec,
    GrpoObjective,
    KtoObjective,
    OrpoObjective,
    PairedObjective,
    RunSpec,
    SimpoObjective,
)

Entry = tuple[str, Any, str, str]  # key, value, comment, answer
_KTO_TRANSFORM = {"chatml": "chatml.prompt_pairs", "llama3": "llama3.prompt_pairs"}


def objective_entries(spec: RunSpec) -> list[Entry]:
    """The keys of `objective`; nothing for SFT (Axolotl's default)."""
    objective = spec.objective
    if objective.kind == "sft":
        return []
    entries: list[Entry] = [("rl", objective.kind, _RL_COMMENT[objective.kind], "objective.kind")]
    if objective.kind == "ipo":
        # Axolotl 0.19 warns that `rl: ipo` "will soon be deprecated": DPO's trainer with
        # IPO's loss is the spelling it asks for.
        entries = [("rl", "dpo", _RL_COMMENT["ipo"], "objective.kind"),
                   ("dpo_loss_type", ["ipo"], "", "objective.kind")]  # fmt: skip
    if isinstance(objective, GrpoObjective):
        return entries + _grpo_entries(objective)
    named = _NAMES[type(objective)]
    for field, key in named:
        value = getattr(objective, field)
        if value is not None:
            entries.append((key, value, "", f"objective.{field}"))
    if objective.kind == "kto" and spec.data.remove_unused_columns is None:
        entries.append(("remove_unused_columns", False, "KTO's trainer reads columns of its own",
                        "objective.kind"))  # fmt: skip
    return entries


_RL_COMMENT = {
    "dpo": "preference pairs against a frozen reference",
    "ipo": "DPO with IPO's bounded loss",
    "orpo": "SFT + odds-ratio preference loss, no reference model",
    "simpo": "length-normalised preference loss, no reference model",
    "kto": "good/bad labelled answers against a frozen reference",
    "grpo": "answers generated and scored by the reward functions",
}
# answer field -> Axolotl key, per objective (GRPO's live under `trl:`).
_NAMES: dict[type, tuple[tuple[str, str], ...]] = {
    PairedObjective: (
        ("beta", "rl_beta"),
        ("rpo_alpha", "rpo_alpha"),
        ("precompute_ref_log_probs", "precompute_ref_log_probs"),
    ),
    OrpoObjective: (("beta", "orpo_alpha"),),
    SimpoObjective: (
        ("beta", "rl_beta"),
        ("simpo_gamma", "simpo_gamma"),
        ("cpo_alpha", "cpo_alpha"),
    ),
    KtoObjective: (
        ("beta", "rl_beta"),
        ("desirable_weight", "kto_desirable_weight"),
        ("undesirable_weight", "kto_undesirable_weight"),
        ("precompute_ref_log_probs", "precompute_ref_log_probs"),
    ),
}


def _grpo_entries(objective: GrpoObjective) -> list[Entry]:
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
    entries.append(("trl", trl, "GRPO's trainer settings (TRL)", "objective.num_generations"))
    if objective.vllm == "server":
        vllm = {"tensor_parallel_size": objective.vllm_gpus}
        comment = f"`axolotl vllm-serve` on {objective.vllm_gpus} GPU(s) of its own"
        entries.append(("vllm", vllm, comment, "objective.vllm_gpus"))
    elif objective.vllm == "colocate":
        # Axolotl's default share (0.9) is a server's; beside training, TRL's colocate default.
        share = objective.vllm_memory_share
        default = " (TRL's colocate default)" if share is None else ""
        comment = f"vLLM's share of each GPU{default}"
        vllm_share = {"gpu_memory_utilization": share or grpo_colocate_share()}
        entries.append(("vllm", vllm_share, comment, "objective.vllm_memory_share"))
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
