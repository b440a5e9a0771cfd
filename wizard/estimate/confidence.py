"""How sure an estimate is: the published runs it was checked against that resemble this one.

`checked.yaml` lists the reference rows the estimator is tested on (written by
`python bench/bench_estimate.py --write-checked`; a test fails when it is stale), each with the
shape of its run and the estimator's error there. A run is compared with the rows of the same
method, checkpointing and sharding, nearest in model size and tokens per micro batch.
"""

import math
from functools import lru_cache
from typing import Any

from wizard.estimate.workload import Workload
from wizard.records import Record
from wizard.yamlio import package_data

# Rows further than this (in natural-log units of size and tokens, summed) do not resemble.
MAX_DISTANCE = 1.6
NEAREST = 3


class Checked(Record):
    """One reference row: where it comes from, the run's shape and the estimator's error."""

    row: str
    model: str
    method: str
    grad_ckpt: bool
    sharded: bool
    params_b: float
    tokens: int
    error: float


class Confidence(Record):
    rows: tuple[Checked, ...]

    @property
    def median_abs_error(self) -> float | None:
        if not self.rows:
            return None
        import statistics  # here: `new --yes` makes a Confidence and never asks for its median

        return statistics.median(abs(r.error) for r in self.rows)

    def line(self) -> str:
        if not self.rows:
            return (
                "confidence: no published run it was checked against resembles this one; "
                "allow about +-25%"
            )
        shown = ", ".join(f"{r.row} {r.model} {r.error:+.0%}" for r in self.rows)
        median = self.median_abs_error or 0.0
        return (
            f"confidence: checked against {len(self.rows)} similar published run(s) "
            f"({shown}): median error {median:.0%}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "median_abs_error": self.median_abs_error,
            "rows": [{"row": r.row, "model": r.model, "error": r.error} for r in self.rows],
        }


@lru_cache(maxsize=1)
def checked_rows() -> tuple[Checked, ...]:
    data: dict[str, Any] = package_data("wizard.estimate", "checked.yaml")
    return tuple(Checked(**row) for row in data["rows"])


def _distance(row: Checked, params_b: float, tokens: int) -> float:
    return abs(math.log(row.params_b / params_b)) + abs(math.log(row.tokens / tokens))


def confidence(spec: Workload, total_params: int) -> Confidence:
    """The nearest checked rows of the same kind of run."""
    params_b = max(total_params / 1e9, 1e-3)
    same = [
        r
        for r in checked_rows()
        if r.method == spec.method and r.grad_ckpt == spec.grad_ckpt and r.sharded == spec.sharded
    ]
    near = sorted(same, key=lambda r: _distance(r, params_b, spec.tokens))
    kept = [r for r in near[:NEAREST] if _distance(r, params_b, spec.tokens) <= MAX_DISTANCE]
    return Confidence(tuple(kept))
