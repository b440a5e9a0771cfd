"""`parallel-sizes` against Axolotl's own mesh arithmetic: `_get_parallel_config_kwargs`
(axolotl/utils/distributed.py), which `build_parallelism_config` runs when training starts, then
accelerate's check that the mesh's sizes multiply to the world size."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from wizard.axolotl.view import AxolotlConfig
from wizard.lint import Env, lint_dict
from wizard.lint.parallel_rules import world_problem

FSDP = {"fsdp_version": 2, "fsdp_config": {"reshard_after_forward": True}}
# (config's parallel keys, world size); each is judged by Axolotl and by the rule.
CASES: list[tuple[dict[str, Any], int]] = [
    ({}, 8),
    ({"context_parallel_size": 2}, 8),
    ({"context_parallel_size": 8}, 8),
    ({"context_parallel_size": 3}, 8),
    ({"tensor_parallel_size": 2, "context_parallel_size": 2}, 8),
    ({"tensor_parallel_size": 16}, 8),
    ({"dp_shard_size": 4}, 8),
    ({**FSDP, "dp_shard_size": 4}, 8),
    ({**FSDP, "dp_shard_size": 4, "dp_replicate_size": 2}, 8),
    ({**FSDP, "dp_shard_size": 2, "dp_replicate_size": 2}, 8),
    ({**FSDP, "dp_replicate_size": 2}, 8),
    ({"dp_replicate_size": 2}, 8),
    ({"dp_replicate_size": 8}, 8),
    ({"dp_shard_size": 1}, 8),
    ({**FSDP, "dp_shard_size": 2, "context_parallel_size": 2, "dp_replicate_size": 2}, 8),
    ({"context_parallel_size": 2}, 2),
    ({"tensor_parallel_size": 2}, 1),
]

CHILD = """
import json, sys
from axolotl.utils.distributed import _get_parallel_config_kwargs
out = []
for keys, world in json.load(sys.stdin):
    try:
        sizes = _get_parallel_config_kwargs(world, keys.get("tensor_parallel_size") or 1,
            keys.get("context_parallel_size") or 1, keys.get("dp_shard_size"),
            keys.get("dp_replicate_size"), bool(keys.get("fsdp_config")))
        total = 1
        for size in sizes.values():
            total *= size
        # accelerate's ParallelismConfig._validate_accelerator: total_size == num_processes.
        out.append("ok" if not sizes or total == world else f"total {total} != {world}")
    except ValueError as err:
        out.append(str(err).splitlines()[0])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def axolotl_verdicts() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(CASES), capture_output=True,
        text=True, timeout=300, check=True,
    )  # fmt: skip
    verdicts: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return verdicts


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_rule_agrees_with_axolotls_mesh(index: int, axolotl_verdicts: list[str]) -> None:
    keys, world = CASES[index]
    problem = world_problem(AxolotlConfig(keys), world)
    assert (problem is None) == (axolotl_verdicts[index] == "ok"), (problem, axolotl_verdicts)


def test_check_reports_sizes_that_do_not_fill_the_gpus() -> None:
    cfg = {"base_model": "m", "datasets": [{"path": "a/b", "type": "alpaca"}],
           "context_parallel_size": 3, "attn_implementation": "flash_attention_2"}  # fmt: skip
    codes = {f.code for f in lint_dict(cfg, env=Env.for_gpu("sm_90", n_gpu=8))}
    assert "parallel-sizes" in codes
    fitted = {f.code for f in lint_dict({**cfg, "context_parallel_size": 4},
                                        env=Env.for_gpu("sm_90", n_gpu=8))}  # fmt: skip
    assert "parallel-sizes" not in fitted
    assert "parallel-sizes" not in {f.code for f in lint_dict(cfg, env=Env())}  # GPUs unknown


def test_dp_shard_size_without_fsdp_says_so() -> None:
    problem = world_problem(AxolotlConfig({"dp_shard_size": 4}), 8)
    assert problem is not None and "needs FSDP" in problem
