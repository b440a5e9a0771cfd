"""How a tokenized record is shown: brackets when piped, colours on a terminal, an HTML page;
the data's text never acts on a terminal or a browser."""

from __future__ import annotations

from wizard.preview import shown
from wizard.preview.stats import dataset_stats, packing_efficiency, percentile
from wizard.preview.tokenized import IGNORED, TokenizedRecord, Turn

BOS, EOS = 1, 2
SPECIAL = frozenset({BOS, EOS})


def chat_record() -> TokenizedRecord:
    ids = [BOS, 10, 11, 12, 13, EOS]
    labels = [IGNORED, IGNORED, IGNORED, 12, 13, IGNORED]
    pieces = ["<s>", "user: ", "hi\n", "hel", "lo", "</s>"]
    return TokenizedRecord(ids, labels, pieces, [Turn("user", 1, 3), Turn("assistant", 3, 6)])


def parts(record: TokenizedRecord, cut: int | None = None) -> list[shown.Segment]:
    return list(shown.segments(record, SPECIAL, cut))


def test_brackets_mark_masked_text_special_tokens_and_roles() -> None:
    text = shown.as_brackets(parts(chat_record()))
    assert text == "[[{{<s>}}]]<<user>>[[user: hi\n]]<<assistant>>hello[[{{</s>}}]]"


def test_the_cut_at_sequence_len_is_shown_where_it_falls() -> None:
    text = shown.as_brackets(parts(chat_record(), cut=4))
    assert text.endswith("hel||cut at sequence_len 4||lo[[{{</s>}}]]")


def test_colours_tell_trained_from_masked() -> None:
    text = shown.as_terminal(parts(chat_record()))
    assert "\x1b[1;32mhello\x1b[0m" in text  # trained: bold green
    assert "\x1b[2muser: hi\n\x1b[0m" in text  # masked: dim
    assert "</s> (masked)" in text


def test_hostile_text_is_shown_not_acted_on() -> None:
    evil = "\x1b]0;owned\x07\u202egnp.exe<script>alert(1)</script>"
    record = TokenizedRecord([10, 11], [IGNORED, 11], ["ok ", evil], [])
    for text in (shown.as_brackets(parts(record)), shown.as_terminal(parts(record))):
        assert "\x1b]" not in text and "\u202e" not in text and "\x07" not in text
        assert "\\x1b]0;owned\\x07\\u202e" in text
    page = shown.html_page(shown.as_html(parts(record)))
    assert "<script>" not in page and "&lt;script&gt;" in page and "\\u202e" in page
    assert "default-src 'none'" in page  # the page loads and runs nothing


def test_statistics_of_the_records() -> None:
    short = TokenizedRecord([1, 2, 3, 4], [IGNORED, IGNORED, 3, 4], ["a"] * 4)
    long = TokenizedRecord(list(range(12)), [IGNORED] * 6 + list(range(6)), ["a"] * 12)
    stats = dataset_stats([short, long, short], sequence_len=16, packing=True)
    assert stats is not None
    assert (stats.shortest, stats.median, stats.p95, stats.longest) == (4, 4, 12, 12)
    assert round(stats.trained_share, 3) == round(10 / 20, 3)
    assert stats.packing_efficiency == 20 / 32  # [12, 4] and [4]: two sequences of 16
    assert "packed sequences 62% full" in stats.line()
    assert dataset_stats([short], 16, packing=False).packing_efficiency is None  # type: ignore[union-attr]
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95) == 10
    assert packing_efficiency([20, 20], 16) == 1.0  # a record past the limit fills its sequence


def test_optimizer_steps_of_an_epoch_over_the_whole_file() -> None:
    def rec(length: int) -> TokenizedRecord:
        return TokenizedRecord(list(range(length)), list(range(length)), ["a"] * length)

    plain = dataset_stats([rec(10), rec(30)], sequence_len=20, packing=False)
    assert plain is not None and plain.kept_share == 0.5  # Axolotl drops the 30-token record
    assert plain.steps_per_epoch(1000, batch=4, sequence_len=20) == 125  # 500 kept / 4
    cut = dataset_stats([rec(10), rec(30)], sequence_len=20, packing=False, truncate=True)
    assert cut is not None and cut.steps_per_epoch(1000, 4, 20) == 250
    packed = dataset_stats([rec(10)], sequence_len=20, packing=True)
    assert packed is not None and packed.steps_per_epoch(1000, 4, 20) == 125  # two a sequence
