"""`axolotl-wizard estimate CONFIG`: peak GPU memory per GPU, before anything is downloaded."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.commands.argtypes import gpu_count, gpu_memory, host_ram, verb_parser
from wizard.errors import WizardError
from wizard.terminal import visible

# What `new` writes (wizard.render.runfolder and answers.file: too heavy to import here).
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

# The estimate's terms (the keys of its `breakdown_gib`), as the table names them.
LABELS = dict(
    weights="model weights",
    reference_model="reference model (frozen copy)",
    adapter="adapter (LoRA) weights",
    optimizer_states="optimizer states",
    paged_optimizer_states="optimizer states (paged: CUDA managed memory)",
    master_weights="fp32 master weights",
    gradients="gradients",
    activations="activations",
    logits_loss="logits and loss",
    buffers="buffers (dequant, ZeRO, step)",
    cuda_overhead="CUDA context + allocator",
    vllm="vLLM (colocated generation)",
    calibration="calibration (measured on similar runs)",
)


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
        type=gpu_memory,
        default=None,
        metavar="GIB",
        help="memory of one GPU in GiB, e.g. 24 or 80 (default: the run's answers)",
    )
    parser.add_argument(
        "--gpu",
        metavar="NAME",
        help="the GPU by name (H100, A100-80GB, RTX 4090, T4...): its memory, and its machine's "
        "host RAM unless --host-ram says",
    )
    parser.add_argument(
        "--host-ram",
        type=host_ram,
        default=None,
        metavar="GIB",
        help="CPU RAM of one node in GiB (default: the run's answers, else the GPU's machine)",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="also the optimizer steps per epoch of each dataset: its first records tokenized "
        "by Axolotl, as `preview` does (slow: imports Axolotl in a child process)",
    )
    parser.add_argument(
        "--calibrated",
        action="store_true",
        help="fold in the error measured on similar runs of this machine's calibration file "
        "(docs/estimate.md#calibration)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Hardware:
    """The GPUs an estimate is for, the host's RAM, and where that came from (shown, so nothing
    is a guess)."""

    gpus: int
    gpu_mem_gib: float | None
    source: str  # "flags", "the run's wizard-answers.yml", or "assumed"
    nodes: int = 1
    host_ram: Any = None  # wizard.gpus.host.HostRam, when known


def run_hardware(config_path: Path, args: argparse.Namespace) -> Hardware:
    """The flags, else the run's own answers (the wizard-answers.yml beside the config), else one
    GPU of unknown memory."""
    from wizard.answers.peek import PlannedHardware, planned_hardware

    answers_path = config_path.parent / ANSWERS_FILENAME
    flags = _flag_hardware(args)
    planned = PlannedHardware(1, 1, None)
    source = "flags" if args.gpus else "assumed"
    if answers_path.is_file():
        planned = planned_hardware(answers_path)
        source = f"the run's {ANSWERS_FILENAME}"
        source = f"flags and {source}" if any(v is not None for v in flags.values()) else source
    memory = flags["memory"] or planned.gpu_memory_gib
    ram = flags["ram"] or planned.host_ram
    if flags["facts"] is not None and flags["ram"] is None:
        ram = _machine_ram(flags["facts"], args.gpus or planned.gpus_per_node)
    gpus = args.gpus or (planned.world_size if answers_path.is_file() else 1)
    return Hardware(gpus, memory, source, planned.nodes, ram)


def _flag_hardware(args: argparse.Namespace) -> dict[str, Any]:
    from wizard.gpus.catalog import UnknownGpu, lookup
    from wizard.gpus.host import HostRam

    facts = None
    if args.gpu is not None:
        try:
            facts = lookup(args.gpu)
        except UnknownGpu as err:
            raise WizardError(f"--gpu: {err}", "name a GPU the wizard knows") from None
    memory = args.gpu_mem if args.gpu_mem is not None else (facts and facts.memory_gib)
    ram = None if args.host_ram is None else HostRam(args.host_ram, "answered")
    return {"memory": memory, "facts": facts, "ram": ram}


def _machine_ram(facts: Any, gpus: int) -> Any:
    from wizard.gpus.host import host_ram_of

    return host_ram_of(facts, None, facts.memory_gib, gpus)


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
    from wizard.axolotl import keys as K
    from wizard.axolotl.deepspeed_file import load_deepspeed
    from wizard.axolotl.view import view_of
    from wizard.estimate import HostLimit, estimate
    from wizard.models import resolve_arch
    from wizard.yamlio import load_yaml_mapping

    path = config_of(args.config)
    cfg = view_of(load_yaml_mapping(path, "config"))
    if not cfg.base_model:
        raise WizardError(f"{path}: base_model is missing", "add base_model: <hub id or folder>")
    arch = resolve_arch(cfg.base_model, base_dir=path.parent)
    deepspeed = load_deepspeed(cfg.value(K.DEEPSPEED), path)
    hardware = run_hardware(path, args)
    host = HostLimit(None if hardware.host_ram is None else hardware.host_ram.gib, hardware.nodes)
    result = estimate(cfg, arch, deepspeed=deepspeed, gpus=hardware.gpus,
                      gpu_mem_gib=hardware.gpu_mem_gib, host=host)  # fmt: skip
    result, calibration = _calibrate(result, args.calibrated)
    steps = _epoch_steps(cfg, path, hardware.gpus) if args.steps else None
    if args.json:
        data = result.to_json()
        data["calibration"] = calibration.to_json() if calibration else None
        data["calibrated"] = bool(args.calibrated and calibration)
        data["model"] = {"name": arch.name, "source": arch.source}
        data["gpus_from"] = hardware.source
        data.update(_host_json(result, hardware))
        if steps is not None:
            data["steps_per_epoch"] = [vars(one) for one in steps]
        print(json.dumps(data, indent=2))
        return 0
    _render(result, arch, hardware)
    _calibration_lines(calibration, args.calibrated)
    for one in steps or []:
        print(f"datasets[{one.dataset}]: {one.line()}")
    return 0


def _calibrate(result: Any, fold_in: bool) -> tuple[Any, Any]:
    """The measured runs like this one in the local calibration file, and with `fold_in` the
    estimate corrected by them (wizard.runs.calibration)."""
    from wizard.runs.calibration import calibrated, calibration_for, read_measurements

    found = calibration_for(result, read_measurements())
    return (calibrated(result, found) if fold_in and found else result), found


def _calibration_lines(calibration: Any, fold_in: bool) -> None:
    if calibration is not None:
        print(visible(calibration.line()))
    if fold_in and calibration is not None:
        factor = calibration.factor
        print(f"calibrated: the figures above are the estimate's allocated memory x {factor:.3f} "
              "(the median measured/estimated of those runs)")  # fmt: skip
    elif fold_in:
        print("calibrated: no measured run in the calibration file resembles this one; "
              "the estimate is unchanged")  # fmt: skip


def _epoch_steps(cfg: Any, path: Path, gpus: int) -> list[Any]:
    """The optimizer steps of an epoch over each dataset, on `gpus` processes (`--steps`)."""
    from wizard.preview.report import PREVIEW_RECORDS, build_preview, epoch_steps

    preview = build_preview(cfg, path, PREVIEW_RECORDS, None, gpus)
    found = (epoch_steps(preview, one) for one in preview.datasets)
    return [one for one in found if one is not None]


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
        if abs(gib) >= 0.005:  # the calibration's correction may be negative
            share = gib / result.peak_gib_per_gpu
            table.add_row(LABELS.get(key, key), f"{gib:.2f}", f"{share:.0%}")
    table.add_row("[bold]total[/]", f"[bold]{result.peak_gib_per_gpu:.2f}[/]", "100%")
    console.print(table)
    console.print(_host_line(result, hardware), markup=False)
    _render_verdict(console, result)


def _host_json(result: Any, hardware: Hardware) -> dict[str, Any]:
    need = result.host_ram_per_node_gib(hardware.nodes)
    ram = hardware.host_ram
    host_fits = None if ram is None else need <= ram.gib
    data = {
        "host_ram_needed_gib": round(need, 3),
        "host_ram_gib": None if ram is None else ram.gib,
        "host_ram_from": None if ram is None else ram.source,
        "host_fits": host_fits,
    }
    if host_fits is False:
        data["fits"], data["verdict"] = False, "does not fit (host RAM)"
    return data


def _host_line(result: Any, hardware: Hardware) -> str:
    need = result.host_ram_per_node_gib(hardware.nodes)
    ram = hardware.host_ram
    node = " a node" if hardware.nodes > 1 else ""
    if ram is None:
        return f"CPU RAM needed: about {need:,.0f} GiB{node} (pass --host-ram GIB to compare)"
    verdict = "fits" if need <= ram.gib else "DOES NOT FIT"
    return f"CPU RAM needed: about {need:,.0f} GiB{node} of {ram.text()}: {verdict}"


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
