"""`axolotl-wizard export RUN_DIR --format safetensors|gguf [--push-to-hub REPO]`: the trained
model as merged safetensors or as GGUF (llama.cpp's converter), and its upload to the Hub."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.commands.after_common import add_run_arguments, checked_run, say, sized
from wizard.commands.argtypes import verb_parser

if TYPE_CHECKING:
    from wizard.after.trained import Trained
    from wizard.launch.checks import Preflight

HELP = "the trained model as safetensors or GGUF, and its upload to the Hugging Face Hub"
EPILOG = """\
examples:
  axolotl-wizard export runs/llama8b --format safetensors      merged weights (merges first)
  axolotl-wizard export runs/llama8b --format gguf --llama-cpp ~/llama.cpp
  axolotl-wizard export runs/llama8b --push-to-hub me/llama8b-tuned --dry-run   list, send nothing
  axolotl-wizard export runs/llama8b --push-to-hub me/llama8b-tuned

GGUF needs llama.cpp's convert_hf_to_gguf.py: --llama-cpp (the script or its checkout),
$LLAMA_CPP_DIR, or PATH. The upload uses the token huggingface_hub finds (HF_TOKEN or
`hf auth login`); the wizard never reads, prints or writes it.
"""
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(?:/[A-Za-z0-9][\w.-]{0,95})?$")


def repo_id(text: str) -> str:
    if not _REPO.match(text):
        raise argparse.ArgumentTypeError("a Hub repository is NAME or OWNER/NAME (letters, "
                                         "digits, '-', '_', '.')")  # fmt: skip
    return text


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "export", HELP, EPILOG)
    add_run_arguments(parser)
    parser.add_argument("--format", choices=("safetensors", "gguf"), default="safetensors",
                        help="what to write (default: %(default)s)")  # fmt: skip
    parser.add_argument("--llama-cpp", type=Path, metavar="PATH",
                        help="llama.cpp's checkout or its convert_hf_to_gguf.py")  # fmt: skip
    parser.add_argument("--outtype", choices=("f32", "f16", "bf16", "q8_0"), default="f16",
                        help="GGUF weight type (default: %(default)s)")  # fmt: skip
    parser.add_argument("--push-to-hub", type=repo_id, metavar="REPO",
                        help="then upload the export to this Hub repository")  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true",
        help="with --push-to-hub: list what would be uploaded, send nothing",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from wizard.after.export import check_can_upload, find_converter
    from wizard.after.trained import check_finished, check_weights
    from wizard.errors import UsageError

    if args.dry_run and not args.push_to_hub:
        raise UsageError("--dry-run goes with --push-to-hub",
                         "add --push-to-hub REPO to list what it would upload")  # fmt: skip
    converter = find_converter(args.llama_cpp) if args.format == "gguf" else None
    if args.push_to_hub and not args.dry_run:
        check_can_upload()  # before the minutes of a merge or a conversion
    trained, pre = checked_run(args, "export", (check_finished, check_weights))
    folder = _model_folder(trained, pre)
    if converter is None:
        files = _safetensors(folder)
    else:
        files = [_gguf(trained, pre, folder, converter, args.outtype)]
    if args.push_to_hub:
        _push(trained, pre, args, files)
    return 0


def _model_folder(trained: Trained, pre: Preflight) -> Path:
    from wizard.after.merge import merge_is_current, merged_model

    if trained.adapter is None:
        return trained.output
    if not merge_is_current(trained):
        say(f"merging the {trained.adapter} adapter into its base model first (Axolotl's "
            "merge-lora)…")  # fmt: skip
    return merged_model(trained, pre, None).folder


def _safetensors(folder: Path) -> list[Path]:
    from wizard.errors import WizardError

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise WizardError(
            f"{folder} holds no .safetensors file",
            "set save_safetensors: true in the config and train (or merge) again",
        )
    say(f"safetensors: {folder}/")
    for path in files:
        say(f"  {path.name}  {sized(path.stat().st_size)}")
    return files


def _gguf(trained: Trained, pre: Preflight, folder: Path, converter: Path, outtype: str) -> Path:
    from wizard.after.export import convert_to_gguf

    say(f"converting {folder} to GGUF ({outtype}) with {converter}…")
    path, _ran = convert_to_gguf(trained, pre, folder, converter, outtype)
    say(f"gguf: {path}  {sized(path.stat().st_size)}")
    return path


def _push(trained: Trained, pre: Preflight, args: argparse.Namespace, files: list[Path]) -> None:
    from wizard.after.export import upload, upload_of

    folder = files[0].parent
    plan = upload_of(args.push_to_hub, folder, None if args.format == "safetensors" else files)
    say(f"upload to https://huggingface.co/{plan.repo} (model repository), from {folder}/:")
    for name, size in plan.files:
        say(f"  {name}  {sized(size)}")
    say(f"  {len(plan.files)} files, {sized(plan.total)}")
    if args.dry_run:
        say("dry run: nothing was uploaded")
        return
    ran = upload(trained, pre, plan)
    say(f"uploaded to https://huggingface.co/{plan.repo} (record: {ran.manifest.path})")
