"""`axolotl-wizard merge RUN_DIR`: the trained LoRA/QLoRA adapter merged into its base model by
Axolotl's merge-lora; says where the merged model is and how big."""

from __future__ import annotations

import argparse
from typing import Any

from wizard.commands.after_common import add_run_arguments, checked_run, say, sized
from wizard.commands.argtypes import verb_parser

HELP = "merge the trained adapter into the base model (Axolotl's merge-lora)"
EPILOG = """\
examples:
  axolotl-wizard merge runs/llama8b            writes runs/llama8b/outputs/merged/
  axolotl-wizard merge runs/llama8b --force    merge again, replacing that folder

The run must have finished (its last launch's manifest says so) and trained a LoRA or QLoRA
adapter: a full fine-tune's weights are the whole model already. Axolotl's log goes to the
manifest folder RUN_DIR/launches/<time>-node0/ this merge leaves.
"""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "merge", HELP, EPILOG)
    add_run_arguments(parser)
    parser.add_argument("--force", action="store_true", help="replace an earlier merge")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from functools import partial

    from wizard.after.merge import check_not_merged, merge
    from wizard.after.trained import check_finished, check_mergeable

    checks = (check_finished, check_mergeable, partial(check_not_merged, force=args.force))
    trained, pre = checked_run(args, "merge", checks)
    say(f"merging the {trained.adapter} adapter of {trained.output} into its base model "
        "(Axolotl's merge-lora)…")  # fmt: skip
    merged = merge(trained, pre, None)
    say(f"merged model: {merged.folder}/ ({sized(merged.bytes_on_disk)} on disk)")
    if merged.ran is not None:
        say(f"manifest:     {merged.ran.manifest.path}")
    return 0
