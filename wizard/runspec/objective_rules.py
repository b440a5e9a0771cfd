"""The rules between the objective and the other answers: the data it reads, packing, the chat
template its data transforms need, GRPO's groups and its vLLM GPUs. Each names the answers it
concerns, so the interview goes back to one of them."""

from __future__ import annotations

from typing import Protocol

from wizard.runspec.base import AnswerConflict
from wizard.runspec.datasets import PREFERENCE_FORMATS, DatasetSpec
from wizard.runspec.hardware import HardwareSpec
from wizard.runspec.objective import DATA_FORMAT, GrpoObjective, Objective
from wizard.runspec.parts import DataSpec
from wizard.runspec.training import TrainingSpec


class RunSpec(Protocol):
    """The parts of `wizard.runspec.run.RunSpec` the rules read (that module imports this one)."""

    objective: Objective
    datasets: list[DatasetSpec]
    data: DataSpec
    hardware: HardwareSpec
    training: TrainingSpec

    @property
    def gradient_accumulation(self) -> int: ...

    @property
    def training_processes(self) -> int: ...


# Axolotl's KTO transforms write the prompt in one of these templates' markup.
KTO_TEMPLATES = ("chatml", "llama3")
_READS = {
    "preference": "a prompt with a chosen and a rejected answer",
    "unpaired_preference": "a prompt, a completion and a true/false label",
    "prompts": "prompts only",
}


def objective_rules(spec: RunSpec) -> None:
    for rule in (_data_rule, _kto_template_rule, _grpo_rule):
        rule(spec)


def _data_rule(spec: RunSpec) -> None:
    kind = spec.objective.kind
    for index, dataset in enumerate(spec.datasets):
        where = f"datasets.{index}.format"
        if kind == "sft" and dataset.format in PREFERENCE_FORMATS:
            wanted = next(k for k, f in DATA_FORMAT.items() if f == dataset.format)
            raise AnswerConflict(
                f"{where}={dataset.format} ({_READS[dataset.format]}) is data for preference or "
                f"RL training, not SFT; set objective.kind={wanted}, or give SFT data "
                "(format chat_template, alpaca, …)",
                "objective.kind",
                where,
            )
        wanted_format = DATA_FORMAT.get(kind)
        if wanted_format and dataset.format not in (wanted_format, "axolotl"):
            raise AnswerConflict(
                f"objective {kind} reads {_READS[wanted_format]} (format {wanted_format}), but "
                f"{where} is {dataset.format}; set {where}={wanted_format}, or "
                "objective.kind=sft for this data",
                where,
                "objective.kind",
            )
        if kind == "orpo" and dataset.format == "preference" and not dataset.conversations:
            raise AnswerConflict(
                "Axolotl's ORPO reads chosen and rejected as whole conversations ([user, "
                f"assistant], argilla style); set datasets.{index}.conversations=true if they "
                "are, or use objective dpo or simpo for prompt/chosen/rejected data",
                f"datasets.{index}.conversations",
                "objective.kind",
            )


def _kto_template_rule(spec: RunSpec) -> None:
    if spec.objective.kind != "kto":
        return
    template = spec.data.chat_template
    unpaired = any(d.format == "unpaired_preference" for d in spec.datasets)
    if unpaired and template not in KTO_TEMPLATES:
        raise AnswerConflict(
            f"Axolotl's KTO data transforms write chatml or llama3 prompts, not "
            f"{template or 'the tokenizer default'}; set data.chat_template=chatml or llama3",
            "data.chat_template",
            "objective.kind",
        )


def _grpo_rule(spec: RunSpec) -> None:
    objective = spec.objective
    if not isinstance(objective, GrpoObjective):
        return
    hardware = spec.hardware
    if objective.vllm != "none" and hardware.accelerator == "cpu":
        raise AnswerConflict(
            "vLLM generates on CUDA GPUs only; set objective.vllm=none for a CPU run",
            "objective.vllm",
            "hardware.accelerator",
        )
    if objective.vllm == "server" and hardware.gpus_per_node <= objective.vllm_gpus:
        raise AnswerConflict(
            f"GRPO's vLLM server takes {objective.vllm_gpus} GPU(s) of its own and the "
            f"trainers need at least one more, but a node has {hardware.gpus_per_node}; add "
            "GPUs (hardware.gpus_per_node) or set objective.vllm=colocate",
            "objective.vllm",
            "hardware.gpus_per_node",
            "objective.vllm_gpus",
        )
    if objective.vllm == "server" and hardware.nodes > 1:
        raise AnswerConflict(
            "GRPO's vLLM server (axolotl vllm-serve) runs on one node, beside its trainers; set "
            "hardware.nodes=1 (more GPUs per node instead) or objective.vllm=colocate",
            "hardware.nodes",
            "objective.vllm",
        )
