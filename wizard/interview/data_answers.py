"""Do the local dataset files hold records the answers can read?

The interview reads a file's head when its path is typed; a path given with `--set`, a preset or
an answers file is read here, before anything is written, so a `conversations/from/value` file
never trains with a `messages/role/content` mapping that matches nothing (Axolotl would find
out minutes into tokenizing, or train on empty turns).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.axolotl.paths import is_local_path
from wizard.errors import WizardError
from wizard.records import Record
from wizard.runspec import DatasetSpec, RunSpec

if TYPE_CHECKING:
    from wizard.interview.shape import Proposal
    from wizard.preview.report import Preview

DATA_LAYER = "the data files"


def with_data_proposals(answers: Answers, cwd: Path) -> Answers:
    """`new --yes` reads a local dataset whose format nobody gave, as the interview does: its
    format and field mapping (and, for the first, the objective its records call for) go in a
    layer below every other, so anything given still wins."""
    merged = answers.merged()
    values: dict[str, Any] = {}
    for index in _dataset_indices(merged):
        prefix = f"datasets.{index}."
        path_text = merged.get(prefix + "path")
        if prefix + "format" in merged or not isinstance(path_text, str):
            continue
        path = cwd / Path(path_text).expanduser()
        if not is_local_path(path_text) or not _readable_here(path):
            continue
        from wizard.interview.shape import OBJECTIVE_OF
        from wizard.interview.sniff import sniff

        proposal = sniff(path).proposal
        if proposal is None:
            continue
        for name, value in {"format": proposal.format, **proposal.mapping}.items():
            if prefix + name not in merged:
                values[prefix + name] = True if value == "true" else value
        if index == 0 and "objective.kind" not in merged:
            values["objective.kind"] = OBJECTIVE_OF.get(proposal.kind, "sft")
    if not values:
        return answers
    return Answers([Layer(DATA_LAYER, values, kind=LayerKind.DATA), *answers.layers])


def _readable_here(path: Path) -> bool:
    """A local file of a format `sniff` reads. The readers are imported only once there is a
    file to read: `new --yes` with a Hub dataset, or a file not there yet, needs none of them."""
    if not path.is_file():
        return False
    from wizard.interview.sniff import SUFFIX_FORMATS

    return path.suffix.lower() in SUFFIX_FORMATS


def _dataset_indices(merged: dict[str, Any]) -> list[int]:
    found = {k.split(".")[1] for k in merged if k.startswith("datasets.")}
    return sorted(int(i) for i in found if i.isdigit())


def expected_shape(dataset: DatasetSpec) -> Proposal:
    """The record shape the answers say the file has."""
    from wizard.interview.shape import Proposal

    if dataset.format == "chat_template":
        mapping = {"field_messages": dataset.field_messages, "role_key": dataset.role_key,
                   "content_key": dataset.content_key}  # fmt: skip
        return Proposal("chat_template", mapping)
    if dataset.format == "completion":
        return Proposal("completion", {"text_field": dataset.text_field})
    if dataset.format == "preference" and dataset.conversations:
        return Proposal("preference", {"conversations": "true"})
    return Proposal(dataset.format)


def check_dataset_files(spec: RunSpec, cwd: Path) -> list[str]:
    """Raise when no sampled record of a local file fits its answers; warnings for some."""
    warnings = []
    for index, dataset in enumerate(spec.datasets):
        path = cwd / Path(dataset.path).expanduser()
        if path.exists() and not (path.is_file() or path.is_dir()):
            warnings.append(f"datasets.{index}: {dataset.path} is not a regular file (a pipe, "
                            "socket or device); training cannot read it")  # fmt: skip
            continue
        if not is_local_path(dataset.path) or not path.is_file():
            continue  # a Hub id, or a file `check` and preflight report as missing
        if not _readable_here(path) or dataset.format == "axolotl":
            continue
        if dataset.axolotl:
            continue  # its raw keys (an imported entry's) may read the records another way
        warning = _check_one(index, dataset, path)
        if warning:
            warnings.append(warning)
    return warnings


def _check_one(index: int, dataset: DatasetSpec, path: Path) -> str | None:
    from wizard.interview.sniff import sniff

    expected = expected_shape(dataset)
    report = sniff(path, expected=expected)
    where = f"datasets.{index}: {dataset.path}"
    if report.records == 0:
        malformed = report.malformed
        if not malformed.count:
            return None  # an empty file: preflight says so
        return (f"{where}: no record could be read ({report.unit} {malformed.first_line}: "
                f"{malformed.reason})")  # fmt: skip
    misfits = report.misfits
    if misfits.count < report.records:
        if not misfits.count:
            return None
        return (
            f"{where}: {misfits.count} of the first {report.records} records do not fit "
            f"{expected.describe()} (first at {report.unit} {misfits.first_line}: "
            f"{misfits.reason})"
        )
    raise WizardError(
        f"{where}: none of the first {report.records} records fit {expected.describe()} "
        f"({report.unit} {misfits.first_line}: {misfits.reason})",
        _fix_hint(index, report.proposal),
    )


def _fix_hint(index: int, found: Proposal | None) -> str:
    if found is None:
        return "check the file, or the dataset's format and field answers"
    sets = [f"--set datasets.{index}.format={found.format}"]
    sets += [f"--set datasets.{index}.{key}={value}" for key, value in found.mapping.items()]
    return f"the records look like {found.describe()}: " + " ".join(sets)


# Under this many optimizer steps an epoch, warmup and decay have nothing to work with.
FEW_STEPS = 10


class EpochSteps(Record):
    """How many optimizer steps an epoch of the local data makes, and whether that is a guess."""

    records: int
    estimated: bool
    steps: int
    batch: int
    packed: bool
    tokenized: bool = False  # from the records Axolotl tokenized in the interview's preview

    def line(self) -> str:
        about = "about " if self.estimated else ""
        if self.tokenized:
            how = "; counted from the tokenized records (long ones dropped, packing included)"
        else:
            how = "; fewer with packing, which joins short records" if self.packed else ""
        return (
            f"Data: {about}{self.records:,} records -> {about}{self.steps:,} optimizer steps an "
            f"epoch at {self.batch} sequences a step{how}"
        )

    def warning(self) -> str | None:
        if self.steps >= FEW_STEPS:
            return None
        return (
            f"the data makes only {self.steps} optimizer step{'s' if self.steps != 1 else ''} an "
            f"epoch at an effective batch of {self.batch}: warmup and the learning-rate decay "
            "barely run; use more data, more epochs (training.num_epochs) or a smaller "
            "training.effective_batch_size"
        )


def epoch_steps(spec: RunSpec, cwd: Path, preview: Preview | None = None) -> EpochSteps | None:
    """Optimizer steps an epoch of the run's local datasets gives (None when one is a Hub
    dataset or cannot be read here). From the `preview`'s tokenized records when it still
    applies, else records are counted from the file's head: exactly when it was read whole,
    else in proportion to its size, one record a sequence."""
    if spec.pretraining_dataset:  # streamed: its steps are max_steps, not an epoch's
        return None
    tokenized = _tokenized_steps(spec, preview) if preview is not None else None
    if tokenized is not None:
        return tokenized
    records, estimated = 0, False
    for dataset in spec.datasets:
        path = cwd / Path(dataset.path).expanduser()
        if not is_local_path(dataset.path) or not _readable_here(path):
            return None
        counted = _record_count(path)
        if counted is None:
            return None
        records += counted[0]
        estimated = estimated or counted[1]
    training = spec.training
    kept = int(records * (1 - training.val_set_size)) if training.val_set_size < 1 else records
    batch = training.micro_batch_size * spec.gradient_accumulation * spec.training_processes
    steps = max(1, -(-kept // batch)) if kept else 0
    return EpochSteps(records, estimated, steps, batch, spec.resolved_packing)


def _tokenized_steps(spec: RunSpec, preview: Preview) -> EpochSteps | None:
    """The steps from the tokenized records' lengths (records longer than sequence_len dropped
    as Axolotl drops them, packing simulated), for the run's final batch; None when the answers
    changed what the preview measured (the datasets, sequence_len, packing)."""
    training = spec.training
    if preview.skipped or len(preview.datasets) != len(spec.datasets):
        return None
    if preview.sequence_len != training.sequence_len:
        return None
    batch = training.micro_batch_size * spec.gradient_accumulation * spec.training_processes
    records, steps, estimated = 0, 0, False
    for one in preview.datasets:
        size = one.sampled.records_in_file()
        packed = one.stats is not None and one.stats.packing_efficiency is not None
        if one.stats is None or size is None or packed != spec.resolved_packing:
            return None
        kept = int(size[0] * (1 - training.val_set_size)) if training.val_set_size < 1 else size[0]
        steps += one.stats.steps_per_epoch(kept, batch, preview.sequence_len)
        records, estimated = records + size[0], estimated or not size[1]
    return EpochSteps(records, estimated, steps, batch, spec.resolved_packing, tokenized=True)


def _record_count(path: Path) -> tuple[int, bool] | None:
    from wizard.interview.sniff import sniff

    try:
        report = sniff(path)
    except WizardError:
        return None
    if report.complete:
        return report.records, False
    if not report.records or not report.bytes_read or report.file_format == "parquet":
        return None
    return int(path.stat().st_size * report.records / report.bytes_read), True
