"""Stand-ins for the required answers nobody gave yet, so partial answers (a preset, the
interview half-way) can still be rendered and estimated. Always in a layer of their own
(`LayerKind.PLACEHOLDER`), so what is a placeholder is never mistaken for an answer."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from wizard.answers.answer_keys import generic_key
from wizard.answers.layers import Answers, Layer, LayerKind, unflatten
from wizard.runspec import METHODS, OBJECTIVES, RunSpec

PLACEHOLDERS: dict[str, Any] = {
    "model.base_model": "your-org/your-model",
    "datasets.N.path": "data/train.jsonl",
    "datasets.N.format": "alpaca",
    "objective.reward_functions": ["rewards.your_reward"],
}


def placeholder_layer(layers: list[Layer]) -> Layer:
    """A layer with a placeholder for each required answer the layers leave unset."""
    layer = Layer("required", kind=LayerKind.PLACEHOLDER)
    for _ in range(3):  # datasets missing -> datasets.0.path missing: a few rounds at most
        missing = _missing_answers(Answers([*layers, layer]))
        filled = False
        for key in missing:
            index = next((part for part in key.split(".") if part.isdigit()), "0")
            for shape, value in PLACEHOLDERS.items():
                if shape == generic_key(key) or shape.startswith(generic_key(key) + "."):
                    layer.set(shape.replace(".N", f".{index}"), value)
                    filled = True
        if not filled:
            break
    return layer


def _missing_answers(answers: Answers) -> list[str]:
    try:
        RunSpec.model_validate(unflatten(answers.answer_values()))
    except ValidationError as err:
        return [
            ".".join(str(p) for p in problem["loc"] if p not in METHODS and p not in OBJECTIVES)
            for problem in err.errors(include_url=False)
            if problem["type"] == "missing"
        ]
    return []
