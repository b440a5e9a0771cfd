"""`tp-zero3`: tensor parallelism with a ZeRO-3 DeepSpeed file (issue 32). Axolotl 0.19.0
accepts it: its validator `check_tensor_parallel_size_update_ds_json` writes a copy of the file
with `tensor_parallel.autotp_size`, and DeepSpeed's engine then asserts AutoTP with ZeRO stage 2
at most. The parity test runs both pieces of real code on the same files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from answers_path import planned, refusal

from wizard.axolotl.deepspeed_file import shipped_deepspeed
from wizard.lint import Env, lint_dict

BASE: dict[str, Any] = {
    "base_model": "m",
    "learning_rate": 2e-4,
    "datasets": [{"path": "a/b", "type": "alpaca"}],
    "micro_batch_size": 1,
    "gradient_accumulation_steps": 4,
    "bf16": True,
    "tensor_parallel_size": 2,
}
FILES = {"zero3": "deepspeed_configs/zero3_bf16.json", "zero2": "deepspeed_configs/zero2.json"}

# Axolotl's validator rewrites the file; DeepSpeed reads the rewritten one, and its engine's
# check runs on it. The check is the first thing `_configure_tensor_parallel_states` does after
# recording the model; what follows it needs a process group, so only its assertion is judged.
CHILD = """
import json, sys, types
from axolotl.utils.config import validate_config
from axolotl.utils.dict import DictDefault
from deepspeed.runtime.config import DeepSpeedConfig
from deepspeed.runtime.engine import DeepSpeedEngine
out = []
caps = {"bf16": True, "fp8": True, "tf32": True, "n_gpu": 2, "n_node": 1,
        "compute_capability": "sm_90"}
for cfg in json.load(sys.stdin):
    validated = validate_config(DictDefault(cfg), caps, {"torch_version": "2.13.0"})
    with open(validated.deepspeed, encoding="utf-8") as fin:
        ds = json.load(fin)
    ds.update(train_micro_batch_size_per_gpu=1, gradient_accumulation_steps=4,
              train_batch_size=4)
    ds_config = DeepSpeedConfig(ds)
    engine = types.SimpleNamespace(
        _set_client_model=lambda model: None,
        zero_optimization_stage=lambda: ds_config.zero_optimization_stage,
        autotp_size=lambda: ds_config.tensor_parallel_config.autotp_size)
    try:
        DeepSpeedEngine._configure_tensor_parallel_states(engine, None)
        verdict = "ok"
    except Exception as err:
        # Past the stage check, what comes next needs a process group that is not here.
        stage_check = isinstance(err, AssertionError) and "zero_stage" in str(err)
        verdict = f"refused: {err}" if stage_check else "ok"
    out.append([ds_config.tensor_parallel_config.autotp_size, verdict])
print(json.dumps(out))
"""


def write_files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, shipped in FILES.items():
        found = shipped_deepspeed(shipped)
        assert found is not None
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(found[1]), encoding="utf-8")
    return paths


def codes(cfg: dict[str, Any], source: Path) -> set[str]:
    findings = lint_dict(cfg, env=Env.for_gpu("sm_90", n_gpu=2), source=source)
    return {f.code for f in findings if f.severity == "error"}


def test_tensor_parallelism_with_zero3_is_refused(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    source = tmp_path / "axolotl.yml"
    assert "tp-zero3" in codes({**BASE, "deepspeed": str(files["zero3"])}, source)
    assert "tp-zero3" not in codes({**BASE, "deepspeed": str(files["zero2"])}, source)
    one = {**BASE, "tensor_parallel_size": 1, "deepspeed": str(files["zero3"])}
    assert "tp-zero3" not in codes(one, source)


@pytest.mark.integration
def test_the_rule_agrees_with_axolotl_and_deepspeed(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    cfgs = [{**BASE, "deepspeed": str(files[name])} for name in ("zero3", "zero2")]
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(cfgs), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (tp3, zero3), (tp2, zero2) = json.loads(done.stdout.strip().splitlines()[-1])
    assert tp3 == tp2 == 2  # Axolotl turned AutoTP on in both files
    assert zero3.startswith("refused:") and "zero_stage = 3" in zero3
    assert zero2 == "ok"
    source = tmp_path / "axolotl.yml"
    assert "tp-zero3" in codes(cfgs[0], source)
    assert "tp-zero3" not in codes(cfgs[1], source)


def test_the_answers_path_refuses_it_naming_the_answers() -> None:
    answers = {"model.base_model": "org/model", "hardware.gpus_per_node": 8,
               "datasets": [{"path": "org/chat", "format": "chat_template"}],
               "method.kind": "full", "distributed.backend": "deepspeed",
               "distributed.zero_stage": 3, "distributed.tensor_parallel_size": 2}  # fmt: skip
    error = refusal(answers)
    assert "AutoTP" in error.message
    assert "distributed.tensor_parallel_size" in f"{error.message} {error.hint}"
    planned({**answers, "distributed.zero_stage": 2})  # ZeRO-2 is written
