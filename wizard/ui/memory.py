"""The memory tab: the estimate of the plan the page would write, as a stacked bar against the
GPU's memory and the host's RAM, and the estimate's advice as answers a button applies.

The figures are `RunPlan.estimate` (the estimate of exactly the files Write writes); this module
only draws them. The SVG is built here, escaped, with no script: the page shows it as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from wizard.estimate import Estimate
from wizard.render.plan import RunPlan

WIDTH, BAR, LEFT = 720, 34, 90
# The estimate's terms, in the groups the page names (its breakdown keys, bottom of the stack
# first), each with a colour.
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("weights", ("weights", "adapter"), "#4c78a8"),
    ("gradients", ("gradients",), "#f58518"),
    (
        "optimizer states",
        ("optimizer_states", "master_weights", "paged_optimizer_states"),
        "#54a24b",
    ),
    ("activations", ("activations", "logits_loss"), "#e45756"),
    ("reference model", ("reference_model",), "#b279a2"),
    ("overheads", ("buffers", "cuda_overhead"), "#9d755d"),
)
GPU_LINE, RAM_LINE = "#d62728", "#7f7f7f"
# What each of the estimate's changes (`wizard.estimate.advice.CHANGES`, by its first words)
# means in answers: the page applies these as if typed.
FIXES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("flash_attention", {"training.attention": "flash"}),
    ("plugins: [axolotl.integrations.cut_cross_entropy", {"speed.cut_cross_entropy": True}),
    ("Liger kernels", {"speed.liger_rms_norm": True, "speed.liger_glu_activation": True}),
    ("optimizer: adamw_bnb_8bit", {"training.optimizer": "adamw_bnb_8bit"}),
    ("halve micro_batch_size", {"training.micro_batch_size": "half"}),
    ("gradient_checkpointing", {"training.gradient_checkpointing": True}),
    ("DeepSpeed ZeRO-2", {"distributed.backend": "deepspeed", "distributed.zero_stage": "2"}),
    ("DeepSpeed ZeRO-3 (", {"distributed.backend": "deepspeed", "distributed.zero_stage": "3"}),
    ("adapter: qlora", {"method.kind": "qlora"}),
    (
        "DeepSpeed with offload_optimizer",
        {"distributed.backend": "deepspeed", "distributed.offload_optimizer": True},
    ),
    (
        "DeepSpeed ZeRO-3 offloading",
        {
            "distributed.backend": "deepspeed",
            "distributed.zero_stage": "3",
            "distributed.offload_params": True,
            "distributed.offload_optimizer": True,
        },
    ),
    ("twice as many GPUs", {"hardware.gpus_per_node": "double"}),
)


def grouped(breakdown: Mapping[str, float]) -> list[tuple[str, float, str]]:
    """The breakdown in the page's groups (GiB), with what the groups leave out as `other`."""
    named = {key for _, keys, _ in GROUPS for key in keys}
    rows = [
        (name, sum(breakdown.get(k, 0.0) for k in keys), colour) for name, keys, colour in GROUPS
    ]
    rest = sum(v for k, v in breakdown.items() if k not in named)
    if rest > 0:
        rows.append(("other", rest, "#bab0ac"))
    return rows


def chart_svg(result: Estimate, host_need_gib: float, host_ram_gib: float | None) -> str:
    """Two bars: GPU memory per GPU (stacked, with fragmentation on top) against the GPU's
    memory, and the host RAM one node needs against the RAM it has."""
    rows = grouped(result.breakdown_gib)
    fragmentation = max(0.0, result.peak_gib_per_gpu - result.allocated_gib)
    rows = [row for row in [*rows, ("fragmentation", fragmentation, "#cccccc")] if row[1] > 0]
    gpu = result.gpu_mem_gib or 0.0
    top = max(result.peak_gib_per_gpu, gpu, host_need_gib, host_ram_gib or 0.0, 1.0) * 1.08
    scale = (WIDTH - LEFT - 20) / top
    parts = [_label(6, 30, "GPU (each)"), _label(6, 92, "host RAM"), *_stack(rows, scale)]
    parts.append(
        f'<rect x="{LEFT}" y="74" width="{host_need_gib * scale:.1f}" height="{BAR}" '
        f'fill="#72b7b2"><title>host RAM needed: {host_need_gib:.1f} GiB</title></rect>'
    )
    if gpu:
        parts.append(_line(LEFT + gpu * scale, 6, 52, GPU_LINE, f"GPU {gpu:g} GiB"))
    if host_ram_gib:
        ram = f"RAM {host_ram_gib:,.0f} GiB"
        parts.append(_line(LEFT + host_ram_gib * scale, 68, 114, RAM_LINE, ram))
    legend = _legend(rows, 140)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{160 + 18 * len(legend)}"'
        f' data-peak="{result.peak_gib_per_gpu:.3f}" role="img" aria-label="memory per GPU">'
        + "".join(parts + legend)
        + "</svg>"
    )


