"""The objective: what the loss learns from. Supervised fine-tuning (SFT) on examples, or
preference and RL training (Axolotl's `rl:`), each with its own settings, as a discriminated
union like the method. Field names are the trainers' (TRL's) own; `wizard.render.objective_config`
maps them to Axolotl's keys."""

# No `from __future__ import annotations` here: Pydantic would compile and evaluate the text
# of each field's annotation as it builds the models, 1.5% of `new --yes`.
import re
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from wizard.runspec.base import NOT_EMPTY, AnswerConflict, Range, Real, StrictModel

ObjectiveKind = Literal["sft", "dpo", "ipo", "orpo", "simpo", "kto", "grpo"]
# `module.function`: what Axolotl imports a reward function by (from its working directory).
_DOTTED = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+"  # compiled by `re` when a GRPO run names one


class SftObjective(StrictModel):
    kind: Literal["sft"] = "sft"


class PairedObjective(StrictModel):
    """DPO and IPO: a chosen and a rejected answer per prompt, against a frozen reference."""

    kind: Literal["dpo", "ipo"]
    beta: Annotated[Real | None, Range(gt=0)] = None
    """how far from the reference model it may move (TRL: 0.1)"""
    rpo_alpha: Annotated[Real | None, Range(ge=0)] = None
    """DPO: weight of an SFT loss on the chosen answer (RPO)"""
    precompute_ref_log_probs: bool | None = None
    """score the data with the reference model once, before training"""

    @model_validator(mode="after")
    def _rpo_is_dpo(self) -> "PairedObjective":
        if self.rpo_alpha is not None and self.kind == "dpo":
            raise AnswerConflict(
                "Axolotl 0.19 refuses rpo_alpha: TRL 0.29 made RPO a combination of loss types, "
                "which Axolotl does not pass yet; remove objective.rpo_alpha (or use ORPO, "
                "whose loss includes SFT on the chosen answer)",
                "rpo_alpha",
            )
        if self.kind == "ipo" and self.rpo_alpha is not None:
            raise AnswerConflict(
                "rpo_alpha adds an SFT loss to DPO's; IPO has its own loss: remove "
                "objective.rpo_alpha or set objective.kind=dpo",
                "rpo_alpha",
                "kind",
            )
        return self


class OrpoObjective(StrictModel):
    """ORPO: SFT and an odds-ratio preference loss in one pass; no reference model."""

    kind: Literal["orpo"] = "orpo"
    beta: Annotated[Real | None, Range(gt=0)] = None
    """weight of the odds-ratio loss (Axolotl's orpo_alpha)"""


class SimpoObjective(StrictModel):
    """SimPO: length-normalised preference margin; no reference model."""

    kind: Literal["simpo"] = "simpo"
    beta: Annotated[Real | None, Range(gt=0)] = None
    """reward scale (TRL: 0.1)"""
    simpo_gamma: Annotated[Real | None, Range(ge=0)] = None
    """target reward margin"""
    cpo_alpha: Annotated[Real | None, Range(ge=0)] = None
    """weight of the SFT loss on the chosen answer"""


class KtoObjective(StrictModel):
    """KTO: answers labelled good or bad one by one (no pairs), against a frozen reference."""

    kind: Literal["kto"] = "kto"
    beta: Annotated[Real | None, Range(gt=0)] = None
    """TRL: 0.1"""
    desirable_weight: Annotated[Real | None, Range(gt=0)] = None
    """weight of the good answers' loss (1.0)"""
    undesirable_weight: Annotated[Real | None, Range(gt=0)] = None
    """weight of the bad answers' loss (1.0)"""
    precompute_ref_log_probs: bool | None = None
    """score the data with the reference model once, before training"""


VllmMode = Literal["server", "colocate", "none"]
VLLM_SERVER_GPUS: Final = 1  # the GPUs vLLM's server takes when nobody says


