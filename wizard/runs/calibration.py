"""The local calibration file: measured peaks next to the estimate's, one JSON line a run.

    $XDG_DATA_HOME/axolotl-wizard/calibration.jsonl   (~/.local/share/… when unset)

`launch` appends a line when a run's peak GPU memory was measured (Axolotl logs it on CUDA);
`AXOLOTL_WIZARD_NO_CALIBRATION=1` or `launch --no-calibration` stops it. Nothing leaves the
machine. `bench/gpu_truth.py` writes the same records (`entry`), and `runs RUN_DIR --export`
prints one for a bug report. A record holds no path: a local model is named by its folder's name.
"""

from __future__ import annotations

import json
import math
import os
import stat
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.errors import WizardError
from wizard.estimate import Estimate, verdict_for
from wizard.models import ModelArch
from wizard.records import Record
from wizard.runs.values import count, number, significant, text

if TYPE_CHECKING:
    from wizard.runs.record import RunRecord

FORMAT = 1
CORRECTION_TERM = "calibration"  # the breakdown's row for the correction `--calibrated` adds
OPT_OUT_ENV = "AXOLOTL_WIZARD_NO_CALIBRATION"
FILENAME = "calibration.jsonl"
MAX_FILE_BYTES = 4 * 1024 * 1024  # the newest records up to this many bytes are read
MAX_LINE_BYTES = 8 * 1024
# The inputs of the estimate a record keeps: what makes two runs' peaks comparable.
# Measured runs further than this (natural-log units of model size and tokens per micro batch,
# summed) do not resemble an estimate: 1.0 is a factor e (2.7) on one of them.
MAX_DISTANCE = 1.0
NEAREST = 5
INPUTS = ("model", "model_type", "params_b", "method", "objective", "seq_len", "micro_batch",
          "sample_packing", "grad_ckpt", "sharding", "gpus", "optimizer", "attention")  # fmt: skip


def calibration_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "axolotl-wizard" / FILENAME


def opted_out() -> bool:
    return os.environ.get(OPT_OUT_ENV, "").strip().lower() not in ("", "0", "false", "no")


def public_model_name(base_model: str) -> str:
    """A Hub id as it is; a local folder by its last name only (no home path in a record)."""
    looks_local = base_model.startswith(("/", ".", "~")) or base_model.count("/") != 1
    return Path(base_model.rstrip("/")).name if looks_local else base_model


def sharding_of(result: Estimate) -> str:
    spec = result.workload
    if spec.fsdp:
        return "fsdp"
    return f"zero{spec.zero_stage}" if spec.zero_stage else "none"


def inputs_of(result: Estimate, arch: ModelArch, base_model: str) -> dict[str, Any]:
    """What the estimate was made from, as a record keeps it."""
    spec = result.workload
    return {
        "model": public_model_name(base_model),
        "model_type": arch.model_type,
        "params_b": significant(result.total_params / 1e9),
        "method": spec.method,
        "objective": spec.objective,
        "seq_len": spec.seq_len,
        "micro_batch": spec.micro_batch,
        "sample_packing": spec.sample_packing,
        "grad_ckpt": spec.grad_ckpt,
        "sharding": sharding_of(result),
        "gpus": spec.gpus,
        "optimizer": spec.optimizer,
        "attention": spec.attention,
    }


def entry(inputs: dict[str, Any], estimated: tuple[float, float], measured: tuple[float | None,
          float | None], gpu: str | None, source: str) -> dict[str, Any]:  # fmt: skip
    """One record: the estimate's inputs, its (allocated, peak) GiB, the measured (allocated,
    reserved) GiB per GPU, the GPU and where the measurement comes from (launch, gpu_truth)."""
    return {
        "format": FORMAT,
        "source": source,
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gpu": gpu,
        **{key: inputs.get(key) for key in INPUTS},
        "estimated_gib": significant(estimated[0]),
        "estimated_peak_gib": significant(estimated[1]),
        "measured_gib": measured[0],
        "measured_reserved_gib": measured[1],
    }


def append(record: dict[str, Any], path: Path | None = None) -> Path:
    """Add a record at the end of the file (one write of one line, never through a link)."""
    path = path or calibration_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return path


class Measurement(Record):
    """A record read back: the parts a comparison needs. (Tuples, not dataclasses: `estimate`
    is a quick verb, and a dataclass costs it ten times as much to create.)"""

    model: str
    method: str
    objective: str
    grad_ckpt: bool
    sharding: str
    params_b: float
    tokens: int  # per micro batch: micro_batch × seq_len
    gpu: str | None
    estimated_gib: float
    measured_gib: float

    @property
    def error(self) -> float:
        """The estimate's error on this run: estimated / measured - 1."""
        return self.estimated_gib / self.measured_gib - 1


def read_measurements(path: Path | None = None) -> list[Measurement]:
    """The records of the file with a measured peak; malformed lines are skipped. At most the
    last MAX_FILE_BYTES are read; a missing file, a link or not a regular file is no record."""
    path = path or calibration_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return []
        handle.seek(max(0, info.st_size - MAX_FILE_BYTES))
        data = handle.read(MAX_FILE_BYTES)
    lines = data.split(b"\n")
    found = (_measurement(line) for line in lines if 0 < len(line) <= MAX_LINE_BYTES)
    return [one for one in found if one is not None]


