"""`preview`'s checks on the first records of each local dataset, before the run starts.

A masked end-of-turn token or a record that trains nothing is found by training for hours and
reading the outputs; the preview finds it from a few records in seconds. The records go through
the same child process as `preview` (Axolotl's own tokenization, offline, with the Python that
will train); nothing is rendered. One child per launch, `RECORDS` records of each dataset.
"""

from __future__ import annotations

from wizard.errors import WizardError
from wizard.launch.checks import Preflight

RECORDS = 3  # of each dataset: enough for the checks, little for the child to tokenize
SKIPPED = "data checks skipped"


def check_tokens(pre: Preflight) -> None:
    """The preview's errors fail the launch and its warnings are printed; where the preview
    cannot run (preference or streamed data, Hub datasets, no tokenizer here) one line says so.
    Not on a dry run (it starts nothing, often for another machine), nor once another check has
    failed the launch, nor with --no-data-checks."""
    if not pre.data_checks or pre.dry_run or pre.errors:
        return
    from wizard.preview.report import build_preview
    from wizard.preview.tokenized import TokenizationFailed

    target = pre.target
    try:
        preview = build_preview(target.config, target.config_path, RECORDS, None, python=pre.python)
    except TokenizationFailed as err:  # the training would stop on the same records
        pre.error(err.message, err.hint)
        return
    except WizardError as err:  # rl or streamed data, no tokenizer or data file here, no Axolotl
        pre.warn(f"{SKIPPED}: {err.message}", err.hint)
        return
    for line in preview.skipped:
        pre.warn(f"{SKIPPED} for {line}")
    for one in preview.datasets:
        for finding in one.findings:
            report = pre.error if finding.severity == "error" else pre.warn
            report(f"datasets[{one.sampled.index}]: {finding.message}", finding.fix)