class GrpoObjective(StrictModel):
    """GRPO: the model writes several answers per prompt, reward functions score them."""

    kind: Literal["grpo"] = "grpo"
    reward_functions: Annotated[list[str], NOT_EMPTY]
    """module.function names Axolotl imports from the run folder"""
    reward_weights: list[Real] | None = None
    """one per function"""
    num_generations: Annotated[int, Range(ge=2, le=4096)] = 8
    """answers written per prompt"""
    max_completion_length: Annotated[int, Range(ge=1, le=1_048_576)] = 256
    """tokens per answer"""
    beta: Annotated[Real | None, Range(ge=0)] = None
    """KL penalty (TRL: 0, no reference)"""
    vllm: VllmMode = "server"
    """server: vLLM on GPUs of its own; colocate: on the training GPUs; none: generate with the
    trained model (slow)"""
    vllm_gpus: Annotated[int, Range(ge=1, le=64)] = VLLM_SERVER_GPUS
    """server: GPUs given to vLLM"""
    vllm_memory_share: Annotated[Real | None, Range(gt=0, lt=1)] = None
    """colocate: share of each GPU vLLM takes (0.9)"""

    @model_validator(mode="after")
    def _rewards_are_named(self) -> "GrpoObjective":
        for name in self.reward_functions:
            if not re.fullmatch(_DOTTED, name):
                raise AnswerConflict(
                    f"reward function {name!r} is not module.function (e.g. rewards.correct)",
                    "reward_functions",
                )
        weights = self.reward_weights
        if weights is not None and len(weights) != len(self.reward_functions):
            raise AnswerConflict(
                f"{len(weights)} reward_weights for {len(self.reward_functions)} "
                "reward_functions; give one weight per function",
                "reward_weights",
                "reward_functions",
            )
        # The default itself is no answer about a server (an answers file spells it out).
        if self.vllm != "server" and self.vllm_gpus != VLLM_SERVER_GPUS:
            raise AnswerConflict(
                f"vllm_gpus sets the GPUs of vLLM's own server; with vllm={self.vllm} remove it",
                "vllm_gpus",
                "vllm",
            )
        if self.vllm != "colocate" and self.vllm_memory_share is not None:
            raise AnswerConflict(
                "vllm_memory_share is for vllm=colocate (vLLM beside training on each GPU)",
                "vllm_memory_share",
                "vllm",
            )
        return self

    @property
    def generation_gpus(self) -> int:
        """GPUs that only generate (vLLM's server); the trainers have the others."""
        return self.vllm_gpus if self.vllm == "server" else 0


Objective = Annotated[
    SftObjective | PairedObjective | OrpoObjective | SimpoObjective | KtoObjective | GrpoObjective,
    Field(discriminator="kind"),
]
# The objectives by kind: the one list every part of the wizard takes them from.
OBJECTIVES: Final[dict[str, type[StrictModel]]] = {
    "sft": SftObjective,
    "dpo": PairedObjective,
    "ipo": PairedObjective,
    "orpo": OrpoObjective,
    "simpo": SimpoObjective,
    "kto": KtoObjective,
    "grpo": GrpoObjective,
}
# The dataset format each objective reads.
DATA_FORMAT: Final[dict[str, str]] = {
    "dpo": "preference",
    "ipo": "preference",
    "orpo": "preference",
    "simpo": "preference",
    "kto": "unpaired_preference",
    "grpo": "prompts",
}
# One line each, for the interview and the README: what it needs and what it costs.
TRADE_OFFS: Final[dict[str, str]] = {
    "sft": "learns to write the examples' answers; the usual first step",
    "dpo": "prefers chosen over rejected answers; a frozen reference copy (none with LoRA)",
    "ipo": "DPO with a bounded loss, less prone to overfit small preference sets",
    "orpo": "SFT and preference in one pass, no reference model; needs conversations",
    "simpo": "length-normalised preferences, no reference model; cheaper than DPO",
    "kto": "answers labelled good or bad one by one, no pairs; a reference copy",
    "grpo": "writes answers, your reward functions score them; needs vLLM and GPUs",
}
