"""The interview offers `preview` right after the data questions when the tokenizer is here
(issue 30, item 5), and the review's steps per epoch (and the too-few-steps warning) come from
the records Axolotl tokenized when the preview ran (item 4)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from scripted import ScriptedPrompter
from tiny_fixtures import tiny_root, workspace

from wizard import cli
from wizard.interview.data_answers import epoch_steps
from wizard.interview.flow import Interview, fixed_keys
from wizard.presets.assemble import collect_answers
from wizard.render.plan import plan_run
from wizard.tiny import alpaca_records, write_dataset

__all__ = ["tiny_root"]
SMALL = 30  # alpaca records: 15 steps of 2 one record a sequence, 8 once packed


class Answering(ScriptedPrompter):
    """Takes every default, except the answers it is given by key."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__([])
        self.answers = answers

    def _next(self, key: str, default: Any) -> Any:
        self.asked.append(key)
        self.defaults[key] = default
        return self.answers.get(key, default)


def interview(answers: dict[str, Any], *sets: str) -> tuple[Interview, Answering]:
    layered, _ = collect_answers("tiny-cpu", None, list(sets))
    prompter = Answering(answers)
    return Interview(layered, prompter, fixed=fixed_keys(layered)), prompter


def test_offered_after_the_data_questions_only_when_the_tokenizer_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-llama").mkdir()
    (tmp_path / "tiny-llama" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    write_dataset(tmp_path / "tiny-data" / "alpaca.jsonl", alpaca_records(SMALL))
    iv, prompter = interview({})
    iv.run()
    assert "datasets.preview" not in prompter.asked  # a model folder without its tokenizer
    (tmp_path / "tiny-llama" / "tokenizer_config.json").write_text("{}")
    iv, prompter = interview({})
    iv.run()  # Enter: no, and nothing is tokenized (this tokenizer could not load)
    at = prompter.asked.index("datasets.more")
    assert prompter.asked[at + 1] == "datasets.preview"
    assert prompter.defaults["datasets.preview"] is False and iv.preview is None
    assert not any("record 1:" in shown for shown in prompter.shown)


@pytest.mark.integration
def test_the_preview_shows_the_records_and_its_steps_reach_the_review_and_the_plan(
    tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    cwd = workspace(tiny_root, tmp_path)
    monkeypatch.chdir(cwd)
    write_dataset(cwd / "small.jsonl", alpaca_records(SMALL))
    prompter = Answering({"datasets.0.path": "small.jsonl", "datasets.preview": True})
    seen: list[Interview] = []

    def scripted(answers: Any, run_dir: Path | None = None, trust_remote_code: bool = False) -> Any:
        seen.append(Interview(answers, prompter, fixed=fixed_keys(answers), run_dir=run_dir))
        return seen[0].run(), seen[0].preset, seen[0].preview

    import wizard.interview.flow as flow

    monkeypatch.setattr(flow, "interview_in_terminal", scripted)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    assert cli.main(["new", "run", "--preset", "tiny-cpu", "--set",
                     "training.sample_packing=true"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    shown = "\n".join(prompter.shown)
    assert "record 1: " in shown and "record 2: " in shown and "record 3: " not in shown
    assert "packed sequences" in shown and "ok: datasets[0]: no problem found" in shown
    tokenized = (f"Data: {SMALL} records -> 8 optimizer steps an epoch at 2 sequences a step; "
                 "counted from the tokenized records")  # fmt: skip
    few = "the data makes only 8 optimizer steps an epoch at an effective batch of 2"
    review = prompter.shown[-1]
    assert tokenized in " ".join(review.split()) and few in " ".join(review.split())
    assert tokenized in out and f"warning: {few}" in err
    # Without the preview: one record a sequence, 15 steps, no warning.
    plan = plan_run(seen[0].answers, None, None, cwd)
    counted = epoch_steps(plan.spec, cwd)
    assert counted is not None and counted.steps == 15 and counted.warning() is None
