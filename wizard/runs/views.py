"""What `runs` prints: the list of launches under a folder, one launch in full, their JSON, and
the loss curve drawn in the terminal by plotext (imported only here, when a curve is drawn)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from wizard.runs.live import clock
from wizard.runs.record import RunRecord, RunSummary
from wizard.terminal import visible

CURVE_SIZE = (72, 16)  # columns, rows of the plot


def memory_text(measured: float | None, estimated: float | None) -> str:
    """Measured against estimated peak GPU memory per GPU (torch's allocated bytes)."""
    shown = f"{measured:.2f}" if measured is not None else "not measured"
    if estimated is None:
        return shown
    if measured is None:
        return f"{shown} (estimate {estimated:.2f})"
    return f"{shown} (estimate {estimated:.2f}, {estimated / measured - 1:+.0%})"


def where(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder)) or "."
    except ValueError:
        return str(path)


def list_lines(runs: list[RunSummary], folder: Path) -> list[str]:
    """One line a launch: where, outcome, steps, final loss, wall time, peak GPU memory."""
    header = f"{'launch':<44} {'outcome':<12} {'steps':>9} {'loss':>8} {'time':>8}  GPU GiB"
    lines = [header]
    for run in runs:
        name = visible(where(run.path, folder))
        if run.error is not None:
            lines.append(f"{name:<44} unreadable: {visible(run.error)}")
            continue
        steps = f"{_or(run.steps)}/{_or(run.total_steps)}"
        loss = f"{run.final_loss:.4g}" if run.final_loss is not None else "-"
        memory = memory_text(run.peak_allocated_gib, run.estimated_allocated_gib)
        lines.append(f"{name:<44} {run.outcome or 'running?':<12} {steps:>9} {loss:>8} "
                     f"{clock(run.wall_seconds):>8}  {memory}")  # fmt: skip
    return lines


def _or(value: object) -> str:
    return "-" if value is None else str(value)


def record_lines(record: RunRecord) -> list[str]:
    """One launch, its figures a line each."""
    run, measured = record.summary, record.measured
    outcome = run.outcome or "no outcome recorded (still running, or killed)"
    exit_code = f" (exit code {run.exit_code})" if run.exit_code is not None else ""
    gpu = measured.gpu_name or ("none (the CPU)" if measured.gpu_count == 0 else "not recorded")
    best = f" (best {measured.best_loss:.4g})" if measured.best_loss is not None else ""
    rate = measured.tokens_per_second
    figures = [
        ("launch", str(run.path)),
        ("outcome", f"{outcome}{exit_code}"),
        ("started", run.started_utc or "-"),
        ("steps", f"{_or(measured.steps)} of {_or(measured.total_steps)}"),
        ("loss", f"{_or(measured.final_loss)}{best}"),
        ("learning rate", f"{measured.learning_rate:.4g}" if measured.learning_rate else "-"),
        ("tokens/s", f"{rate:.0f} per GPU" if rate is not None else "not logged"),
        ("wall time", clock(measured.wall_seconds)),
        ("GPUs", gpu if measured.gpu_count == 0 else f"{_or(measured.gpu_count)} x {gpu}"),
        ("peak GPU GiB", memory_text(measured.peak_allocated_gib, run.estimated_allocated_gib)),
    ]
    return [f"{label + ':':<14} {visible(value)}" for label, value in figures]


def record_json(record: RunRecord) -> dict[str, Any]:
    data = asdict(record)
    data["summary"]["path"] = str(record.summary.path)
    data["summary"]["run_dir"] = str(record.summary.run_dir)
    data["measured"]["loss_curve"] = [[p.step, p.loss] for p in record.measured.loss_curve]
    return data


def summary_json(run: RunSummary) -> dict[str, Any]:
    return {**asdict(run), "path": str(run.path), "run_dir": str(run.run_dir)}


def loss_curve(record: RunRecord, colour: bool) -> str | None:
    """The loss against the step, drawn by plotext; None when no loss was logged."""
    points = record.measured.loss_curve
    if not points:
        return None
    import plotext as plt

    plt.clear_figure()
    plt.plot([p.step for p in points], [p.loss for p in points], marker="braille")
    plt.plotsize(*CURVE_SIZE)
    plt.title("training loss")
    plt.xlabel("step")
    plt.theme("clear")
    drawn: str = plt.build()
    plt.clear_figure()
    return drawn if colour else str(plt.uncolorize(drawn))