def _measurement(line: bytes) -> Measurement | None:
    try:
        raw = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("grad_ckpt"), bool):
        return None
    words = [text(raw.get(key)) for key in ("model", "method", "objective", "sharding")]
    seq, micro = count(raw.get("seq_len")), count(raw.get("micro_batch"))
    params_b = number(raw.get("params_b"), 1e-6, 1e5)
    estimated = number(raw.get("estimated_gib"), 1e-6, 1e6)
    measured = number(raw.get("measured_gib"), 1e-6, 1e6)
    if None in (*words, seq, micro, params_b, estimated, measured):
        return None
    model, method, objective, sharding = (str(word) for word in words)
    return Measurement(model, method, objective, raw["grad_ckpt"], sharding, float(params_b or 0),
                       int(seq or 0) * int(micro or 0), text(raw.get("gpu")),
                       float(estimated or 0), float(measured or 0))  # fmt: skip


class Calibration(Record):
    """The measured runs that resemble an estimate's, and the estimate's error on them."""

    runs: tuple[Measurement, ...]

    @property
    def factor(self) -> float:
        """What the estimate is multiplied by to land on the measured peaks: the median of
        measured / estimated over the resembling runs."""
        return statistics.median(r.measured_gib / r.estimated_gib for r in self.runs)

    @property
    def median_error(self) -> float:
        return statistics.median(r.error for r in self.runs)

    def line(self) -> str:
        shown = ", ".join(
            f"{r.model} {r.method} on {r.gpu or 'a GPU'}: measured {r.measured_gib:.1f} GiB, "
            f"estimated {r.estimated_gib:.1f} ({r.error:+.0%})"
            for r in self.runs[:3]
        )
        more = f" and {len(self.runs) - 3} more" if len(self.runs) > 3 else ""
        return (f"calibration: {len(self.runs)} measured run(s) like this one ({shown}{more}); "
                f"the estimate's median error on them {self.median_error:+.0%}")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": len(self.runs),
            "factor": round(self.factor, 4),
            "median_error": round(self.median_error, 4),
            "measured": [_shown(r) for r in self.runs],
        }


def _shown(run: Measurement) -> dict[str, Any]:
    keep = ("model", "gpu", "measured_gib", "estimated_gib")
    return {key: getattr(run, key) for key in keep}


def _distance(run: Measurement, params_b: float, tokens: int) -> float:
    return abs(math.log(run.params_b / params_b)) + abs(math.log(run.tokens / max(tokens, 1)))


def calibration_for(result: Estimate, measurements: list[Measurement]) -> Calibration | None:
    """The measured runs of the same kind (method, objective, checkpointing, sharding), near in
    model size and tokens per micro batch; None when none is."""
    spec = result.workload
    params_b = max(result.total_params / 1e9, 1e-6)
    tokens = spec.micro_batch * spec.seq_len
    kind = (spec.method, spec.objective, spec.grad_ckpt, sharding_of(result))
    same = [m for m in measurements if (m.method, m.objective, m.grad_ckpt, m.sharding) == kind]
    near = [m for m in same if _distance(m, params_b, tokens) <= MAX_DISTANCE]
    near.sort(key=lambda m: _distance(m, params_b, tokens))
    return Calibration(tuple(near[:NEAREST])) if near else None


def calibrated(result: Estimate, calibration: Calibration) -> Estimate:
    """The estimate with the measured correction folded in: the allocated bytes scaled by the
    factor; the CUDA context and allocator's share, which torch's peak does not count, kept."""
    allocated = result.allocated_gib * calibration.factor
    peak = result.peak_gib_per_gpu + allocated - result.allocated_gib
    fits, verdict = verdict_for(peak, result.gpu_mem_gib)
    breakdown = {**result.breakdown_gib, CORRECTION_TERM: allocated - result.allocated_gib}
    return result._replace(allocated_gib=allocated, peak_gib_per_gpu=peak, fits=fits,
                           verdict=verdict, breakdown_gib=breakdown)  # fmt: skip


def exported(record: RunRecord) -> dict[str, Any]:
    """One launch's measurement as a calibration record, for a bug report (`runs --export`):
    the estimate's inputs, its figures and the measured ones; no path, no host, no secret."""
    figure = record.estimate
    if figure is None:
        raise WizardError(
            f"{record.summary.path} records no estimate (a launch from before issue 31, or one "
            "whose model the wizard cannot estimate)",
            "launch the run again with this version to measure it",
        )
    inputs = dict(figure.inputs)
    inputs["model"] = public_model_name(str(inputs.get("model") or "unknown"))
    measured = record.measured
    data = entry(inputs, (figure.allocated_gib, figure.peak_gib),
                 (measured.peak_allocated_gib, measured.peak_reserved_gib), measured.gpu_name,
                 "launch")  # fmt: skip
    data.update(
        time_utc=record.summary.started_utc,
        outcome=record.summary.outcome,
        steps=measured.steps,
        tokens_per_second=measured.tokens_per_second,
        wall_seconds=measured.wall_seconds,
    )
    return data
