"""How each kind of question is asked: the plain ones here, the composites (the model picker,
the dataset file with its sniffed format) in modules of their own, and the GPU model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.build.memoryfit import method_note, sharding_note
from wizard.interview.data_question import dataset_path
from wizard.interview.hardware import COMMON_GPUS
from wizard.interview.model_question import model_question
from wizard.interview.prompter import Choice
from wizard.interview.questions import (
    QuestionDef,
    allows_none,
    answer_text,
    literal_values,
    parse_answer,
)
from wizard.interview.state import MISSING, InterviewState, Offer
from wizard.models import linear_names
from wizard.spec import DATA_FORMAT, TRADE_OFFS

DEFAULT_TARGETS = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]


def ask_kind(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    kinds = {
        "text": _text, "path": dataset_path, "confirm": _confirm, "select": _select,
        "checkbox": _targets, "model": model_question, "gpu": _gpu,
    }  # fmt: skip
    return kinds[question.kind](iv, question, key, offer)


def _text(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    default = answer_text(offer.value) if offer.value is not None or iv.allows_none(key) else ""
    typed = iv.prompter.text(key, question.message, default, iv.validator(question, key))
    return parse_answer(key, typed, iv.method_kind())


def _confirm(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    return iv.prompter.confirm(key, question.message, bool(offer.value))


def _select(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    if question.notes == "objective_trade_off":
        choices = objective_choices(str(iv.value("datasets.0.format")))
    else:
        choices = literal_choices(question, iv.method_kind())
    if question.notes in ("method_memory", "sharding_memory"):
        choices = memory_choices(iv, choices, question.notes)
    default = answer_text(offer.value)
    values = [c.value for c in choices]
    picked = iv.prompter.select(key, question.message, choices,
                                default if default in values else None)  # fmt: skip
    return parse_answer(key, picked, iv.method_kind())


def literal_choices(question: QuestionDef, method_kind: str) -> list[Choice]:
    if question.choices:
        return [Choice(c.value, note=c.note) for c in question.choices]
    # An answer that may stay unset offers that first: `none` leaves the key to Axolotl.
    unset = [Choice("none", note="leave it to Axolotl")] if allows_none(
        question.key, method_kind) else []  # fmt: skip
    return unset + [Choice(v) for v in literal_values(question.key, method_kind)]


def objective_choices(data_format: str) -> list[Choice]:
    """The objectives that read this format of data, each with its one-line trade-off."""
    return [Choice(kind, note=TRADE_OFFS[kind]) for kind, wanted in DATA_FORMAT.items()
            if wanted == data_format]  # fmt: skip


def memory_choices(iv: InterviewState, choices: list[Choice], notes: str) -> list[Choice]:
    """Each method's (or sharding backend's) note with the memory it would need for this model
    on these GPUs."""
    cwd = Path.cwd()
    note_of = method_note if notes == "method_memory" else sharding_note
    noted = []
    for choice in choices:
        memory = note_of(iv.answers, iv.preset, choice.value, cwd)
        noted.append(
            Choice(choice.value, note=f"{choice.note}; {memory}" if memory else choice.note)
        )
    return noted


# -- LoRA targets -----------------------------------------------------------------------------


def _targets(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    names = linear_names(iv.arch) if iv.arch is not None else DEFAULT_TARGETS
    current = offer.value
    checked = list(names) if current == "all-linear" else list(current or [])
    names += [n for n in checked if n not in names]
    choices = [Choice(n) for n in names]

    def check(selected: list[str]) -> str | None:
        return iv.submodel_reason(key, selected)

    picked = iv.prompter.checkbox(key, question.message, choices, checked, check)
    if set(picked) == set(names):
        return "all-linear"
    return [n for n in names if n in picked]


# -- GPU --------------------------------------------------------------------------------------


def _gpu(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    options = {gpu.label: (gpu.memory_gib, gpu.bf16) for gpu in COMMON_GPUS}
    choices = []
    if iv.detected is not None:
        found = iv.detected.gpu
        options = {"detected": (found.memory_gib, found.bf16), **options}
        choices.append(Choice("detected", f"{found.label} × {iv.detected.count}", "this machine"))
    choices += [Choice(label) for label in options if label != "detected"]
    default = _gpu_default(iv, options, choices)
    choices += [Choice("other", "Another GPU (type its memory)"),
                Choice("unset", "Not sure (leave the memory unset)")]  # fmt: skip
    picked = iv.prompter.select(key, question.message, choices, default)
    bf16 = bool(iv.value("hardware.bf16_supported"))
    memory: float | None = None
    if picked == "other":
        memory = parse_answer(key, iv.prompter.text(f"{key}:other", "GPU memory (GiB)", "",
                                                    iv.validator(question, key)))  # fmt: skip
        bf16 = iv.prompter.confirm("hardware.bf16_supported", "Does it support bf16?", bf16)
    elif picked in options:
        memory, bf16 = options[picked]
    elif picked == "keep":
        memory = iv.value(key)
    iv.record(key, memory)
    iv.record("hardware.bf16_supported", bf16)
    return MISSING


def _gpu_default(
    iv: InterviewState, options: dict[str, tuple[float, bool]], choices: list[Choice]
) -> str:
    memory, bf16 = iv.value("hardware.gpu_memory_gib"), bool(iv.value("hardware.bf16_supported"))
    if memory is None:
        return "detected" if "detected" in options else "unset"
    for label, spec in options.items():
        if spec == (memory, bf16):
            return label
    choices.insert(0, Choice("keep", f"{memory:g} GB" + ("" if bf16 else " (no bf16)"), "current"))
    return "keep"
