"""What a launch measured, as its manifest records it: typed, and read without trusting the file.

A manifest (`RUN_DIR/launches/<stamp>-node<rank>/manifest.json`) is written by `launch`, but
whoever can write the run folder can write it too, so every field is read as untrusted: a value
of the wrong type or out of range reads as "not recorded", never as an exception.

The measured figures live under the manifest's `measured` key and the estimate's under
`estimate` (both added in issue 31; a manifest from before has neither and reads as a run with
nothing measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A loss curve is kept to this many points in the manifest (evenly thinned beyond it).
MAX_CURVE_POINTS = 2000
MAX_TEXT = 200  # a GPU name, an outcome: a longer one is not one of ours
OUTCOMES = ("finished", "failed", "interrupted", "terminated")


@dataclass(frozen=True)
class LossPoint:
    step: int
    loss: float


@dataclass(frozen=True)
class Measured:
    """The figures a launch measured (None: not logged, e.g. GPU memory on a CPU run)."""

    steps: int | None = None  # optimizer steps done
    total_steps: int | None = None
    final_loss: float | None = None
    best_loss: float | None = None
    learning_rate: float | None = None  # the last logged
    tokens_per_second: float | None = None  # per GPU, trainable tokens (Axolotl's tokens/…)
    wall_seconds: float | None = None
    peak_allocated_gib: float | None = None  # per GPU, max over the run and the ranks
    peak_active_gib: float | None = None
    peak_reserved_gib: float | None = None
    gpu_name: str | None = None
    gpu_count: int | None = None
    loss_curve: tuple[LossPoint, ...] = ()

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            name: getattr(self, name) for name in _MEASURED_FIELDS if name != "loss_curve"
        }
        record["loss_curve"] = [[p.step, p.loss] for p in thin(self.loss_curve)]
        return record


@dataclass(frozen=True)
class EstimateFigure:
    """The wizard's estimate for the launch, per GPU: `allocated_gib` is comparable with the
    measured `peak_allocated_gib` (both torch's allocated bytes), `peak_gib` adds the CUDA
    context and the allocator's reserve, as `estimate` prints it."""

    allocated_gib: float
    peak_gib: float
    # What it was made from (wizard.runs.calibration.INPUTS): model, method, sequence length…
    inputs: dict[str, str | int | float | bool] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"allocated_gib": self.allocated_gib, "peak_gib_per_gpu": self.peak_gib,
                "inputs": self.inputs}  # fmt: skip


@dataclass(frozen=True)
class RunSummary:
    """One launch as `runs` lists it; `error` says why a manifest could not be read (then the
    other fields are empty)."""

    path: Path  # the launch folder
    run_dir: Path  # the run folder it belongs to
    started_utc: str | None = None
    outcome: str | None = None  # None: still running, or killed before it could say
    exit_code: int | None = None
    steps: int | None = None
    total_steps: int | None = None
    final_loss: float | None = None
    wall_seconds: float | None = None
    peak_allocated_gib: float | None = None
    estimated_allocated_gib: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """One launch in full: what `runs RUN_DIR` shows and `--json` prints."""

    summary: RunSummary
    measured: Measured
    estimate: EstimateFigure | None
    config: str | None  # the config file as launched (its name in the launch folder)
    ended_utc: str | None = None


_MEASURED_FIELDS = tuple(Measured.__dataclass_fields__)


def significant(value: float) -> float:
    """Six significant digits: a tiny model's 0.0152 GiB keeps its precision, as an 8B's 18.3."""
    return float(f"{value:.6g}")


def thin(points: tuple[LossPoint, ...], limit: int = MAX_CURVE_POINTS) -> tuple[LossPoint, ...]:
    """At most `limit` points, evenly spread, the first and the last kept."""
    if len(points) <= limit:
        return points
    stride = (len(points) - 1) / (limit - 1)
    return tuple(points[round(i * stride)] for i in range(limit))


def number(value: object, low: float = 0.0, high: float = 1e15) -> float | None:
    """A finite number within [low, high] (a bool is not one), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) and low <= result <= high else None


def count(value: object, high: int = 10**12) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        return None
    return value


def text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def measured_from(raw: object) -> Measured:
    """The `measured` block of a manifest; anything malformed reads as not measured."""
    if not isinstance(raw, dict):
        return Measured()
    return Measured(
        steps=count(raw.get("steps")),
        total_steps=count(raw.get("total_steps")),
        final_loss=number(raw.get("final_loss"), -1e6, 1e6),
        best_loss=number(raw.get("best_loss"), -1e6, 1e6),
        learning_rate=number(raw.get("learning_rate"), 0.0, 1e3),
        tokens_per_second=number(raw.get("tokens_per_second")),
        wall_seconds=number(raw.get("wall_seconds")),
        peak_allocated_gib=number(raw.get("peak_allocated_gib"), 0.0, 1e5),
        peak_active_gib=number(raw.get("peak_active_gib"), 0.0, 1e5),
        peak_reserved_gib=number(raw.get("peak_reserved_gib"), 0.0, 1e5),
        gpu_name=text(raw.get("gpu_name")),
        gpu_count=count(raw.get("gpu_count"), 1_000_000),
        loss_curve=curve_from(raw.get("loss_curve")),
    )


def curve_from(raw: object) -> tuple[LossPoint, ...]:
    if not isinstance(raw, list):
        return ()
    points = []
    for item in raw[: MAX_CURVE_POINTS * 2]:
        if isinstance(item, list) and len(item) == 2:
            step, loss = count(item[0]), number(item[1], -1e6, 1e6)
            if step is not None and loss is not None:
                points.append(LossPoint(step, loss))
    return thin(tuple(points))


def estimate_from(raw: object) -> EstimateFigure | None:
    if not isinstance(raw, dict):
        return None
    allocated = number(raw.get("allocated_gib"), 0.0, 1e6)
    peak = number(raw.get("peak_gib_per_gpu"), 0.0, 1e6)
    if allocated is None or peak is None:
        return None
    return EstimateFigure(allocated, peak, scalars(raw.get("inputs")))


def scalars(raw: object, limit: int = 32) -> dict[str, str | int | float | bool]:
    """The entries of a small mapping whose values are a short text, a number or a bool."""
    if not isinstance(raw, dict):
        return {}
    found: dict[str, str | int | float | bool] = {}
    for key, value in list(raw.items())[:limit]:
        kept = scalar(value)
        if isinstance(key, str) and len(key) <= 40 and kept is not None:
            found[key] = kept
    return found


def scalar(value: object) -> str | int | float | bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 10**15 else None
    return number(value, -1e15) if isinstance(value, float) else text(value)


def record_from(path: Path, run_dir: Path, manifest: dict[str, Any]) -> RunRecord:
    """A launch folder's manifest, parsed: the typed record."""
    measured = measured_from(manifest.get("measured"))
    estimate = estimate_from(manifest.get("estimate"))
    outcome = manifest.get("outcome")
    summary = RunSummary(
        path=path,
        run_dir=run_dir,
        started_utc=text(manifest.get("time_utc")),
        outcome=outcome if outcome in OUTCOMES else None,
        exit_code=count(manifest.get("exit_code"), 255),
        steps=measured.steps,
        total_steps=measured.total_steps,
        final_loss=measured.final_loss,
        wall_seconds=measured.wall_seconds,
        peak_allocated_gib=measured.peak_allocated_gib,
        estimated_allocated_gib=estimate.allocated_gib if estimate else None,
    )
    config = text(manifest.get("config"))
    return RunRecord(summary, measured, estimate, config, text(manifest.get("ended_utc")))
