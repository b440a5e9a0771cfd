"""`axolotl-wizard chat RUN_DIR [--prompt TEXT]`: the trained model answers, through Axolotl's
inference with the run's chat template (or its Alpaca prompt)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wizard.commands.after_common import add_run_arguments, checked_run, say
from wizard.commands.argtypes import verb_parser

HELP = "talk to the trained model (Axolotl's inference with the run's template)"
EPILOG = """\
examples:
  axolotl-wizard chat runs/llama8b                          a conversation on this terminal
  axolotl-wizard chat runs/llama8b --prompt "Add 2 + 3"     one answer, then exit

It loads the base model with the trained adapter (a LoRA/QLoRA run), or the trained weights (a
full fine-tune), and the run's chat template; a run trained on Alpaca records gets Alpaca's
prompt around the instruction. Each chat leaves a manifest in RUN_DIR/launches/.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "chat", HELP, EPILOG)
    add_run_arguments(parser)
    parser.add_argument("--prompt", metavar="TEXT", help="answer this one prompt, then exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.after.chat import answer, converse
    from wizard.after.trained import check_finished, check_weights
    from wizard.errors import UsageError
    from wizard.terminal import visible_lines

    if args.prompt is None and not sys.stdin.isatty():
        raise UsageError("a conversation needs a terminal, and standard input is not one",
                         'pass --prompt "TEXT" for one answer')  # fmt: skip
    if args.prompt is not None and not args.prompt.strip():
        raise UsageError("--prompt is empty", 'pass the text to answer: --prompt "Add 2 + 3"')
    trained, pre = checked_run(args, "chat", (check_finished, check_weights))
    if args.prompt is None:
        return converse(trained, pre).outcome.exit_code  # 130 after Ctrl-C, as everywhere
    say(f"loading the model of {trained.run_dir} (Axolotl's inference)…")
    got = answer(trained, pre, args.prompt)
    if got.text is None:
        say(f"no answer found in inference's output: see {got.ran.manifest.log}")
        return 1
    print(visible_lines(got.text or "(an empty answer: the model ended its turn at once)"))
    return 0
