"""`distributed.deepspeed_config` (issue 29): a DeepSpeed file as it is, one of Axolotl 0.19.0's
own by its name in Axolotl's repository, or a file the answers carry (`files:`). Valid only with
`distributed.backend: deepspeed`, rendered as `deepspeed:` naming the JSON written into the run
folder, read by the estimate and by auto-fit, accepted by Axolotl and DeepSpeed, imported back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from answers_path import planned, refusal
from conftest import run_wizard
from real_validators import run_validators

from wizard.answers.layers import Answers, Layer, LayerKind
from wizard.axolotl.deepspeed_file import shipped_deepspeed
from wizard.importer.settle import settle
from wizard.render.plan import RunPlan, plan_run

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SHIPPED = "deepspeed_configs/zero3_bf16_cpuoffload_params.json"
RUN: dict[str, Any] = {
    "model.base_model": LLAMA,
    "datasets": [{"path": "org/chat", "format": "chat_template"}],
    "method.kind": "full",
    "hardware.gpu": "H100",
    "hardware.gpus_per_node": 8,
    "training.attention": "sdpa",
    "training.precision": "bf16",
    "distributed.backend": "deepspeed",
}
MINE = "deepspeed/mine.json"
# A file of the user's own: ZeRO-2 with the optimizer on the CPU, bf16 as the YAML says.
OWN_JSON: dict[str, Any] = {
    "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"},
                          "overlap_comm": True, "contiguous_gradients": True},
    "bf16": {"enabled": "auto"},
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "train_batch_size": "auto",
}  # fmt: skip


def shipped_json(path: str) -> dict[str, Any]:
    found = shipped_deepspeed(path)
    assert found is not None
    return found[1]


def with_file(answers: dict[str, Any], files: dict[str, Any]) -> RunPlan:
    """The answers path with a layer that carries files, as an import or answers file has it."""
    layer = Layer("answers file", answers, kind=LayerKind.ANSWERS_FILE, files=files)
    return plan_run(Answers([layer]), None, None, Path.cwd())


def test_axolotls_own_file_is_written_into_the_run_folder_and_named() -> None:
    plan = planned({**RUN, "distributed.deepspeed_config": SHIPPED})
    name = "deepspeed/zero3_bf16_cpuoffload_params.json"  # the name keeps `zero3`
    assert plan.folder.config["deepspeed"] == name
    assert json.loads(plan.folder.files[name]) == shipped_json(SHIPPED)
    assert [f for f in plan.folder.files if f.startswith("deepspeed/")] == [name]
    assert plan.folder.deepspeed == shipped_json(SHIPPED)  # what `check` and the estimate read


def test_the_estimate_reads_the_offload_of_the_file_it_names() -> None:
    """zero3_bf16_cpuoffload_params puts the parameters in CPU RAM; zero3_bf16 does not."""
    offloaded = planned({**RUN, "distributed.deepspeed_config": SHIPPED}).estimate
    on_gpu = planned({**RUN, "distributed.deepspeed_config": "deepspeed_configs/zero3_bf16.json"})
    assert offloaded is not None and on_gpu.estimate is not None
    assert offloaded.workload.zero_stage == 3 and offloaded.workload.offload_params
    assert not on_gpu.estimate.workload.offload_params
    assert offloaded.peak_gib_per_gpu < on_gpu.estimate.peak_gib_per_gpu
    assert offloaded.cpu_ram_gib > on_gpu.estimate.cpu_ram_gib


def test_auto_fit_keeps_the_layout_the_file_fixes() -> None:
    """A file given is the user's choice of layout: auto-fit only picks the batch around it, and
    sets no ZeRO answer beside the file."""
    plan = planned({**RUN, "distributed.deepspeed_config": SHIPPED})
    assert plan.fit.plan is not None
    chosen = plan.fit.plan
    assert (chosen.zero_stage, chosen.offload_params, chosen.fsdp) == (3, True, False)
    assert "distributed.zero_stage" not in plan.answers.merged()


def test_a_file_the_answers_carry_is_written_as_it_is() -> None:
    plan = with_file({**RUN, "distributed.deepspeed_config": MINE}, {MINE: OWN_JSON})
    assert plan.folder.config["deepspeed"] == MINE
    assert json.loads(plan.folder.files[MINE]) == OWN_JSON
    assert plan.folder.deepspeed == OWN_JSON
    assert plan.fit.plan is not None and plan.fit.plan.zero_stage == 2  # its layout is kept
    assert plan.fit.plan.offload_optimizer


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({"distributed.backend": "none"}, "only applies with distributed.backend=deepspeed"),
        ({"distributed.backend": "fsdp"}, "only applies with distributed.backend=deepspeed"),
        ({"distributed.zero_stage": 2}, "says the ZeRO stage and offloads itself"),
        ({"distributed.offload_optimizer": True}, "says the ZeRO stage and offloads itself"),
        ({"distributed.deepspeed_config": "deepspeed_configs/zero3_bf16_offload.json"},
         "did you mean deepspeed_configs/zero3_bf16"),
        ({"distributed.deepspeed_config": "../ds.json"}, "deepspeed/NAME.json"),
        ({"distributed.deepspeed_config": MINE}, "a file the answers do not carry"),
    ],
)  # fmt: skip
def test_a_file_that_does_not_fit_the_answers_is_refused(bad: dict[str, Any], needle: str) -> None:
    err = refusal({**RUN, "distributed.deepspeed_config": SHIPPED, **bad})
    assert needle in f"{err.message} {err.hint}"


def test_a_carried_file_of_the_same_name_is_never_silently_replaced() -> None:
    other = {**OWN_JSON, "gradient_clipping": 1.0}
    with pytest.raises(Exception, match="differ"):
        with_file({**RUN, "distributed.deepspeed_config": SHIPPED},
                  {"deepspeed/zero3_bf16_cpuoffload_params.json": other})  # fmt: skip


@pytest.mark.parametrize(("given", "files"), [(SHIPPED, {}), (MINE, {MINE: OWN_JSON})])
def test_an_import_of_the_rendered_config_gives_the_answer_back(
    given: str, files: dict[str, Any]
) -> None:
    plan = with_file({**RUN, "distributed.deepspeed_config": given}, files)
    rendered = plan.folder.config
    settled = settle(rendered, "t", deepspeed=plan.folder.deepspeed)
    assert settled.answers["distributed.deepspeed_config"] == given
    assert settled.answers["distributed.backend"] == "deepspeed"
    assert "deepspeed" not in settled.raw


def test_a_json_that_differs_from_axolotls_file_of_that_name_is_carried() -> None:
    """A zero2.json of the user's own (not Axolotl's) is their file, never Axolotl's by name."""
    cfg = planned({**RUN, "distributed.deepspeed_config": "deepspeed_configs/zero2.json"})
    settled = settle(cfg.folder.config, "t", deepspeed=OWN_JSON)
    assert settled.answers["distributed.deepspeed_config"] == "deepspeed/zero2.json"


