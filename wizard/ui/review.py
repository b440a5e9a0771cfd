"""The page's plan: the walked answers made into the run `new` would write (`plan_run`, the one
path from answers to files), and what the Review tab shows of it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import WizardError
from wizard.interview.data_answers import with_data_proposals
from wizard.render.plan import RunPlan, plan_run
from wizard.terminal import shell_path, visible
from wizard.ui.walk import Walked

# The engines `launch` starts a run with, and the options that pick each (`launch --help`).
ENGINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("accelerate", ()),
    ("torchrun", ("--launcher", "torchrun")),
    ("Slurm (sbatch script)", ("--slurm",)),
    ("Kubernetes (Kubeflow)", ("--kubernetes",)),
    ("SkyPilot", ("--skypilot",)),
    ("Ray", ("--ray",)),
)


@dataclass
class Planned:
    """The plan of the page's answers for `run_dir`, or the terminal's error for them."""

    plan: RunPlan | None
    problem: WizardError | None


def plan_page(walked: Walked, run_dir: Path) -> Planned:
    """What Write would write: the answers as `new --yes` takes them (a local dataset's format
    proposed from its records), planned for `run_dir` from here."""
    if walked.problem is not None:
        return Planned(None, walked.problem)
    try:
        answers = with_data_proposals(walked.answers, Path.cwd())
        return Planned(plan_run(answers, walked.preset, run_dir, Path.cwd()), None)
    except WizardError as err:
        return Planned(None, err)


def problem_text(err: WizardError, markdown: bool = True) -> str:
    """The terminal's `error:` and `hint:` lines, as Markdown that shows them as they are (or
    as plain text, for a code box)."""
    lines = [f"error: {err.message}"] + ([f"hint: {err.hint}"] if err.hint else [])
    if not markdown:
        return "\n".join(visible(line) for line in lines)
    return "  \n".join(markdown_line(line) for line in lines)


def markdown_line(text: str) -> str:
    """One line of text (a typed value may be in it) that Markdown shows as it is written:
    no controls, no HTML, no emphasis or link made of the user's characters."""
    escaped = html.escape(visible(text), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~-])", r"\\\1", escaped)


def file_texts(plan: RunPlan) -> list[tuple[str, str]]:
    """Every file of the run folder with its text, the config first."""
    return [(name, text) for name, text in plan.folder.files.items()]


def facts_text(plan: RunPlan) -> str:
    """The batch arithmetic, the recipe and the memory line, as the terminal's review says them."""
    from wizard.interview.review import memory_text, recipe_text
    from wizard.render.runfolder import batch_arithmetic

    lines = [f"Batch:  {batch_arithmetic(plan.spec)}", f"Recipe: {recipe_text(plan)}"]
    if plan.fit.plan is not None:
        lines.append(f"Auto-fit: {plan.fit.plan.describe()}")
    lines.append(f"Memory: {memory_text(plan)}")
    lines += [f"warning: {finding.message}" for finding in plan.warnings]
    return "\n".join(visible(line) for line in lines)


def launch_commands(run_dir: Path) -> str:
    """The command that launches the run with each engine, quoted for a shell; `--dry-run`
    prints what it would start."""
    folder = shell_path(run_dir)
    lines = []
    for engine, options in ENGINES:
        line = " ".join(("axolotl-wizard", "launch", folder, *options))
        lines.append(f"# {engine}\n{line} --dry-run\n{line}")
    return "\n".join(lines)
