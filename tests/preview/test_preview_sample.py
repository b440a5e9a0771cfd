"""What `preview` hands Axolotl: the head of each dataset, read within bounds, and a copy of the
config that names it; and the refusals that come before any tokenizer is loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wizard.axolotl.view import view_of
from wizard.cli import main
from wizard.commands import preview as preview_command
from wizard.errors import WizardError
from wizard.preview.sample import LIMITS, MAX_RECORDS, read_head, take_sample
from wizard.preview.tokenized import tokenizer_missing


def config(tmp_path: Path, datasets: list[dict[str, object]], **keys: object) -> Path:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (tmp_path / "model").mkdir(exist_ok=True)
    data = {
        "base_model": "../model",
        "datasets": datasets,
        "sequence_len": 64,
        "val_set_size": 0.1,
        "sample_packing": True,
        "deepspeed": "ds.json",
        **keys,
    }
    path = run / "axolotl.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def rows(count: int) -> str:
    return "".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n"
                   for i in range(count))  # fmt: skip


def test_the_first_records_and_a_config_that_names_them(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(rows(100))
    path = config(tmp_path, [{"path": "../a.jsonl", "type": "alpaca", "split": "train"}])
    out = tmp_path / "out"
    out.mkdir()
    sample = take_sample(view_of(yaml.safe_load(path.read_text())), path.parent, out, 3, None)
    copy = yaml.safe_load(sample.config.read_text())
    written = (out / "dataset-0.jsonl").read_text().splitlines()
    assert [json.loads(line)["instruction"] for line in written] == ["q0", "q1", "q2"]
    assert copy["datasets"] == [{"path": str(out / "dataset-0.jsonl"), "ds_type": "json",
                                 "type": "alpaca"}]  # fmt: skip
    assert (copy["val_set_size"], copy["sample_packing"], copy["dataset_num_proc"]) == (0, False, 1)
    assert "deepspeed" not in copy and copy["sequence_len"] == 64
    assert copy["dataset_prepared_path"].startswith(str(out))


def test_a_huge_line_is_not_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:  # sparse: 6 GB of nothing, then a record
        handle.truncate(6 * 2**30)
    path = config(tmp_path, [{"path": "../big.jsonl", "type": "alpaca"}])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(WizardError, match=r"no record to show \(line 1: longer than 4 MiB"):
        take_sample(view_of(yaml.safe_load(path.read_text())), path.parent, out, 5, None)
    assert LIMITS.budget < 2**30  # read up to here, not to the end of the 6 GB


def test_hub_datasets_are_skipped_and_a_wrong_index_refused(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(rows(2))
    path = config(tmp_path, [{"path": "tatsu-lab/alpaca", "type": "alpaca"},
                             {"path": "../a.jsonl", "type": "alpaca"}])  # fmt: skip
    cfg = view_of(yaml.safe_load(path.read_text()))
    out = tmp_path / "out"
    out.mkdir()
    sample = take_sample(cfg, path.parent, out, 5, None)
    assert [d.index for d in sample.datasets] == [1]
    assert sample.skipped == ["datasets[0]: tatsu-lab/alpaca is a Hub dataset; preview reads "
                              "local files only"]  # fmt: skip
    with pytest.raises(WizardError, match="the config has 2 datasets"):
        take_sample(cfg, path.parent, out, 5, 2)


def test_a_tokenizer_not_here_is_one_line_with_the_command_that_fetches_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    (tmp_path / "a.jsonl").write_text(rows(2))
    path = config(tmp_path, [{"path": "../a.jsonl", "type": "alpaca"}],
                  base_model="some-org/not-downloaded")  # fmt: skip
    assert main(["preview", str(path.parent)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("error: the tokenizer of some-org/not-downloaded is not on this machine "
                      "(preview downloads nothing)")  # fmt: skip
    assert err[1].startswith("hint: fetch it: hf download some-org/not-downloaded --include")
    assert len(err) == 2
    missing = tokenizer_missing("../model", path.parent)  # a model folder without a tokenizer
    assert missing is not None and missing.message == (
        "the folder ../model holds no tokenizer (tokenizer.json, tokenizer_config.json, "
        "tokenizer.model)"
    )
    (tmp_path / "model" / "tokenizer_config.json").write_text("{}")
    assert tokenizer_missing("../model", path.parent) is None


def test_preference_runs_are_refused_before_anything_is_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, [{"path": "../a.jsonl", "type": "chatml.intel"}], rl="dpo")
    assert main(["preview", str(path)]) == 1
    assert "this run trains with rl: dpo" in capsys.readouterr().err
    assert os.listdir(path.parent) == ["axolotl.yml"]  # nothing written beside the config


def test_the_page_is_not_overwritten_and_the_record_count_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.jsonl").write_text(rows(2))
    path = config(tmp_path, [{"path": "../a.jsonl", "type": "alpaca"}])
    page = tmp_path / "page.html"
    page.write_text("mine")
    assert main(["preview", str(path), "--html", str(page)]) == 1  # before any tokenizing
    assert "already exists; nothing was written" in capsys.readouterr().err
    assert page.read_text() == "mine"
    with pytest.raises(SystemExit) as usage:
        main(["preview", str(path), "--records", "51"])
    assert usage.value.code == 2
    assert "51 is not a number of records (1 to 50)" in capsys.readouterr().err
    assert preview_command.MAX_RECORDS == MAX_RECORDS  # the parser's bound is the sampler's


def test_the_verbs_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys; from wizard.cli import main\n"
        "try:\n    main(['preview', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', "
        "'axolotl', 'datasets', 'rich', 'pydantic'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert "usage: axolotl-wizard preview" in done.stdout
    assert done.stdout.strip().endswith("[]")


def test_the_records_of_the_whole_file_counted_or_estimated_by_size(tmp_path: Path) -> None:
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text(rows(30))
    large.write_text(rows(20_000))  # more than the first chunk the reader takes
    counted = read_head(small, 0, 5)
    assert len(counted.records) == 5 and counted.records_in_file() == (30, True)
    estimated = read_head(large, 0, 5)
    size = estimated.records_in_file()
    assert size is not None and not size[1] and 15_000 < size[0] < 25_000
