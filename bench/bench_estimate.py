"""Estimate vs measured peak memory on the reproducible rows of the reference data.

    python bench/bench_estimate.py [--no-peers] [--heldout]

Each row of tests/data/memory/cases.yaml (copied from the shared reference.csv) becomes an Axolotl
config; the estimator's number that matches how the source measured (allocated / reserved /
capacity, GB or GiB) is printed next to the measured one with the error. Beside it: DeepSpeed's
model-state estimator (estimate_zero2/3_model_states_mem_needs) and accelerate's estimate-memory
training rule for the same model, run for real in the same process. `--heldout` adds the rows of
heldout.yaml (measured rows with a setting resolved to its documented default, never used to set
constants) and their summary, signed median included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.estimate import GIB, Estimate, compose, workload_from_config  # noqa: E402
from wizard.estimate.core import FRAGMENTATION  # noqa: E402
from wizard.models import ModelArch, catalog_arch, largest_module_params, total_params  # noqa: E402
from wizard.models.arch import arch_from_config  # noqa: E402

CASES = ROOT / "tests" / "data" / "memory" / "cases.yaml"
HELDOUT = ROOT / "tests" / "data" / "memory" / "heldout.yaml"
CHECKED = ROOT / "wizard" / "estimate" / "checked.yaml"
UNIT_BYTES = {"GB": 1e9, "GiB": float(GIB)}


@dataclass(frozen=True)
class Result:
    row: str
    model: str
    measured: float | None
    unit: str
    compare: str
    estimated: float
    estimate: Estimate
    arch: ModelArch
    oom_above: float | None

    @property
    def error(self) -> float | None:
        if self.measured is None:
            return None
        return (self.estimated - self.measured) / self.measured


def load_cases(path: Path = CASES) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return cases


def _arch(row: str, case: dict[str, Any]) -> ModelArch:
    if "model_config" in case:
        return arch_from_config(dict(case["model_config"]), case["model"], source="heldout.yaml")
    arch = catalog_arch(case["model"])
    if arch is None:
        raise SystemExit(f"{row}: {case['model']} is not in the catalog")
    return arch


def _compared(result: Estimate, compare: str) -> float:
    """The estimator's number measured the way the source measured (GiB)."""
    if compare == "allocated":
        return result.allocated_gib
    if compare == "torch_reserved":  # max_memory_reserved: the allocator's cache, no context
        return result.allocated_gib * (1 + FRAGMENTATION)
    return result.peak_gib_per_gpu


def run_case(row: str, case: dict[str, Any]) -> Result:
    arch = _arch(row, case)._replace(**case.get("arch", {}))
    gpus = int(case.get("gpus", 1))
    spec = workload_from_config(case["config"], case.get("deepspeed"), gpus=gpus)
    spec = spec._replace(**case.get("spec", {}))
    result = compose(arch, spec, None)
    value = _compared(result, case["compare"]) * GIB / UNIT_BYTES[case["unit"]]
    measured = case.get("measured")
    return Result(row, case["model"], None if measured is None else float(measured),
                  case["unit"], case["compare"], value, result, arch, case.get("oom_above"))


def run_all(path: Path = CASES) -> list[Result]:
    return [run_case(row, case) for row, case in load_cases(path).items()]


def summary(results: list[Result]) -> dict[str, float]:
    signed = [r.error for r in results if r.error is not None]
    errors = [abs(e) for e in signed]
    return {
        "rows": float(len(errors)),
        "median_abs_error": statistics.median(errors),
        "median_signed_error": statistics.median(signed),
        "within_25": sum(e <= 0.25 for e in errors) / len(errors),
        "within_10": sum(e <= 0.10 for e in errors) / len(errors),
    }


