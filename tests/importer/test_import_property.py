"""For random valid answers: `new`, then `--from` of the config it wrote, gives the same answers
and renders the same files (the wizard's own choices come back as raw keys)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.answers.file import AnswersDocument
from wizard.answers.layers import Answers
from wizard.axolotl.paths import relative_to_run_dir
from wizard.importer import import_config
from wizard.render.runfolder import RunFolder, build_run_folder
from wizard.runspec import DatasetSpec, RunSpec

TRAINING_ANSWERS = (
    "sequence_len", "sample_packing", "micro_batch_size", "num_epochs", "max_steps",
    "lr_scheduler", "warmup_steps", "optimizer", "weight_decay", "gradient_checkpointing",
    "attention", "val_set_size", "output_dir", "seed", "logging_steps", "saves_per_epoch",
)  # fmt: skip
names = st.sampled_from(["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"])


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": draw(st.sampled_from(["org/chat-data", "data/train.jsonl", "./local.parquet"])),
        "format": draw(st.sampled_from(["alpaca", "chat_template", "completion", "input_output"])),
    }
    if draw(st.booleans()):
        entry["split"] = draw(st.sampled_from(["train", "train[:10%]"]))
    if entry["format"] == "chat_template":
        entry["field_messages"] = draw(st.sampled_from(["messages", "conversations"]))
        entry["role_key"] = draw(st.sampled_from(["role", "from"]))
        entry["content_key"] = draw(st.sampled_from(["content", "value"]))
    if entry["format"] == "completion":
        entry["text_field"] = draw(st.sampled_from(["text", "body"]))
    return entry


@st.composite
def methods(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["full", "lora", "qlora"]))
    if kind == "full":
        return {"kind": kind}
    targets = draw(st.one_of(st.just("all-linear"), st.lists(names, min_size=1, unique=True)))
    return {"kind": kind, "r": draw(st.integers(1, 256)), "alpha": draw(st.integers(1, 512)),
            "dropout": draw(st.sampled_from([0.0, 0.05, 0.1])),
            "target_modules": targets}  # fmt: skip


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    cpu = draw(st.booleans())
    gpus = 1 if cpu else draw(st.integers(1, 8))
    training: dict[str, Any] = {
        "sequence_len": draw(st.sampled_from([256, 2048, 8192])),
        "sample_packing": draw(st.booleans()),
        "micro_batch_size": draw(st.integers(1, 8)),
        "num_epochs": draw(st.integers(1, 3)),
        "max_steps": draw(st.one_of(st.none(), st.integers(1, 500))),
        "learning_rate": draw(st.one_of(st.none(), st.sampled_from([1e-5, 2e-4, 3e-4]))),
        "lr_scheduler": draw(st.sampled_from(["cosine", "linear", "constant"])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01])),
        "gradient_checkpointing": draw(st.booleans()),
        "val_set_size": draw(st.sampled_from([0.0, 0.05])),
        "seed": draw(st.integers(0, 10_000)),
        "precision": draw(st.sampled_from(["auto", "fp32"] if cpu else ["auto", "bf16", "fp32"])),
        "attention": draw(st.sampled_from(["sdpa", "eager"] if cpu else ["sdpa", "flash"])),
        "optimizer": draw(st.sampled_from(["adamw_torch"] if cpu else ["adamw_torch_fused",
                                                                      "adamw_bnb_8bit"])),
    }  # fmt: skip
    if draw(st.booleans()):
        training["warmup_steps"] = draw(st.integers(0, 100))
    if draw(st.booleans()):
        training["gradient_accumulation_steps"] = draw(st.integers(1, 16))
    distributed: dict[str, Any] = {"backend": "none"}
    if gpus > 1 and draw(st.booleans()):
        stage = draw(st.sampled_from([1, 2] if training["precision"] == "fp32" else [1, 2, 3]))
        distributed = {"backend": "deepspeed", "zero_stage": stage,
                       "offload_optimizer": draw(st.booleans())}  # fmt: skip
    return {
        "model": {"base_model": draw(st.sampled_from(["org/model", "./models/tiny"])),
                  "trust_remote_code": draw(st.booleans())},
        "datasets": draw(st.lists(datasets(), min_size=1, max_size=3)),
        "method": draw(methods()),
        # A GPU is named: with none, the recipe takes an Ampere-class one, which refuses packing
        # with SDPA in bf16 (Axolotl's 0.0-loss warning); a Hopper accepts every mix drawn here.
        "hardware": {"accelerator": "cpu", "gpus_per_node": 1} if cpu else {
            "accelerator": "cuda", "gpus_per_node": gpus, "gpu": "H100"},
        "training": training,
        "distributed": distributed,
    }  # fmt: skip


CPU_KERNELS = {"mlp_kernel", "qkv_kernel", "o_kernel", "embedding_kernel"}


def written(folder: RunFolder, run: Path) -> None:
    for name, text in folder.files.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(text)


def same_path(dataset: DatasetSpec) -> DatasetSpec:
    """`./local.parquet` and `local.parquet` are one file (the rebased path keeps no `./`)."""
    return dataset.model_copy(update={"path": os.path.normpath(dataset.path)})


def bodies(folder: RunFolder) -> dict[str, Any]:
    """The files as data: the config without its header comments, the JSON files."""
    return {name: yaml.safe_load(text) for name, text in folder.files.items()
            if name != "wizard-answers.yml"}  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_new_then_from_gives_the_same_answers_and_files(data: dict[str, Any]) -> None:
    spec = RunSpec.model_validate(data)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        mapper = relative_to_run_dir("run", str(cwd))
        first = build_run_folder(AnswersDocument(spec, {}, None), mapper)
        written(first, cwd / "run")
        imported = import_config(cwd / "run" / "axolotl.yml", cwd=cwd, run_dir=Path("run"))
        layered = Answers([imported.layer])
        again = layered.resolve()
        doc = AnswersDocument(again, layered.raw_axolotl(), None, layered.files())
        second = build_run_folder(doc, mapper)
    assert bodies(second) == bodies(first)
    assert again.model == spec.model
    # A CPU run writes the CUDA-only LoRA kernels off; imported, they are answers that say so.
    kernels = CPU_KERNELS if spec.hardware.accelerator == "cpu" else set()
    assert again.method.model_dump(exclude=kernels) == spec.method.model_dump(exclude=kernels)
    assert [same_path(d) for d in again.datasets] == [same_path(d) for d in spec.datasets]
    for name in TRAINING_ANSWERS:
        given = getattr(spec.training, name)
        if name == "saves_per_epoch" and given is None:
            given = 1  # unset, a wizard run writes its default of one save an epoch
        assert getattr(again.training, name) == given, name
    assert again.learning_rate == spec.learning_rate
    assert again.gradient_accumulation == spec.gradient_accumulation
    assert again.resolved_precision == spec.resolved_precision
