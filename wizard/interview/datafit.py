"""Do the local dataset files hold records the answers can read?

The interview reads a file's head when its path is typed; a path given with `--set`, a preset or
an answers file is read here, before anything is written, so a `conversations/from/value` file
never trains with a `messages/role/content` mapping that matches nothing (Axolotl would find
out minutes into tokenizing, or train on empty turns).
"""

from __future__ import annotations

from pathlib import Path

from wizard.axolotl.paths import is_local_path
from wizard.errors import WizardError
from wizard.interview.shape import Proposal
from wizard.interview.sniff import SUFFIX_FORMATS, sniff
from wizard.spec import DatasetSpec, RunSpec


def expected_shape(dataset: DatasetSpec) -> Proposal:
    """The record shape the answers say the file has."""
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
        if not (is_local_path(dataset.path) and path.is_file()):
            continue  # a Hub id, or a file `check` and preflight report as missing
        if path.suffix.lower() not in SUFFIX_FORMATS or dataset.format == "axolotl":
            continue
        if dataset.axolotl:
            continue  # its raw keys (an imported entry's) may read the records another way
        warning = _check_one(index, dataset, path)
        if warning:
            warnings.append(warning)
    return warnings


def _check_one(index: int, dataset: DatasetSpec, path: Path) -> str | None:
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
