"""What a launch measured, recorded at its end, however it ended: the figures read from the
child's output (wizard.runs.watch) go into its manifest next to the estimate for the same
launch, and, when the peak GPU memory was measured, into the local calibration file."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wizard.axolotl import keys as K
from wizard.errors import WizardError
from wizard.runs import EstimateFigure, Measured, record_measured
from wizard.runs.values import significant
from wizard.runs.watch import Watch

if TYPE_CHECKING:
    from pathlib import Path

    from wizard.axolotl.view import AxolotlConfig
    from wizard.estimate import Estimate
    from wizard.launch.command import Layout
    from wizard.launch.target import Target
    from wizard.models import ModelArch


@dataclass(frozen=True)
class LaunchEstimate:
    result: Estimate
    arch: ModelArch

    base_model: str

    @property
    def figure(self) -> EstimateFigure:
        from wizard.runs.calibration import inputs_of

        inputs = inputs_of(self.result, self.arch, self.base_model)
        return EstimateFigure(significant(self.result.allocated_gib),
                              significant(self.result.peak_gib_per_gpu), inputs)  # fmt: skip


def launch_estimate(target: Target, layout: Layout) -> LaunchEstimate | None:
    """The wizard's estimate for this launch's layout; None when it cannot be made (an unknown
    architecture, a broken DeepSpeed file: preflight has said so)."""
    from wizard.estimate import estimate
    from wizard.launch.outputs import deepspeed_dict
    from wizard.models import resolve_arch

    base = target.config.base_model or ""
    try:
        arch = resolve_arch(base, base_dir=target.run_dir)
        result = estimate(target.config, arch, deepspeed=deepspeed_dict(target),
                          gpus=layout.num_processes, advise=False)  # fmt: skip
    except Exception:  # the estimate is an aside here; preflight reported what is wrong
        return None
    return LaunchEstimate(result, arch, base)


def logging_steps(config: AxolotlConfig) -> int | None:
    """The config's `logging_steps` (None: Axolotl picks; wizard.runs.watch knows how)."""
    value = config.value(K.LOGGING_STEPS)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def gpu_of(layout: Layout, here: bool) -> tuple[str | None, int]:
    """The GPU's name (nvidia-smi's first; None for a run on other machines, Ray's or a
    cloud's) and the GPUs of the launch; (None, 0) on a CPU."""
    if layout.cpu:
        return None, 0
    if not here:
        return None, layout.num_processes
    from wizard.gpus.detect import detect_gpus

    found = detect_gpus()
    return (found.name if found else None), layout.num_processes


def record_measurements(target: Target, layout: Layout, launch: Path, watch: Watch,
                        calibrate: bool, here: bool = True,
                        planned: LaunchEstimate | None = None) -> Measured | None:  # fmt: skip
    """Into the manifest (and the calibration file): never a reason for the launch to fail; a
    problem is a warning. `here`: the training ran on this machine (not a Ray or cloud job);
    `planned`: the launch's estimate, made here when the caller has none."""
    from wizard.runs import calibration

    watch.finish()
    gpu, gpus = gpu_of(layout, here)
    measured = watch.measured(gpu, gpus)
    planned = planned or launch_estimate(target, layout)
    try:
        record_measured(launch, measured, planned.figure if planned else None)
        if calibrate and planned and measured.peak_allocated_gib and not calibration.opted_out():
            calibration.append(calibration_entry(planned, measured))
    except (WizardError, OSError) as err:
        reason = err.message if isinstance(err, WizardError) else str(err)
        print(f"warning: the measured figures were not recorded: {reason}", file=sys.stderr)
        return None
    return measured


def calibration_entry(planned: LaunchEstimate, measured: Measured) -> dict[str, object]:
    from wizard.runs import calibration

    figure = planned.figure
    return calibration.entry(
        figure.inputs, (figure.allocated_gib, figure.peak_gib),
        (measured.peak_allocated_gib, measured.peak_reserved_gib), measured.gpu_name, "launch",
    )  # fmt: skip
