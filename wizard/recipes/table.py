"""The recipe table (`recipes.yaml`): learning rate, effective batch and warmup per objective x
method, precision, attention and packing per GPU architecture, each row with its sources.

The spec asks this module for a default where an answer was left unset; nothing else in the
wizard types one of these numbers. Pure and light: no Pydantic, so `check` can read it too.
"""

from functools import cache
from typing import Any

from wizard.gpus.catalog import capability_of
from wizard.records import Record
from wizard.yamlio import package_data


class TrainingRecipe(Record):
    """The defaults of one objective x method, and the span its sources use."""

    objective: str
    method: str
    learning_rate: float
    lr_range: tuple[float, float]
    effective_batch: int
    batch_range: tuple[int, int]
    warmup_ratio: float
    min_micro_batch: int
    sources: tuple[str, ...]

    def batch_for(self, sequences_per_step: int) -> int:
        """The recipe's effective batch on `sequences_per_step` (micro batch x training GPUs): a
        whole number of those steps, at least one."""
        steps = max(1, -(-self.effective_batch // sequences_per_step))
        return steps * sequences_per_step

    def usual_rate(self, rate: float) -> bool:
        low, high = self.lr_range
        return low <= rate <= high


class ArchRecipe(Record):
    """Precision, attention and packing from one GPU architecture on."""

    first: tuple[int, int]
    name: str
    precision: str
    full_precision: str  # a full fine-tune's, where the adapters' does not train full weights
    attention: str
    sample_packing: bool
    tf32: bool
    sources: tuple[str, ...]


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = package_data("wizard.recipes", "recipes.yaml")
    return data


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@cache
def _training_rows() -> dict[tuple[str, str], TrainingRecipe]:
    rows = {}
    for row in _data()["training"]:
        for objective in _listed(row["objective"]):
            for method in _listed(row["methods"]):
                rows[objective, method] = TrainingRecipe(
                    objective=objective,
                    method=method,
                    learning_rate=float(row["learning_rate"]),
                    lr_range=(float(row["range"][0]), float(row["range"][1])),
                    effective_batch=int(row["effective_batch"]),
                    batch_range=(int(row["batch_range"][0]), int(row["batch_range"][1])),
                    warmup_ratio=float(row["warmup_ratio"]),
                    min_micro_batch=int(row.get("min_micro_batch", 1)),
                    sources=tuple(row["sources"]),
                )
    return rows


def training_recipe(objective: str, method: str) -> TrainingRecipe:
    """The row for an objective (`sft`, `dpo`, ...) and a method (`full`, `lora`, `qlora`)."""
    return _training_rows()[objective, method]


def training_recipes() -> tuple[TrainingRecipe, ...]:
    return tuple(_training_rows().values())


@cache
def _arch_rows() -> tuple[ArchRecipe, ...]:
    rows = [
        ArchRecipe(
            first=capability_of(row["from"]),
            name=row["name"],
            precision=row["precision"],
            full_precision=row.get("full_fine_tune_precision", row["precision"]),
            attention=row["attention"],
            sample_packing=bool(row["sample_packing"]),
            tf32=bool(row["tf32"]),
            sources=tuple(row["sources"]),
        )
        for row in _data()["architectures"]
    ]
    return tuple(sorted(rows, key=lambda row: row.first))


def arch_recipe(capability: tuple[int, int] | None, bf16: bool = True) -> ArchRecipe:
    """The row for a GPU of this compute capability; for a GPU nobody named (None), the row of
    an Ampere-class GPU when it has bf16, else the Turing row (`unnamed_gpu` in the table)."""
    if capability is None:
        unnamed = _data()["unnamed_gpu"]
        capability = capability_of(unnamed["bf16" if bf16 else "no_bf16"])
    rows = _arch_rows()
    chosen = rows[0]
    for row in rows:
        if capability >= row.first:
            chosen = row
    return chosen


def kto_chat_template(model_type: str | None, vocab_size: int | None) -> str:
    """The chat template a KTO run of this model family writes its prompts in (`chatml` when
    the family is unknown)."""
    table = _data()["kto_chat_template"]
    for row in table["families"]:
        if model_type == row["model_type"] and (vocab_size or 0) >= int(row["min_vocab"]):
            return str(row["template"])
    return str(table["otherwise"])


def grpo_colocate_share() -> float:
    """The share of each GPU vLLM reserves when it generates beside GRPO's training."""
    return float(_data()["grpo_colocate_vllm_share"])
