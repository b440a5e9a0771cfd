"""`preview` put together: sample the datasets, tokenize them with Axolotl, check and count, and
lay the result out for a terminal, a pipe or an HTML page."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.view import AxolotlConfig
from wizard.preview import shown
from wizard.preview.checks import ASSISTANT, END_OF_TURN, DataProblem, Intent, check_dataset
from wizard.preview.sample import Sampled, refuse_unsupported, take_sample
from wizard.preview.stats import Stats, dataset_stats
from wizard.preview.tokenized import TokenizedRecord, TokenizerFacts, tokenize, tokenizer_missing
from wizard.terminal import visible

PREVIEW_RECORDS = 5  # of each dataset, unless `--records` says
PAST_THE_CUT = 32  # tokens shown after sequence_len, so the cut is seen in context
MAX_SHOWN_TOKENS = 32_768  # of one record; the checks still see all its tokens
CHAT_TYPE = "chat_template"


@dataclass(frozen=True)
class DatasetPreview:
    sampled: Sampled
    records: list[TokenizedRecord]
    findings: list[DataProblem]
    stats: Stats | None


@dataclass(frozen=True)
class Preview:
    facts: TokenizerFacts
    datasets: list[DatasetPreview]
    skipped: list[str]
    sequence_len: int | None
    batch: int  # sequences per optimizer step


def intent_of(cfg: AxolotlConfig, entry: Any) -> Intent:
    """What the run asks of one dataset's tokens."""
    entry = entry if isinstance(entry, dict) else {}
    roles = entry.get("roles_to_train")
    excess = cfg.text(K.EXCESS_LENGTH_STRATEGY) or "drop"
    return Intent(
        sequence_len=cfg.sequence_len,
        train_on_inputs=cfg.on(K.TRAIN_ON_INPUTS),
        roles_to_train=tuple(map(str, roles)) if isinstance(roles, list) else (ASSISTANT,),
        excess=excess.lower(),
        chat=str(entry.get("type") or "").split(".")[0] == CHAT_TYPE,
    )


def max_pieces(sequence_len: int | None) -> int:
    return min(MAX_SHOWN_TOKENS, (sequence_len or MAX_SHOWN_TOKENS) + PAST_THE_CUT)


def build_preview(
    cfg: AxolotlConfig,
    config_path: Path,
    count: int,
    only: int | None,
    processes: int = 1,
    python: str | None = None,
) -> Preview:
    """The preview of the config at `config_path`, trained on `processes` processes, tokenized
    by the Axolotl of `python` (default: this Python)."""
    run_dir = config_path.parent
    refuse_unsupported(cfg)
    missing = tokenizer_missing(cfg.tokenizer_source, run_dir)
    if missing is not None:
        raise missing
    with tempfile.TemporaryDirectory(prefix="wizard-preview-") as folder:
        sample = take_sample(cfg, run_dir, Path(folder), count, only)
        tokenized = tokenize(
            sample.config, run_dir, list(END_OF_TURN), max_pieces(cfg.sequence_len), python
        )
    datasets = []
    for sampled, records in zip(sample.datasets, tokenized.datasets, strict=True):
        intent = intent_of(cfg, cfg.datasets[sampled.index])
        datasets.append(
            DatasetPreview(
                sampled,
                records,
                check_dataset(records, tokenized.facts, intent),
                dataset_stats(
                    records, cfg.sequence_len, cfg.sample_packing, intent.excess == "truncate"
                ),
            )
        )
    batch = cfg.effective_batch(processes)
    return Preview(tokenized.facts, datasets, sample.skipped, cfg.sequence_len, batch)


def record_parts(preview: Preview, record: TokenizedRecord) -> list[shown.Segment]:
    return list(shown.segments(record, preview.facts.special_ids, preview.sequence_len))


def record_title(number: int, record: TokenizedRecord) -> str:
    tokens, trained = len(record.input_ids), sum(record.trained)
    share = f" ({trained / tokens:.0%})" if tokens else ""
    more = len(record.input_ids) - len(record.pieces)
    tail = f"; the last {more} tokens not shown" if more > 0 else ""
    return f"record {number}: {tokens} tokens, {trained} trained{share}{tail}"


def dataset_title(one: DatasetPreview) -> str:
    count = len(one.records)
    first = "the first record" if count == 1 else f"the first {count} records"
    where = f"datasets[{one.sampled.index}] {visible(one.sampled.source)}"
    return f"{where}: {first} as Axolotl tokenizes them"


@dataclass(frozen=True)
class EpochSteps:
    """The optimizer steps of one epoch over a dataset's whole file."""

    dataset: int
    steps: int
    records: int  # in the whole file
    exact: bool  # counted, not estimated from the file's size
    batch: int  # sequences per step

    def line(self) -> str:
        holds = (
            f"holds {self.records:,}"
            if self.exact
            else f"holds about {self.records:,} (by its size)"
        )
        step = "step" if self.steps == 1 else "steps"
        about = "" if self.exact else "about "
        return (f"{about}{self.steps:,} optimizer {step} per epoch: the file {holds} records, "
                f"{self.batch} sequences a step")  # fmt: skip


def epoch_steps(preview: Preview, one: DatasetPreview) -> EpochSteps | None:
    size = one.sampled.records_in_file()
    if one.stats is None or size is None:
        return None
    records, exact = size
    steps = one.stats.steps_per_epoch(records, preview.batch, preview.sequence_len)
    return EpochSteps(one.sampled.index, steps, records, exact, preview.batch)


def stats_lines(preview: Preview, one: DatasetPreview) -> list[str]:
    """The dataset's figures, and the optimizer steps of an epoch over its whole file."""
    steps = epoch_steps(preview, one)
    lines = [] if one.stats is None else [one.stats.line()]
    return lines + ([] if steps is None else [steps.line()])


def finding_lines(one: DatasetPreview) -> list[str]:
    where = f"datasets[{one.sampled.index}]"
    lines = [f"warning: {where}: {visible(why)} (not previewed)" for why in one.sampled.unreadable]
    for finding in one.findings:
        lines.append(f"{finding.severity}: {where}: {finding.message}")
        lines.append(f"  fix: {finding.fix}")
    return lines


def text_report(preview: Preview, colour: bool) -> str:
    render = shown.as_terminal if colour else shown.as_brackets
    out = [] if colour else [f"legend: {shown.LEGEND}"]
    out += [f"warning: {visible(line)} (not previewed)" for line in preview.skipped]
    for one in preview.datasets:
        out += ["", dataset_title(one)]
        for number, record in enumerate(one.records, start=1):
            out += ["", record_title(number, record), render(record_parts(preview, record))]
        out += ["", *stats_lines(preview, one)]
        out += finding_lines(one) or [f"ok: datasets[{one.sampled.index}]: no problem found"]
    return "\n".join(out) + "\n"


def html_report(preview: Preview) -> str:
    body = []
    for one in preview.datasets:
        body.append(f"<h2>{shown.html_text(dataset_title(one))}</h2>")
        for number, record in enumerate(one.records, start=1):
            body.append(f"<h3>{shown.html_text(record_title(number, record))}</h3>")
            body.append(shown.as_html(record_parts(preview, record)))
        body += [f"<p>{shown.html_text(line)}</p>" for line in stats_lines(preview, one)]
        for line in finding_lines(one):
            kind = line.split(":", 1)[0] if not line.startswith(" ") else "fix"
            body.append(f'<p class="{kind}">{shown.html_text(line)}</p>')
    return shown.html_page("\n".join(body))


def has_errors(preview: Preview) -> bool:
    return any(f.severity == "error" for one in preview.datasets for f in one.findings)
