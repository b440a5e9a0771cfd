"""Dataset sniffing: every format, malformed lines, mixed schemas, empty files, and a large file
whose head is read without reading the rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import TESTS

from wizard.errors import WizardError
from wizard.interview.shape import OBJECTIVE_OF, Proposal, misfit_reason, propose
from wizard.interview.sniff import MAX_BYTES, sniff

DATA = TESTS / "data" / "sniff"


def test_jsonl_alpaca_with_a_malformed_line_and_a_stray_schema() -> None:
    report = sniff(DATA / "alpaca.jsonl")
    assert report.proposal == Proposal("alpaca")
    assert report.complete and report.records == 5
    assert (report.malformed.count, report.malformed.first_line) == (1, 3)
    assert (report.misfits.count, report.misfits.first_line) == (1, 5)
    text = "\n".join(report.lines())
    assert "1 record cannot be read (first at line 3" in text
    assert "1 record does not fit (first at line 5" in text


def test_sharegpt_json_array_proposes_the_from_value_mapping() -> None:
    report = sniff(DATA / "sharegpt.json")
    assert report.proposal == Proposal(
        "chat_template",
        {"field_messages": "conversations", "role_key": "from", "content_key": "value"},
    )
    assert report.records == 4
    assert report.misfits.first_line == 4  # the array's third element starts on line 4
    assert "message 0 has no text in 'value'" in report.misfits.reason


def test_openai_messages() -> None:
    proposal = sniff(DATA / "messages.jsonl").proposal
    assert proposal is not None and proposal.format == "chat_template"
    assert proposal.mapping == {"field_messages": "messages", "role_key": "role",
                                "content_key": "content"}  # fmt: skip


def test_csv_completion_with_a_row_of_the_wrong_width() -> None:
    report = sniff(DATA / "completion.csv")
    assert report.proposal == Proposal("completion", {"text_field": "text"})
    assert report.records == 3
    assert (report.malformed.count, report.malformed.first_line) == (1, 4)
    assert "4 fields, the header has 2" in report.malformed.reason


def test_input_output_segments() -> None:
    assert sniff(DATA / "segments.jsonl").proposal == Proposal("input_output")


@pytest.mark.parametrize(
    ("name", "proposal", "objective"),
    [
        ("preference.jsonl", Proposal("preference"), "dpo"),
        ("argilla.jsonl", Proposal("preference", {"conversations": "true"}), "dpo"),
        ("unpaired.jsonl", Proposal("unpaired_preference"), "kto"),
        ("prompts.jsonl", Proposal("prompts"), "grpo"),
    ],
)
def test_preference_shapes_are_formats_that_propose_their_objective(
    name: str, proposal: Proposal, objective: str
) -> None:
    report = sniff(DATA / name)
    assert report.proposal == proposal
    assert report.misfits.count == 0
    assert OBJECTIVE_OF[proposal.format] == objective
    assert f"Looks like {proposal.format}" in "\n".join(report.lines())


def test_a_kto_label_must_be_true_or_false(tmp_path: Path) -> None:
    path = tmp_path / "kto.jsonl"
    path.write_text(
        '{"prompt": "a", "completion": "b", "label": true}\n'
        '{"prompt": "a", "completion": "b", "label": "yes"}\n'
    )
    report = sniff(path, expected=Proposal("unpaired_preference"))
    assert report.misfits.count == 1 and "label is not true or false" in report.misfits.reason


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.json"])
def test_empty_files(name: str) -> None:
    report = sniff(DATA / name)
    assert report.records == 0 and report.proposal is None
    assert "no records" in "\n".join(report.lines())


def test_empty_csv_and_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    (tmp_path / "e.csv").write_text("")
    assert sniff(tmp_path / "e.csv").records == 0
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "e.parquet")
    assert sniff(tmp_path / "e.parquet").records == 0


def test_parquet_messages_and_mixed_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(5)]
    rows[2]["output"] = None  # type: ignore[assignment]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    report = sniff(tmp_path / "d.parquet")
    assert report.proposal == Proposal("alpaca") and report.unit == "row"
    assert (report.misfits.count, report.misfits.first_line) == (1, 3)


def test_large_jsonl_head_only(tmp_path: Path) -> None:
    line = json.dumps({"instruction": "x" * 200, "input": "", "output": "y" * 200}) + "\n"
    big = tmp_path / "big.jsonl"
    with big.open("w") as handle:
        for _ in range(150_000):  # ~63 MB
            handle.write(line)
    report = sniff(big)
    assert not report.complete and report.records == 500
    assert report.bytes_read < 1_000_000 < big.stat().st_size / 50
    assert "the first 500 records" in report.lines()[0]


def test_large_json_array_and_csv_head_only(tmp_path: Path) -> None:
    record = {"text": "z" * 1000}
    array = tmp_path / "big.json"
    array.write_text("[\n" + ",\n".join([json.dumps(record)] * 40_000) + "\n]\n")
    csv_file = tmp_path / "big.csv"
    csv_file.write_text("text\n" + ("z" * 1000 + "\n") * 40_000)
    for path in (array, csv_file):
        report = sniff(path, max_records=10)
        assert report.records == 10 and not report.complete
        assert report.bytes_read < 200_000 < path.stat().st_size


def test_large_parquet_reads_only_the_first_row_groups(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    texts = ["t" * 2000 + str(i) for i in range(20_000)]
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=500, compression="none")
    report = sniff(path)
    assert report.records == 500 and not report.complete
    assert report.bytes_read < path.stat().st_size / 10


def test_byte_limit_stops_early(tmp_path: Path) -> None:
    path = tmp_path / "wide.jsonl"
    path.write_text((json.dumps({"text": "w" * 100_000}) + "\n") * 200)
    report = sniff(path)
    assert not report.complete and report.bytes_read <= MAX_BYTES + 200_000


def test_missing_pyarrow_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(WizardError, match="needs pyarrow"):
        sniff(path)


def test_unknown_suffix_and_bad_json_root(tmp_path: Path) -> None:
    with pytest.raises(WizardError, match=r"cannot read \.txt"):
        sniff(tmp_path / "notes.txt")
    (tmp_path / "n.json").write_text("42\n")
    assert sniff(tmp_path / "n.json").malformed.count == 1


def test_majority_wins_and_misfits_explain_themselves() -> None:
    records = [{"text": "a"}, {"instruction": "i", "output": "o"}, {"text": "b"}]
    proposal = propose(records)
    assert proposal == Proposal("completion", {"text_field": "text"})
    assert misfit_reason(records[1], proposal) == "no text in 'text'"
    assert propose([{"id": 1}]) is None
