"""A resolved spec -> the run folder's files and the plan printed after writing them (pure).

Every path inside the folder's files is relative to the folder, because `launch` runs Axolotl
from there. That keeps a run folder self-contained and lets `new --answers` rebuild it byte for
byte in another folder.
"""

from __future__ import annotations

from typing import Any

from wizard import AXOLOTL_TARGET_VERSION, __version__
from wizard.answers.file import ANSWERS_FILENAME, AnswersDocument, answers_text
from wizard.axolotl import keys as K
from wizard.axolotl.batch import batch_text
from wizard.axolotl.paths import PathMapper, keep_path
from wizard.errors import WizardError
from wizard.launch.command import build_launch_command, layout_for, precision_of
from wizard.records import Record
from wizard.render.axolotl_config import render_axolotl
from wizard.render.composites import effective_batch
from wizard.render.configtext import config_text
from wizard.render.deepspeed_config import deepspeed_text, run_deepspeed
from wizard.render.rendered import RenderedConfig
from wizard.runspec import RunSpec

CONFIG_FILENAME = "axolotl.yml"


class RunFolder(Record):
    """The files of a run folder (relative path -> text) and what they were made from."""

    files: dict[str, str]
    config: dict[str, Any]
    deepspeed: dict[str, Any] | None
    doc: AnswersDocument


def build_run_folder(doc: AnswersDocument, path_for: PathMapper = keep_path) -> RunFolder:
    spec = doc.spec
    rendered = render_axolotl(spec, doc.raw_axolotl, path_for)
    named = run_deepspeed(spec, doc.files)
    files = {CONFIG_FILENAME: config_text(rendered, _header(doc, rendered))}
    for name, content in doc.files.items():
        files[name] = deepspeed_text(content)
    if named is not None:
        _no_clash(named, doc.files)
        files[named[0]] = deepspeed_text(named[1])
    files[ANSWERS_FILENAME] = answers_text(doc, path_for)
    carried = doc.files.get(str(doc.raw_axolotl.get(K.DEEPSPEED)))
    deepspeed = named[1] if named is not None else carried
    return RunFolder(files, rendered.as_dict(), deepspeed, doc)


def _no_clash(named: tuple[str, dict[str, Any]], carried: dict[str, Any]) -> None:
    """The run's DeepSpeed file never silently replaces another file the answers carry."""
    path, data = named
    if path in carried and carried[path] != data:
        raise WizardError(
            f"the run's DeepSpeed file {path} and the carried file of that name (files:) differ",
            "name the carried file in distributed.deepspeed_config, or remove it from files:",
            keys=("distributed.deepspeed_config",),
        )


def _header(doc: AnswersDocument, rendered: RenderedConfig) -> list[str]:
    spec = doc.spec
    made_from = "answers"
    if spec.policy.imported:
        made_from = "answers imported from an Axolotl config"
    elif doc.preset:
        made_from = f"preset {doc.preset.name} (sha256 {doc.preset.sha256})"
    precision = precision_of(rendered.as_dict())
    command = build_launch_command(CONFIG_FILENAME, layout_for(spec), precision)
    lines = [
        f"Axolotl {AXOLOTL_TARGET_VERSION} config written by axolotl-wizard {__version__} "
        f"from {made_from}.",
        f"Every answer is in {ANSWERS_FILENAME}; change answers there rather than keys here.",
        "Paths are relative to this folder. Run these commands from this folder:",
        f"  check:    axolotl-wizard check {CONFIG_FILENAME}",
        f"  estimate: axolotl-wizard estimate {CONFIG_FILENAME}",
        "  launch:   axolotl-wizard launch .",
        f"  by hand:  {command.shell_line()}",
        "            (launch also passes an accelerate config file of its own, so a stale",
        "            ~/.cache/huggingface/accelerate/default_config.yaml is never read)",
    ]
    if spec.hardware.nodes > 1:
        lines.append("  (on every node, with --machine_rank set to that node's rank)")
    lines.append(f"Batch: {batch_arithmetic(spec)}")
    return lines


def batch_arithmetic(spec: RunSpec) -> str:
    training, hardware = spec.training, spec.hardware
    cpu = hardware.accelerator == "cpu"
    # The GPUs that train: GRPO's vLLM server GPUs take no micro batch.
    text = batch_text(training.micro_batch_size, spec.gradient_accumulation,
                      spec.training_processes, cpu, *spec.parallel_splits)  # fmt: skip
    tokens = effective_batch(spec) * training.sequence_len
    bound = "" if spec.resolved_packing else "at most "
    return f"{text} = {bound}{tokens:,} tokens per optimizer step"
