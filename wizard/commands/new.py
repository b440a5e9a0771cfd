"""`axolotl-wizard new [DIR]`: answers (interview or flags) -> a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.commands.argtypes import add_set_argument, verb_parser
from wizard.errors import WizardError
from wizard.records import Record
from wizard.terminal import shell_path, visible, warn

if TYPE_CHECKING:
    from wizard.answers.file import PresetRef
    from wizard.answers.layers import Answers
    from wizard.interview.data_answers import EpochSteps
    from wizard.preview.report import Preview
    from wizard.render.plan import RunPlan

EPILOG = """\
examples:
  axolotl-wizard new runs/llama8b
  axolotl-wizard new runs/llama8b --preset llama-3.1-8b-qlora \\
      --set datasets.0.path=data/train.jsonl --yes
  axolotl-wizard new runs/again --answers runs/llama8b/wizard-answers.yml --yes
  axolotl-wizard new runs/mine --from their-axolotl.yml --yes
  axolotl-wizard new runs/big --preset llama-3.1-8b-qlora --set hardware.gpus_per_node=8 \\
      --set distributed.backend=deepspeed --set distributed.zero_stage=2 --yes

Answers are layered, lowest first: defaults < --preset chain < --answers file < --set < what
you type. Raw Axolotl keys pass through with --set axolotl.KEY=VALUE. --from imports an
Axolotl config instead: its keys become answers or raw keys, and the run trains as it did.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(
        subparsers, common, "new",
        "interview (or flags) -> axolotl.yml, DeepSpeed JSON, wizard-answers.yml", EPILOG,
        "Write a run folder: axolotl.yml, deepspeed/zero*.json when used, and wizard-answers.yml.",
    )  # fmt: skip
    parser.add_argument("dir", nargs="?", default=".", help="the run folder (default: here)")
    parser.add_argument("--preset", help="start from this preset (see `presets list`)")
    parser.add_argument("--answers", type=Path, help="a wizard-answers.yml to start from")
    parser.add_argument(
        "--from",
        dest="from_config",
        type=Path,
        metavar="CONFIG",
        help="import an Axolotl config (and the DeepSpeed JSON it names) to start from",
    )
    add_set_argument(parser, "set one answer (dotted key, YAML value); repeatable")
    parser.add_argument("--yes", "-y", action="store_true", help="ask nothing; fail if unanswered")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow a team or project preset to turn on trust_remote_code (its model's own "
        "Python code runs when the model loads)",
    )
    parser.add_argument(
        "--unlock",
        action="store_true",
        help="let --set, --answers and the interview change answers the preset locks",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `--help` must not pay for Pydantic.
    from wizard.interview.data_answers import epoch_steps, with_data_proposals
    from wizard.presets.assemble import collect_answers

    run_dir = Path(args.dir)
    if args.from_config is not None:
        answers, preset = _imported_answers(args, run_dir), None
    else:
        answers, preset = collect_answers(args.preset, args.answers, args.sets, args.unlock)
    preview = None  # the records Axolotl tokenized in the interview, when the user asked
    if not args.yes:
        answers, chosen, preview = _interview(answers, run_dir, args.trust_remote_code)
        preset = chosen or preset
    elif args.from_config is None:
        answers = with_data_proposals(answers, Path.cwd())
    written = write_answers(answers, preset, run_dir, args.force, args.trust_remote_code)
    for warning in written.warnings:
        warn(warning)
    plan = written.plan
    steps = epoch_steps(plan.spec, Path.cwd(), preview)
    for note in written.notes:
        print(f"note: {visible(note)}", file=sys.stderr)
    print_plan(run_dir, plan, steps)
    for finding in plan.warnings:
        warn(finding.message)
    return 0


class Written(Record):
    plan: RunPlan
    warnings: list[str]  # said before the files were written: method switches, dataset files
    notes: list[str]  # what writing the folder did besides (files kept, a stale swap undone)


def write_answers(
    answers: Answers, preset: PresetRef | None, run_dir: Path, force: bool, trust_remote_code: bool
) -> Written:
    """Plan and write the run folder of these answers: the one path `new` and the page's Write
    button take, so both write the same bytes for the same answers."""
    from wizard.folders import write_run_folder
    from wizard.interview.data_answers import check_dataset_files
    from wizard.render.plan import plan_run

    _refuse_untrusted_remote_code(answers, trust_remote_code)
    warnings = [switch.warning() for switch in answers.method_switches()]
    plan = plan_run(answers, preset, run_dir, Path.cwd())
    warnings += check_dataset_files(plan.spec, Path.cwd())
    notes = write_run_folder(run_dir, plan.folder.files, force=force)
    return Written(plan, warnings, notes)


def _imported_answers(args: argparse.Namespace, run_dir: Path) -> Answers:
    """The answers of an imported config, with --set on top; what the import left out is said."""
    from wizard.answers.layers import Answers
    from wizard.answers.sets import parse_sets
    from wizard.importer import import_config

    if args.preset or args.answers:
        raise WizardError(
            "--from starts from an Axolotl config, so it cannot be combined with "
            f"{'--preset' if args.preset else '--answers'}",
            "import alone, then change answers with --set or the interview",
        )
    imported = import_config(args.from_config, cwd=Path.cwd(), run_dir=run_dir)
    source = imported.source
    raw = len(source.cfg) - len(imported.claimed)
    print(f"Imported {visible(str(args.from_config))}: {len(imported.claimed)} keys became "
          f"answers, {raw} stay raw Axolotl keys")  # fmt: skip
    for line in source.renamed:
        print(f"  carried in its current form: {visible(line)}")
    for line in source.notes:
        print(f"  {visible(line)}")
    for line in source.dropped:
        warn(f"not carried: {line}")
    for line in source.warnings:
        warn(line)
    sets = parse_sets(args.sets)
    if args.yes and not any(key.startswith("hardware.") for key in sets.values):
        print(
            "  An Axolotl config does not say which GPUs it runs on: the plan is for 1 GPU. Say "
            "so with --set hardware.gpus_per_node=N --set hardware.gpu=NAME (H100, A100-80GB, ...)"
        )
    return Answers([imported.layer, sets])


def _refuse_untrusted_remote_code(answers: Answers, allowed: bool) -> None:
    from wizard.presets.locks import remote_code_refusal, untrusted_remote_code

    sources = untrusted_remote_code(answers)
    if sources and not allowed:
        raise remote_code_refusal(sources)


def _interview(
    answers: Answers, run_dir: Path, trust_remote_code: bool
) -> tuple[Answers, PresetRef | None, Preview | None]:
    if not sys.stdin.isatty():
        raise WizardError(
            "the interview needs a terminal, and stdin is not one",
            "pass --yes (with --preset / --set / --answers) to write without questions",
        )
    # Only the interactive path pays for questionary and rich.
    from wizard.interview.flow import interview_in_terminal

    return interview_in_terminal(answers, run_dir, trust_remote_code)


def print_plan(run_dir: Path, plan: RunPlan, steps: EpochSteps | None = None) -> None:
    from wizard.render.autofit_layer import memory_line
    from wizard.render.runfolder import batch_arithmetic

    fit, result = plan.fit, plan.estimate
    print(f"Wrote {visible(str(run_dir))}/")
    for name in plan.folder.files:
        print(f"  {name}")
    print(f"Batch: {batch_arithmetic(plan.spec)}")
    if steps is not None:
        print(steps.line())
        if steps.warning():
            print(f"warning: {steps.warning()}", file=sys.stderr)
    if fit.plan is not None:
        print(f"Auto-fit: {fit.plan.describe()}")
    if fit.note:
        print(fit.note)
    if result is not None:
        print(memory_line(result, plan.spec))
        for advice in result.advice[:3] if result.fits is False else ():
            print(f"  to fit: {advice.change} ({advice.peak_gib_per_gpu:.1f} GiB)")
    print("Next:")
    for line in next_commands(run_dir):
        print(f"  {line}")


def next_commands(run_dir: Path) -> list[str]:
    """What to run next, quoted for a shell (people paste these lines), whatever the folder is
    called: controls escaped, and never read as an option (`./-rf`)."""
    return [
        f"axolotl-wizard check {shell_path(run_dir / 'axolotl.yml')}",
        f"axolotl-wizard estimate {shell_path(run_dir)}",
        f"axolotl-wizard launch {shell_path(run_dir)}",
    ]
