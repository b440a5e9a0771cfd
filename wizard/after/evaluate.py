"""The eval loss of a trained run, through Axolotl's evaluate; and its lm-eval integration where
the config names `lm_eval_tasks`."""

from __future__ import annotations

import csv
import io
import subprocess
from dataclasses import dataclass

from wizard.after.commands import evaluate_command, lm_eval_command
from wizard.after.step import Ran, Step, require_success, run_step
from wizard.after.trained import Trained
from wizard.launch.checks import Preflight
from wizard.launch.child import TextSink
from wizard.launch.command import LaunchCommand
from wizard.launch.manifest import ManifestDir
from wizard.yamlio import read_text_file

SUMMARY = "eval_summary.csv"  # what axolotl.evaluate writes into its output_dir
LM_EVAL_TASKS = "lm_eval_tasks"  # the lm-eval plugin's key (not in Axolotl's core schema)
_HAS_LM_EVAL = "import importlib.util, sys; sys.exit(importlib.util.find_spec('lm_eval') is None)"


@dataclass(frozen=True)
class Losses:
    eval_loss: float | None
    train_loss: float | None
    perplexity: float | None  # of the eval split
    ran: Ran


def check_eval_split(pre: Preflight) -> None:
    if not Trained.of(pre.target).has_eval_split:
        pre.error(
            "this run has no eval split (val_set_size is 0 and it names no test_datasets)",
            "make the run with one, e.g. --set training.val_set_size=0.05, and train it",
        )


def evaluate(trained: Trained, pre: Preflight) -> Losses:
    """Evaluate with the step's record folder as Axolotl's output_dir, then read its summary."""

    def command(record: ManifestDir) -> LaunchCommand:
        return evaluate_command(pre.python, trained, record.relative)

    ran = run_step(trained, pre, Step("evaluate", command, writes=True), None)
    require_success(ran, "the evaluation")
    rows = _summary(read_text_file(ran.manifest.path / SUMMARY, "evaluation summary"))
    loss, perplexity = rows.get("loss", {}), rows.get("ppl", {})
    return Losses(loss.get("validation"), loss.get("training"), perplexity.get("validation"), ran)


def _summary(text: str) -> dict[str, dict[str, float]]:
    """metric -> {"training": x, "validation": y} from Axolotl's CSV (empty cells left out)."""
    rows: dict[str, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        values = {}
        for split in ("training", "validation"):
            try:
                values[split] = float(row.get(split) or "")
            except ValueError:
                continue
        rows[row.get("metric") or ""] = values
    return rows


def lm_eval_tasks(trained: Trained) -> list[str]:
    tasks = trained.target.config.raw.get(LM_EVAL_TASKS)
    if isinstance(tasks, str):
        return [tasks]
    return [str(task) for task in tasks] if isinstance(tasks, list) else []


def has_lm_eval(python: str) -> bool:
    try:
        found = subprocess.run([python, "-c", _HAS_LM_EVAL], capture_output=True, check=False,
                               timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def check_lm_eval(pre: Preflight) -> None:
    """The config's lm_eval_tasks need the lm_eval package: said before the eval loss runs."""
    tasks = lm_eval_tasks(Trained.of(pre.target))
    if tasks and not has_lm_eval(pre.python):
        pre.warn(
            f"the config names lm_eval_tasks ({', '.join(tasks)}), and lm_eval is not "
            f"installed for {pre.python}: only the eval loss runs",
            "pip install lm-eval there (Axolotl's lm-eval integration runs it)",
        )


def run_lm_eval(trained: Trained, pre: Preflight, echo: TextSink | None) -> Ran:
    """Axolotl's `lm-eval` command, which runs the `lm_eval` harness on the tasks."""
    ran = run_step(trained, pre, Step("evaluate", lm_eval_command(pre.python, trained), True), echo)
    require_success(ran, "lm-eval")
    return ran
