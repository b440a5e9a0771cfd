"""The sharding question (issue 17): none / DeepSpeed ZeRO / FSDP2, each with a one-line
trade-off and the memory per GPU that option would need for this model on these GPUs."""

from __future__ import annotations

import re

from test_interview import interview

from wizard.interview.kinds import literal_choices, memory_choices
from wizard.interview.questions import QuestionDef, load_questions

GPUS = ("hardware.gpus_per_node=8", "hardware.gpu_memory_gib=40", "distributed.zero_stage=3",
        "datasets.0.path=data/train.jsonl")  # fmt: skip


def _question(key: str) -> QuestionDef:
    found = [q for s in load_questions().sections for q in s.questions if q.key == key]
    assert found, key
    return found[0]


def _gib(note: str) -> float:
    match = re.search(r"~(\d+\.\d) GiB per GPU", note)
    assert match, note
    return float(match.group(1))


def test_each_sharding_choice_shows_its_trade_off_and_memory() -> None:
    question = _question("distributed.backend")
    assert question.notes == "sharding_memory"
    iv, _ = interview([], "llama-3.1-8b-full-zero3", GPUS)
    plain = literal_choices(question, "full")
    noted = {c.value: c.note for c in memory_choices(iv, plain, "sharding_memory")}
    assert set(noted) == {"none", "deepspeed", "fsdp"}
    for choice in plain:  # the trade-off line is kept, the memory follows it
        assert noted[choice.value].startswith(f"{choice.note}; ")
    assert "no DeepSpeed" in noted["fsdp"] and "ZeRO-3: ~" in noted["deepspeed"]
    # 8B full fine-tune on 8 x 40 GB: a full copy per GPU does not fit, sharded ones do.
    assert "does not fit" in noted["none"]
    assert _gib(noted["fsdp"]) < _gib(noted["none"]) / 3
    assert "fits in 40 GiB" in noted["fsdp"] and "fits in 40 GiB" in noted["deepspeed"]


def test_a_refused_option_says_why_in_its_note() -> None:
    iv, _ = interview([], "llama-3.1-8b-full-zero3",
                      (*GPUS, "training.optimizer=adamw_bnb_8bit"))  # fmt: skip
    question = _question("distributed.backend")
    noted = {c.value: c.note for c in memory_choices(iv, literal_choices(question, "full"),
                                                     "sharding_memory")}  # fmt: skip
    assert "not possible" in noted["fsdp"] and "adamw_torch_8bit" in noted["fsdp"]
    assert "GiB per GPU" in noted["deepspeed"]
