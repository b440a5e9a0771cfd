"""Right after the data questions: an offer to see the first records as Axolotl tokenizes them.

Asked only when it can run here: a local dataset, and the model's tokenizer on this machine (a
folder, or the Hugging Face cache; nothing is downloaded). One yes/no, default no: the preview
starts a child process that imports Axolotl (seconds). On yes it shows `preview`'s terminal
output for a few records of each dataset, and keeps the figures for the review's steps per epoch.
"""

from __future__ import annotations

from pathlib import Path

from wizard.errors import WizardError
from wizard.interview.state import InterviewState

RECORDS = 2  # of each dataset: enough to see the masking, quick to tokenize
KEY = "datasets.preview"
QUESTION = "Preview the first records as Axolotl tokenizes them (trained and masked tokens)?"


def offer_preview(iv: InterviewState) -> None:
    from wizard.axolotl.view import view_of
    from wizard.preview.report import build_preview, text_report
    from wizard.preview.tokenized import tokenizer_missing
    from wizard.render.plan import plan_run
    from wizard.render.runfolder import CONFIG_FILENAME

    iv.preview = None  # the data questions were (re)asked: an earlier preview is stale
    cwd = Path.cwd()
    if not _local_data(iv, cwd):
        return
    try:  # the config as it stands, its paths as typed (relative to here)
        plan = plan_run(iv.answers, iv.preset, None, cwd, strict=False)
    except WizardError:
        return  # answers that do not make a run yet: the review asks about them
    cfg = view_of(plan.folder.config)
    if tokenizer_missing(cfg.tokenizer_source, cwd) is not None:
        return
    if not iv.prompter.confirm(KEY, QUESTION, False):
        return
    iv.prompter.show("  Tokenizing with Axolotl (a few seconds)...")
    try:
        preview = build_preview(cfg, cwd / CONFIG_FILENAME, RECORDS, None)
    except WizardError as err:
        iv.prompter.show(f"  ! no preview: {err.message}")
        return
    iv.preview = preview
    iv.prompter.show(text_report(preview, iv.color).rstrip("\n"))


def _local_data(iv: InterviewState, cwd: Path) -> bool:
    """Whether any dataset is a file on this machine (the preview reads only those)."""
    paths = [v for k, v in iv.merged().items() if k.startswith("datasets.") and k.endswith(".path")]
    return any((cwd / Path(path).expanduser()).is_file() for path in paths if isinstance(path, str))
