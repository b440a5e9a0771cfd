"""`axolotl-wizard new [DIR]`: answers (interview or flags) -> a run folder."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.commands.argtypes import add_set_argument
from wizard.errors import UsageError, WizardError

if TYPE_CHECKING:
    from wizard.answers.file import PresetRef
    from wizard.answers.layers import Answers, Layer
    from wizard.build.plan import RunPlan

EPILOG = """\
examples:
  axolotl-wizard new runs/llama8b
  axolotl-wizard new runs/llama8b --preset llama-3.1-8b-qlora \\
      --set datasets.0.path=data/train.jsonl --yes
  axolotl-wizard new runs/again --answers runs/llama8b/wizard-answers.yml --yes
  axolotl-wizard new runs/big --preset llama-3.1-8b-qlora --set hardware.gpus_per_node=8 \\
      --set distributed.backend=deepspeed --set distributed.zero_stage=2 --yes

Answers are layered, lowest first: defaults < --preset chain < --answers file < --set < what
you type. Raw Axolotl keys pass through with --set axolotl.KEY=VALUE.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "new",
        parents=[common],
        help="interview (or flags) -> axolotl.yml, DeepSpeed JSON, wizard-answers.yml",
        description="Write a run folder: axolotl.yml, deepspeed/zero*.json when used, and "
        "wizard-answers.yml.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", nargs="?", default=".", help="the run folder (default: here)")
    parser.add_argument("--preset", help="start from this preset (see `presets list`)")
    parser.add_argument("--answers", type=Path, help="a wizard-answers.yml to start from")
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
    from wizard.build.plan import plan_run
    from wizard.build.runlint import lint_run_folder
    from wizard.files import write_all
    from wizard.interview.datafit import check_dataset_files

    answers, preset = collect_answers(args.preset, args.answers, args.sets, args.unlock)
    run_dir = Path(args.dir)
    if not args.yes:
        answers, chosen = _interview(answers, run_dir, args.trust_remote_code)
        preset = chosen or preset
    _refuse_untrusted_remote_code(answers, args.trust_remote_code)
    for switch in answers.method_switches():
        print(f"warning: {switch.warning()}", file=sys.stderr)
    plan = plan_run(answers, preset, run_dir, Path.cwd())
    for warning in check_dataset_files(plan.spec, Path.cwd()):
        print(f"warning: {warning}", file=sys.stderr)
    warnings = lint_run_folder(plan.folder, run_dir)
    files = {run_dir / name: text for name, text in plan.folder.files.items()}
    write_all(files, force=args.force, folder=run_dir)
    print_plan(run_dir, plan)
    for finding in warnings:
        print(f"warning: {finding.message}", file=sys.stderr)
    return 0


def collect_answers(
    preset_name: str | None, answers_path: Path | None, sets: list[str], unlock: bool = False
) -> tuple[Answers, PresetRef | None]:
    """Every layer below the interview: preset chain, answers file, --set; then the preset's
    locked answers on top (`wizard.presets.rules.locked_keys` lists them for the interview),
    unless `unlock`."""
    from wizard.answers.file import PresetRef, load_answers_file
    from wizard.answers.layers import Answers
    from wizard.presets.rules import Lock, apply_locks, chain_locks, chain_version_warnings
    from wizard.presets.store import chain_hash, preset_chain, preset_layers, shadow_warning

    layers: list[Layer] = []
    preset: PresetRef | None = None
    locks: dict[str, Lock] = {}
    if preset_name:
        chain = preset_chain(preset_name)
        layers += preset_layers(chain)
        locks = chain_locks(chain)
        preset = PresetRef(chain[-1].name, chain_hash(chain))
        shadowed = shadow_warning(preset_name, chain[-1])
        for warning in [*chain_version_warnings(chain), *([shadowed] if shadowed else [])]:
            print(f"warning: {warning}", file=sys.stderr)
    if answers_path is not None:
        loaded = load_answers_file(answers_path)
        layers.append(loaded.layer)
        preset = preset or loaded.preset
    layers.append(parse_sets(sets))
    answers = Answers(layers)
    return (answers if unlock else apply_locks(answers, locks)), preset


def parse_sets(items: list[str]) -> Layer:
    """`--set key=value`: split at the first `=`, the value read as YAML (so 8 is a number)."""
    import yaml

    from wizard.answers.layers import Layer, check_layer
    from wizard.yamlio import check_shape, safe_load

    layer = Layer("--set")
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item!r} is not KEY=VALUE", "e.g. --set training.seed=7")
        try:
            check_shape(text, f"--set {key}")  # a value with anchors is bounded like a file
            value = safe_load(text)
        except yaml.YAMLError:
            value = text  # Not YAML (say `a: b: c`): the user meant the literal string.
        layer.set(key, value)
    check_layer(layer, "--set")
    return layer


def _refuse_untrusted_remote_code(answers: Answers, allowed: bool) -> None:
    from wizard.presets.rules import remote_code_refusal, untrusted_remote_code

    sources = untrusted_remote_code(answers)
    if sources and not allowed:
        raise remote_code_refusal(sources)


def _interview(
    answers: Answers, run_dir: Path, trust_remote_code: bool
) -> tuple[Answers, PresetRef | None]:
    if not sys.stdin.isatty():
        raise WizardError(
            "the interview needs a terminal, and stdin is not one",
            "pass --yes (with --preset / --set / --answers) to write without questions",
        )
    # Only the interactive path pays for questionary and rich.
    from wizard.interview.session import interview_in_terminal

    return interview_in_terminal(answers, run_dir, trust_remote_code)


def print_plan(run_dir: Path, plan: RunPlan) -> None:
    from wizard.build.fitting import memory_line
    from wizard.build.runfolder import batch_arithmetic

    fit, result = plan.fit, plan.estimate
    print(f"Wrote {run_dir}/")
    for name in plan.folder.files:
        print(f"  {name}")
    print(f"Batch: {batch_arithmetic(plan.spec)}")
    if fit.plan is not None:
        print(f"Auto-fit: {fit.plan.describe()}")
    if fit.note:
        print(fit.note)
    if result is not None:
        print(memory_line(result))
        for advice in result.advice[:3] if result.fits is False else ():
            print(f"  to fit: {advice.change} ({advice.peak_gib_per_gpu:.1f} GiB)")
    print("Next:")
    for line in next_commands(run_dir):
        print(f"  {line}")


def next_commands(run_dir: Path) -> list[str]:
    """What to run next, quoted for a shell: people paste these lines."""
    config = shlex.quote(str(run_dir / "axolotl.yml"))
    return [
        f"axolotl-wizard check {config}",
        f"axolotl-wizard estimate {shlex.quote(str(run_dir))}",
        f"axolotl-wizard launch {shlex.quote(str(run_dir))}",
    ]