def _stack(rows: list[tuple[str, float, str]], scale: float) -> list[str]:
    """The GPU bar: one rectangle a group, left to right, each titled with its figure."""
    parts, x = [], float(LEFT)
    for name, gib, colour in rows:
        width = gib * scale
        parts.append(
            f'<rect x="{x:.1f}" y="12" width="{width:.1f}" height="{BAR}" '
            f'fill="{colour}"><title>{escape(name)}: {gib:.2f} GiB</title></rect>'
        )
        x += width
    return parts


def _label(x: float, y: float, text: str) -> str:
    return f'<text x="{x}" y="{y}" font-size="12" font-family="sans-serif">{escape(text)}</text>'


def _line(x: float, y1: float, y2: float, colour: str, text: str) -> str:
    return (
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y1}" y2="{y2}" stroke="{colour}" '
        f'stroke-width="2" stroke-dasharray="4 2"/>' + _label(min(x + 3, WIDTH - 80), y2 + 12, text)
    )


def _legend(rows: list[tuple[str, float, str]], y: float) -> list[str]:
    return [
        f'<rect x="{LEFT}" y="{y + 18 * i}" width="12" height="12" fill="{colour}"/>'
        + _label(LEFT + 18, y + 18 * i + 10, f"{name}: {gib:.2f} GiB")
        for i, (name, gib, colour) in enumerate(rows)
    ]


def memory_html(plan: RunPlan | None, problem: str | None) -> str:
    """The chart with its verdict line and auto-fit's layout, or why there is none."""
    from wizard.interview.review import memory_text
    from wizard.terminal import visible

    if plan is None:
        return f"<p>No estimate yet: {escape(visible(problem or 'answer the New run tab'))}</p>"
    lines = [f"<p id='memory-verdict'>{escape(visible(memory_text(plan)))}</p>"]
    if plan.fit.plan is not None:
        lines.append(
            f"<p id='memory-layout'>Auto-fit chose: {escape(visible(plan.fit.plan.describe()))}</p>"
        )
    elif plan.fit.note:
        lines.append(f"<p>{escape(visible(plan.fit.note))}</p>")
    result = plan.estimate
    if result is None:
        return "".join(lines)
    ram = plan.spec.hardware.host_ram
    need = result.host_ram_per_node_gib(plan.spec.hardware.nodes)
    chart = chart_svg(result, need, None if ram is None else ram.gib)
    return f"<div id='memory-chart'>{chart}</div>" + "".join(lines)


def fix_answers(change: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """The page's answers that make one of the estimate's changes (several, for `all of: …`):
    values as the form holds them. `current` gives the batch and GPU count being changed."""
    found: dict[str, Any] = {}
    for part in change.removeprefix("all of: ").split("; "):
        for prefix, answers in FIXES:
            if part.startswith(prefix):
                found.update(answers)
    if found.get("training.micro_batch_size") == "half":
        found["training.micro_batch_size"] = str(max(1, int(current["micro"]) // 2))
    if found.get("hardware.gpus_per_node") == "double":
        found["hardware.gpus_per_node"] = str(2 * int(current["gpus"]))
    return found


def fixes(plan: RunPlan | None) -> list[tuple[str, dict[str, Any]]]:
    """The estimate's advice as (button label, answers) when the run does not fit."""
    if plan is None or plan.estimate is None or plan.estimate.fits is not False:
        return []
    current = {
        "micro": plan.spec.training.micro_batch_size,
        "gpus": plan.spec.hardware.gpus_per_node,
    }
    found = []
    for advice in plan.estimate.advice:
        answers = fix_answers(advice.change, current)
        if answers:
            label = f"{advice.change} → {advice.peak_gib_per_gpu:.1f} GiB"
            found.append((label, answers))
    return found
