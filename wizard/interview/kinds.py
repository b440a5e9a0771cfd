"""How each kind of question is asked: the plain ones here, the composites (the model picker,
the dataset file with its sniffed format) in modules of their own, and the GPU model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.gpus.catalog import known_gpus
from wizard.interview.data_question import dataset_path
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
from wizard.render.menu_notes import method_note, sharding_note
from wizard.runspec import DATA_FORMAT, TRADE_OFFS

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
    # Before the training answers (sequence length, batch) their defaults stand in.
    early = "" if "training.sequence_len" in iv.asked else "; the training answers may move it"
    noted = []
    for choice in choices:
        memory = note_of(iv.answers, iv.preset, choice.value, cwd)
        memory = memory and (memory if memory.startswith("not possible") else memory + early)
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
    """The GPU by name (the catalog's GPUs, the one nvidia-smi sees), another GPU by its memory,
    or none: the answers `hardware.gpu`, `gpu_memory_gib` and `bf16_supported` together."""
    gpus = {facts.name: facts for facts in known_gpus()}
    choices = [Choice(name, facts.label()) for name, facts in gpus.items()]
    found = iv.detected
    if found is not None:
        choices.insert(0, Choice("detected", f"{found.label} × {found.count}", "this machine"))
    default = _gpu_default(iv, choices)
    choices += [Choice("other", "Another GPU (type its memory)"),
                Choice("unset", "Not sure (leave the GPU unset)")]  # fmt: skip
    picked = iv.prompter.select(key, question.message, choices, default)
    if picked == "keep":
        return MISSING
    gpu, memory, bf16 = None, None, None
    if picked == "detected" and found is not None:
        if found.facts is not None:
            gpu = found.facts.name
        else:
            memory, bf16 = found.memory_gib, found.bf16
    elif picked in gpus:
        gpu = picked
    elif picked == "other":
        memory = parse_answer("hardware.gpu_memory_gib", iv.prompter.text(
            f"{key}:memory", "GPU memory (GiB)", "", _memory_check(iv)))  # fmt: skip
        bf16 = iv.prompter.confirm("hardware.bf16_supported", "Does it support bf16?", True)
    iv.record("hardware.gpu", gpu)
    iv.record("hardware.gpu_memory_gib", memory)
    iv.record("hardware.bf16_supported", bf16)
    return MISSING


def _memory_check(iv: InterviewState) -> Any:
    def check(text: str) -> str | None:
        try:
            value = parse_answer("hardware.gpu_memory_gib", text, iv.method_kind())
        except ValueError as err:
            return f"{err} (got {text.strip()!r})"
        if value is None:
            return "give the memory of one GPU in GiB, e.g. 24"
        return iv.submodel_reason("hardware.gpu_memory_gib", value, {"gpu": None})

    return check


def _gpu_default(iv: InterviewState, choices: list[Choice]) -> str:
    """The GPU answered below the interview, else the detected one, else none; a GPU given only
    by its memory stays as it is ("keep")."""
    named, memory = iv.value("hardware.gpu"), iv.value("hardware.gpu_memory_gib")
    if named is not None:
        return str(named)
    if memory is not None:
        bf16 = iv.value("hardware.bf16_supported") is not False
        text = f"{memory:g} GiB" + ("" if bf16 else " (no bf16)")
        choices.insert(0, Choice("keep", text, "current"))
        return "keep"
    return "detected" if iv.detected is not None else "unset"