def checked_rows(results: list[Result]) -> list[dict[str, Any]]:
    """What `estimate`'s confidence line compares with (wizard/estimate/checked.yaml)."""
    rows = []
    for r in results:
        if r.error is None:
            continue
        spec = r.estimate.workload
        rows.append({
            "row": r.row, "model": r.model.split("/")[-1], "method": spec.method,
            "grad_ckpt": spec.grad_ckpt, "sharded": spec.sharded,
            "params_b": round(total_params(r.arch) / 1e9, 3), "tokens": spec.tokens,
            "error": round(r.error, 3),
        })  # fmt: skip
    return rows


def checked_text(results: list[Result]) -> str:
    head = ("# Written by `python bench/bench_estimate.py --write-checked`: the reference rows\n"
            "# of tests/data/memory/cases.yaml, the shape of each run and the estimator's error\n"
            "# there. `estimate` shows the nearest ones as its confidence line.\n")  # fmt: skip
    return head + yaml.safe_dump({"rows": checked_rows(results)}, sort_keys=False, width=100)


def peers(result: Result) -> tuple[str, str]:
    """DeepSpeed's model-state estimate and accelerate's training estimate, in the row's unit."""
    from accelerate.commands.estimate import estimate_training_usage
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    spec, unit = result.estimate.workload, UNIT_BYTES[result.unit]
    psi = total_params(result.arch)
    if spec.sharded:
        _cpu, gpu, *_ = estimate_zero3_model_states_mem_needs(
            psi, largest_module_params(result.arch), spec.gpus, 1,
            cpu_offload=spec.offload_optimizer, cpu_offload_params=spec.offload_params)
    else:
        _cpu, gpu = estimate_zero2_model_states_mem_needs(
            psi, spec.gpus, 1, cpu_offload=spec.offload_optimizer)
    if spec.weight_bits < 16:
        acc = "n/a"  # accelerate reports N/A for int8/int4 training
    else:
        usage = estimate_training_usage(psi * 4, "bfloat16")
        acc = f"{max(usage.values()) / unit:.2f}"
    return f"{gpu / unit:.2f}", acc


def _fmt(r: Result, with_peers: bool) -> str:
    err = "" if r.error is None else f"{r.error:+.0%}"
    measured = f">{r.oom_above}" if r.measured is None else f"{r.measured:.2f}"
    cells = [r.row, r.model.split("/")[-1][:22], r.compare, r.unit, measured,
             f"{r.estimated:.2f}", err]
    if with_peers:
        cells += list(peers(r))
    return "| " + " | ".join(cells) + " |"


def _table(results: list[Result], with_peers: bool) -> None:
    head = ["row", "model", "measured as", "unit", "measured", "estimate", "error"]
    if with_peers:
        head += ["DeepSpeed model states", "accelerate (train, bs 1)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        print(_fmt(r, with_peers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-peers", action="store_true", help="skip DeepSpeed and accelerate")
    parser.add_argument("--write-checked", action="store_true", help=f"rewrite {CHECKED.name}")
    parser.add_argument("--heldout", action="store_true", help=f"also the rows of {HELDOUT.name}")
    args = parser.parse_args(argv)
    results = run_all()
    if args.write_checked:
        CHECKED.write_text(checked_text(results), encoding="utf-8")
    _table(results, not args.no_peers)
    stats = summary(results)
    print(f"\nrows with a measured point: {stats['rows']:.0f}; median |error| "
          f"{stats['median_abs_error']:.1%} (target <= 7%); within +-25%: "
          f"{stats['within_25']:.0%} (target >= 90%); within +-10%: {stats['within_10']:.0%}")
    if args.heldout:
        held = run_all(HELDOUT)
        print("\nHeld-out rows (heldout.yaml; never used to set constants):\n")
        _table(held, not args.no_peers)
        h = summary(held)
        print(f"\nheld-out rows: {h['rows']:.0f}; median |error| {h['median_abs_error']:.1%}; "
              f"signed median {h['median_signed_error']:+.1%}; within +-25%: "
              f"{h['within_25']:.0%}; within +-10%: {h['within_10']:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
