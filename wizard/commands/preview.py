"""`axolotl-wizard preview RUN_DIR`: the first records of each dataset as Axolotl tokenizes them,
trained and masked tokens told apart, and the checks experts make by eye."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import verb_parser, whole_number

HELP = "the first records of each dataset as Axolotl tokenizes them, and what the model learns"
EPILOG = """\
examples:
  axolotl-wizard preview runs/llama8b                   5 records of each dataset, checked
  axolotl-wizard preview runs/llama8b/axolotl.yml --records 2 --dataset 1
  axolotl-wizard preview runs/llama8b --html preview.html   a page to share in a review
  axolotl-wizard preview runs/llama8b | less            brackets instead of colours

Records go through Axolotl's own prompt strategy and tokenizer for the config (what `axolotl
preprocess` runs), offline. On a terminal trained tokens are green and masked ones grey; piped,
masked text is in [[...]] and special tokens in {{...}}. Each problem found is one `warning:` or
`error:` line with its fix; the exit code is 1 when there is an error. docs/preview.md says what
each one means.
"""
MAX_RECORDS = 50  # wizard.preview.sample.MAX_RECORDS (too heavy to import for --help)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "preview", HELP, EPILOG)
    parser.add_argument(
        "config", type=Path, help="a run folder made by `new`, or an Axolotl YAML config"
    )
    parser.add_argument(
        "--records",
        type=whole_number(1, MAX_RECORDS, "a number of records"),
        default=5,
        metavar="N",
        help=f"records of each dataset to show (default 5, at most {MAX_RECORDS})",
    )
    parser.add_argument(
        "--dataset",
        type=whole_number(0, 9_999, "a dataset index"),
        default=None,
        metavar="K",
        help="only the dataset at index K of `datasets:` (from 0)",
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write a self-contained page"
    )
    parser.add_argument("--force", action="store_true", help="overwrite the --html file")
    parser.set_defaults(run=run)


def use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def planned_processes(config: Path) -> int:
    """The training processes of the run: its answers' GPUs (1 for a config without them)."""
    from wizard.answers.peek import planned_hardware
    from wizard.commands.estimate import ANSWERS_FILENAME

    answers = config.parent / ANSWERS_FILENAME
    return planned_hardware(answers).world_size if answers.is_file() else 1


def run(args: argparse.Namespace) -> int:
    from wizard.axolotl.view import view_of
    from wizard.commands.estimate import config_of
    from wizard.files import refuse_overwrite, write_all
    from wizard.preview.report import build_preview, has_errors, html_report, text_report
    from wizard.yamlio import load_yaml_mapping

    path = config_of(args.config)
    cfg = view_of(load_yaml_mapping(path, "config"))
    if args.html is not None:
        refuse_overwrite([args.html], args.force)
    preview = build_preview(cfg, path, args.records, args.dataset, planned_processes(path))
    sys.stdout.write(text_report(preview, use_colour()))
    if args.html is not None:
        write_all({args.html: html_report(preview)}, force=args.force)
        print(f"wrote {args.html}")
    return 1 if has_errors(preview) else 0
