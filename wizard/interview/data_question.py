"""The dataset question: a local file (whose head is read to propose the format and mapping)
or a Hub dataset id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.axolotl.paths import is_hub_id
from wizard.interview.questions import QuestionDef, answer_text
from wizard.interview.review import preview_text
from wizard.interview.shape import OBJECTIVE_OF
from wizard.interview.sniff import SUFFIX_FORMATS, sniff
from wizard.interview.state import InterviewState, Offer


def dataset_path(iv: InterviewState, question: QuestionDef, key: str, offer: Offer) -> Any:
    below = iv.below(key)

    def check(text: str) -> str | None:
        return path_reason(text.strip(), below)

    value = iv.prompter.path(key, question.message, _default_text(offer.value), check).strip()
    index = int(key.split(".")[1])
    _sniff_into(iv, index, value, changed=value != below)
    return value


def path_reason(value: str, below: Any) -> str | None:
    """Why `value` is not a dataset: not a file we can read, not a Hub id."""
    if not value:
        return "give a data file or a Hub dataset id (org/name)"
    path = Path(value).expanduser()
    if path.is_dir():
        return f"{value} is a folder; give a data file (jsonl, json, parquet, csv)"
    if path.exists() and not path.is_file():
        return f"{value} is not a regular file (a pipe, socket or device); give a data file"
    if path.is_file():
        if path.suffix.lower() not in SUFFIX_FORMATS:
            suffix = path.suffix or "files without suffix"
            return f"cannot read {suffix}; use jsonl, json, parquet or csv"
        return None
    if is_hub_id(value) or value == below:
        return None
    return f"no such file: {value} (a Hub dataset id looks like org/name)"


def _sniff_into(iv: InterviewState, index: int, value: str, changed: bool) -> None:
    """Read a local file's head, show what it holds, and propose the format and mapping."""
    prefix = f"datasets.{index}."
    for key in [k for k in iv.proposals if k.startswith(prefix)]:
        del iv.proposals[key]
    path = Path(value).expanduser()
    if not path.is_file():
        note = "a Hub dataset: fetched at training time" if is_hub_id(value) else "not found here"
        iv.prompter.show(f"  {value}: {note}")
        return
    report = sniff(path)
    iv.sniffs[index] = report
    iv.prompter.show("\n".join(f"  {line}" for line in report.lines()))
    if report.preview:
        iv.prompter.show(preview_text(report.preview, iv.color))
    proposal = report.proposal
    if proposal is None:
        return
    for name, proposed in {"format": proposal.format, **proposal.mapping}.items():
        if changed or not iv.given_below(prefix + name):
            iv.proposals[prefix + name] = True if proposed == "true" else proposed
    # Preference data proposes its objective (DPO, KTO, GRPO); the method section asks it.
    if index == 0 and (changed or not iv.given_below("objective.kind")):
        iv.proposals["objective.kind"] = OBJECTIVE_OF.get(proposal.kind, "sft")


def _default_text(value: Any) -> str:
    return "" if value is None else answer_text(value)
