"""`axolotl-wizard estimate CONFIG`: peak GPU memory per GPU, before anything is downloaded."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import MAX_GPU_MEMORY_GIB, gpu_count, verb_parser
from wizard.errors import WizardError
from wizard.terminal import shown, visible

# What `new` writes (wizard.build.runfolder and answers.file: too heavy to import here).
CONFIG_FILENAME = "axolotl.yml"
ANSWERS_FILENAME = "wizard-answers.yml"

HELP = "peak GPU memory per GPU of a config, with a breakdown and what to change"
EPILOG = """\
examples:
  axolotl-wizard estimate runs/llama8b                  the run's own GPUs and GPU memory
  axolotl-wizard estimate runs/llama8b/axolotl.yml      the same
  axolotl-wizard estimate axolotl.yml --gpus 8 --gpu-mem 80
  axolotl-wizard estimate axolotl.yml --gpu-mem 24 --json | jq .fits

The architecture comes from base_model: a local folder with config.json, the Hugging Face cache,
or the built-in catalog; nothing is downloaded. GiB = 2^30 bytes.
"""

LABELS = {
    "weights": "model weights",
    "reference_model": "reference model (frozen copy)",
    "adapter": "adapter (LoRA) weights",
    "optimizer_states": "optimizer states",
    "paged_optimizer_states": "optimizer states (paged: CUDA managed memory)",
    "master_weights": "fp32 master weights",
    "gradients": "gradients",
    "activations": "activations",
    "logits_loss": "logits and loss",
    "buffers": "buffers (dequant, ZeRO, step)",
    "cuda_overhead": "CUDA context + allocator",
    "vllm": "vLLM (colocated generation)",
}


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = verb_parser(subparsers, common, "estimate", HELP, EPILOG)
    parser.add_argument(
        "config", type=Path, help="a run folder made by `new`, or an Axolotl YAML config"
    )
    parser.add_argument(
        "--gpus",
        type=gpu_count,
        default=None,
        help="GPUs in the run (default: the run's answers, else 1)",
    )
    parser.add_argument(
        "--gpu-mem",
        type=_positive_float,
        default=None,
        metavar="GIB",
        help="memory of one GPU in GiB, e.g. 24 or 80 (default: the run's answers)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(run=run)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of GiB") from None
    if not 0 < value <= MAX_GPU_MEMORY_GIB:  # NaN and inf included
        raise argparse.ArgumentTypeError("must be a GPU size in GiB, such as 24 or 80")
    return value


@dataclass(frozen=True)
class Hardware:
    """The GPUs an estimate is for, and where that came from (shown, so nothing is a guess)."""

    gpus: int
    gpu_mem_gib: float | None
    source: str  # "flags", "the run's wizard-answers.yml", or "assumed"


def run_hardware(config_path: Path, gpus: int | None, gpu_mem: float | None) -> Hardware:
    """The flags, else the run's own answers (the wizard-answers.yml beside the config), else one
    GPU of unknown memory."""
    from wizard.answers.peek import planned_hardware

    answers_path = config_path.parent / ANSWERS_FILENAME
    if answers_path.is_file() and (gpus is None or gpu_mem is None):
        planned = planned_hardware(answers_path)
        source = "flags and the run's wizard-answers.yml" if gpus or gpu_mem else (
            f"the run's {ANSWERS_FILENAME}")  # fmt: skip
        return Hardware(gpus or planned.world_size, gpu_mem or planned.gpu_memory_gib, source)
    if gpus is None:
        return Hardware(1, gpu_mem, "assumed")
    return Hardware(gpus, gpu_mem, "flags")


def config_of(target: Path) -> Path:
    """A run folder stands for its axolotl.yml (as for `launch`)."""
    if target.is_dir():
        config = target / CONFIG_FILENAME
        if not config.is_file():
            raise WizardError(
                f"{target} is a folder without {CONFIG_FILENAME}",
                "pass a run folder made by `axolotl-wizard new`, or an Axolotl config file",
            )
        return config
    return target


def run(args: argparse.Namespace) -> int:
    from wizard.axolotl.deepspeed_file import load_deepspeed
    from wizard.estimate import estimate
    from wizard.models import resolve_arch
    from wizard.yamlio import load_yaml_mapping

    path = config_of(args.config)
    cfg = load_yaml_mapping(path, "config")
    base_model = cfg.get("base_model_config") or cfg.get("base_model")
    if not isinstance(base_model, str) or not base_model:
        raise WizardError(f"{path}: base_model is missing", "add base_model: <hub id or folder>")
    arch = resolve_arch(base_model, base_dir=path.parent)
    deepspeed = load_deepspeed(cfg.get("deepspeed"), path)
    hardware = run_hardware(path, args.gpus, args.gpu_mem)
    result = estimate(cfg, arch, deepspeed=deepspeed, gpus=hardware.gpus,
                      gpu_mem_gib=hardware.gpu_mem_gib)  # fmt: skip
    if args.json:
        data = result.to_json()
        data["model"] = {"name": arch.name, "source": arch.source}
        data["gpus_from"] = hardware.source
        print(json.dumps(data, indent=2))
        return 0
    _render(result, arch, hardware)
    return 0


def bar(used: float, capacity: float, width: int = 40) -> str:
    """A text bar of used against capacity; the part past capacity is drawn with '!'."""
    share = used / capacity
    filled = min(width, round(share * width))
    over = "!" * min(10, max(0, round((share - 1) * width))) if share > 1 else ""
    return "[" + "#" * filled + "." * (width - filled) + "]" + over


def _render(result: Any, arch: Any, hardware: Hardware) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    spec = result.workload
    pairs = " x 2 (paired sequences)" if spec.sequences_per_sample == 2 else ""
    objective = f", {spec.objective}" if spec.objective != "sft" else ""
    console.print(
        # The model's name and folder are the user's text: no markup, no terminal controls.
        f"[bold]{escape(visible(arch.name))}[/] ({escape(visible(arch.source))}): "
        f"{result.total_params / 1e9:.2f}B parameters, "
        f"{result.trainable_params / 1e6:,.1f}M trainable; {spec.method}{objective}, "
        f"{spec.micro_batch}{pairs} x {spec.seq_len} tokens per micro batch",
        markup=True,
    )
    if hardware.source == "assumed":
        console.print(f"GPUs: {spec.gpus} (assumed: pass --gpus N, or estimate the run folder)")
    else:
        console.print(f"GPUs: {spec.gpus} (from {hardware.source})")
    table = Table(title=f"peak GPU memory per GPU (during the {result.phase})")
    table.add_column("term")
    table.add_column("GiB", justify="right")
    table.add_column("share", justify="right")
    for key, gib in result.breakdown_gib.items():
        if gib >= 0.005:
            share = gib / result.peak_gib_per_gpu
            table.add_row(LABELS.get(key, key), f"{gib:.2f}", f"{share:.0%}")
    table.add_row("[bold]total[/]", f"[bold]{result.peak_gib_per_gpu:.2f}[/]", "100%")
    console.print(table)
    console.print(f"CPU RAM needed: about {result.cpu_ram_gib:.0f} GiB")
    _render_verdict(console, result)


def _render_verdict(console: Any, result: Any) -> None:
    styles = {"fits": "green", "tight": "yellow", "does not fit": "red"}
    if result.gpu_mem_gib is not None:
        console.print(bar(result.peak_gib_per_gpu, result.gpu_mem_gib), markup=False)
        used = f"{result.peak_gib_per_gpu:.1f} of {result.gpu_mem_gib:g} GiB"
        style = styles.get(result.verdict, "white")
        console.print(f"[bold {style}]{result.verdict}[/] ({used})")
    else:
        console.print("pass --gpu-mem GIB to compare with your GPU")
    if result.rough_reason:
        console.print("[yellow]rough estimate:[/] ", end="")
        console.print(visible(result.rough_reason), markup=False)
    if result.confidence is not None:
        console.print(result.confidence.line(), markup=False)
    for note in result.notes:
        console.print(f"note: {visible(note)}", markup=False)
    if result.advice:
        console.print("[bold]what would lower it[/] (cheapest in speed first):")
    for rank, item in enumerate(result.advice, start=1):
        fits = {True: "fits", False: "still does not fit", None: ""}[item.fits]
        console.print(
            f"  {rank}. {item.change} -> {item.peak_gib_per_gpu:.1f} GiB {fits} "
            f"(speed cost: {item.speed_cost})",
            markup=False,
        )