def precision_filled(ds: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The `"auto"` precision blocks filled as the HF Trainer fills them from the YAML's flags
    (`fill_match("bf16.enabled", args.bf16)`), which DeepSpeed's own check cannot read."""
    filled = json.loads(json.dumps(ds))
    for block in ("bf16", "fp16"):
        if filled.get(block, {}).get("enabled") == "auto":
            filled[block]["enabled"] = cfg.get(block) is True
    return filled


@pytest.mark.integration
def test_axolotl_and_deepspeed_accept_the_run() -> None:
    plans = {
        "shipped": planned({**RUN, "distributed.deepspeed_config": SHIPPED}),
        "zero2": planned({**RUN, "distributed.deepspeed_config": "deepspeed_configs/zero2.json"}),
        "own": with_file({**RUN, "distributed.deepspeed_config": MINE}, {MINE: OWN_JSON}),
    }
    cases = [{"id": name, "config": plan.folder.config, "gpus": 8, "bf16": True,
              "deepspeed": precision_filled(plan.folder.deepspeed or {}, plan.folder.config)}
             for name, plan in plans.items()]  # fmt: skip
    verdicts = run_validators(cases)
    assert {name: (v["axolotl"], v["deepspeed"]) for name, v in verdicts.items()} == {
        name: ("ok", "ok") for name in plans
    }


def test_the_written_run_checks_estimates_and_launches(tmp_path: Path) -> None:
    """`new` with Axolotl's file, then `check`, `estimate` and `launch --dry-run` on the folder:
    each reads the JSON the run folder holds."""
    sets = [*(f"--set={key}={value}" for key, value in RUN.items() if key != "datasets"),
            "--set=datasets.0.path=org/chat", "--set=datasets.0.format=chat_template",
            f"--set=distributed.deepspeed_config={SHIPPED}"]  # fmt: skip
    made = run_wizard("new", "runs/x", *sets, "--yes", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "ZeRO-3 with parameter and optimizer offload" in made.stdout  # auto-fit kept it
    checked = run_wizard("check", "runs/x/axolotl.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    estimated = run_wizard("estimate", "runs/x/axolotl.yml", "--json", cwd=tmp_path)
    assert estimated.returncode == 0, estimated.stderr
    # The 8 processes' own RAM is 24 GiB; the parameters ZeRO-3 offloads come on top.
    assert json.loads(estimated.stdout)["cpu_ram_gib"] > 30
    launched = run_wizard("launch", "runs/x", "--dry-run", cwd=tmp_path)
    assert launched.returncode == 0, launched.stderr
    assert "-m axolotl.cli.train axolotl.yml" in launched.stdout
