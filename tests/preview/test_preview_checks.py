"""Each check of `preview`, on records built by hand: one that triggers it, one that does not.
(The records Axolotl really produces are the end-to-end test's business.)"""

from __future__ import annotations

import pytest

from wizard.preview.checks import (
    CHECKS,
    Intent,
    check_dataset,
    double_bos,
    empty,
    end_token_masked,
    few_trained,
    foreign_template,
    nothing_trained,
    too_long,
    wrong_roles,
)
from wizard.preview.tokenized import IGNORED, TokenizedRecord, TokenizerFacts, Turn

BOS, EOS, IM_END = 1, 2, 7
FACTS = TokenizerFacts(BOS, EOS, frozenset({BOS, EOS}), {"<|im_end|>": IM_END}, None, None)
PLAIN = Intent(sequence_len=16)
CHAT = Intent(sequence_len=16, chat=True)


def record(ids: list[int], trained: str, turns: list[Turn] | None = None,
           pieces: list[str] | None = None) -> TokenizedRecord:  # fmt: skip
    """`trained` marks each token: `t` trained, `.` masked."""
    labels = [token if mark == "t" else IGNORED for token, mark in zip(ids, trained, strict=True)]
    return TokenizedRecord(ids, labels, pieces or [f"<{i}>" for i in ids], turns or [])


GOOD = record([BOS, 10, 11, 12, 20, 21, EOS], "....ttt")


@pytest.mark.parametrize(
    ("check", "bad", "intent"),
    [
        (nothing_trained, record([BOS, 10, 11, EOS], "...."), PLAIN),
        (few_trained, record([BOS, 10, 11, EOS], "...t"), PLAIN),
        (end_token_masked, record([BOS, 10, 20, 21, EOS], "..tt."), PLAIN),
        (double_bos, record([BOS, BOS, 10, 20, EOS], "...tt"), PLAIN),
        (too_long, record([BOS, *range(10, 30), EOS], "." * 12 + "t" * 10), PLAIN),
        (empty, record([BOS, EOS], ".."), PLAIN),
    ],
)
def test_each_check_fires_on_its_record_and_not_on_a_good_one(check, bad, intent) -> None:  # type: ignore[no-untyped-def]
    assert check([bad], FACTS, intent) is not None
    assert check([GOOD], FACTS, intent) is None


def test_an_end_of_turn_token_of_the_family_counts_by_id_and_by_text() -> None:
    by_id = record([BOS, 10, 20, IM_END, 30], "..t..")
    spelled = record([BOS, 10, 20, 40, 41, 42], "..t...",
                     pieces=["<s>", "q", "5", "<|im", "_end", "|>"])  # fmt: skip
    trained_end = record([BOS, 10, 20, IM_END], "..tt")
    assert end_token_masked([by_id], FACTS, CHAT) is not None
    assert end_token_masked([spelled], FACTS, CHAT) is not None
    assert end_token_masked([trained_end], FACTS, CHAT) is None


def test_roles_trained_against_the_run_and_the_reverse() -> None:
    turns = [Turn("system", 0, 3), Turn("user", 3, 6), Turn("assistant", 6, 9)]
    ids = list(range(10, 19))
    user_trained = record(ids, "...ttt.tt", turns)
    assistant_only = record(ids, "......ttt", turns)
    inputs_masked = record(ids, "......ttt", turns)
    finding = wrong_roles([user_trained], FACTS, CHAT)
    assert finding is not None and "user turns are trained" in finding.message
    assert wrong_roles([assistant_only], FACTS, CHAT) is None
    on_inputs = Intent(sequence_len=16, chat=True, train_on_inputs=True)
    reverse = wrong_roles([inputs_masked], FACTS, on_inputs)
    assert reverse is not None and "system, user turns are all masked" in reverse.message
    assert wrong_roles([record(ids, "ttttttttt", turns)], FACTS, on_inputs) is None


def test_a_chat_template_other_than_the_models_own() -> None:
    own = TokenizerFacts(BOS, EOS, frozenset(), {}, "{{ own }}", "{{ chatml }}")
    same = TokenizerFacts(BOS, EOS, frozenset(), {}, "{{ own }}", "{{ own }}\n")
    assert foreign_template([GOOD], own, CHAT) is not None
    assert foreign_template([GOOD], same, CHAT) is None
    assert foreign_template([GOOD], own, PLAIN) is None  # alpaca renders no chat template


def test_too_long_counts_the_trained_tokens_lost_as_the_run_handles_them() -> None:
    long = record([BOS, *range(10, 30), EOS], "." * 12 + "t" * 10)  # 22 tokens, 10 trained
    dropped = too_long([long], FACTS, PLAIN)
    cut = too_long([long], FACTS, Intent(sequence_len=16, excess="truncate"))
    assert dropped is not None and "dropped whole: 10 trained tokens lost" in dropped.message
    assert cut is not None and "cut at 16: 6 trained tokens lost" in cut.message
    assert "raise sequence_len to 22" in cut.fix


def test_one_line_per_check_and_dataset_with_a_fix() -> None:
    bad = [record([BOS, 10, 11, EOS], "...."), record([BOS, 10, 11, EOS], "....")]
    found = check_dataset(bad, FACTS, PLAIN)
    assert [f.message for f in found] == [
        "2 of 2 records have no trained token: they teach nothing"
    ]
    assert all(f.fix for f in found) and len(CHECKS) == 8
    assert check_dataset([GOOD], FACTS, PLAIN) == []
