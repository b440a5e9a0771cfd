"""The answers real configs use (issue 14): each one valid and invalid with its message, rendered
into its Axolotl keys, accepted by the real Axolotl 0.19.0, and imported back as an answer."""

from __future__ import annotations

from typing import Any

import pytest
from answers_path import refusal
from real_validators import run_validators

from wizard.answers.layers import unflatten
from wizard.axolotl.paths import relative_to_run_dir
from wizard.importer.settle import settle
from wizard.render.axolotl_config import render_axolotl
from wizard.runspec import RunSpec

BASE: dict[str, Any] = {
    "model.base_model": "org/model",
    "datasets": [{"path": "org/chat", "format": "chat_template"}],
    "hardware.gpus_per_node": 8,
    "training.gradient_accumulation_steps": 1,
}
# peft reads a text target as a regex over module paths (a vision model's language layers here).
VISION_TARGETS = r"model.language_model.layers.[\d]+.(mlp|self_attn).(up|down|gate|q|k|v|o)_proj"
# name -> (answers, the Axolotl keys they render, bad answers, what the refusal says)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]] = {
    "tracking": (
        {"tracking.wandb_project": "p", "tracking.wandb_entity": "team",
         "tracking.wandb_mode": "offline", "tracking.use_tensorboard": True,
         "tracking.mlflow_tracking_uri": "http://mlflow:5000",
         "tracking.mlflow_experiment_name": "x", "tracking.comet_project_name": "c"},
        {"wandb_project": "p", "wandb_entity": "team", "wandb_mode": "offline",
         "use_tensorboard": True, "mlflow_tracking_uri": "http://mlflow:5000",
         "mlflow_experiment_name": "x", "comet_project_name": "c"},
        {"tracking.wandb_project": 3}, "valid string",
    ),
    "hub": (
        {"hub.model_id": "org/run", "hub.strategy": "every_save", "hub.revision": "dev"},
        {"hub_model_id": "org/run", "hub_strategy": "every_save", "hub_revision": "dev"},
        {"hub.strategy": "sometimes"}, "not an Axolotl hub_strategy",
    ),
    "chat": (
        {"data.chat_template": "llama3", "data.special_tokens.pad_token": "<pad>",
         "data.tokens": ["<tool>"], "data.eot_tokens": ["<|eot_id|>"],
         "data.train_on_inputs": False,
         "datasets": [{"path": "org/chat", "format": "chat_template",
                       "roles_to_train": ["assistant"], "train_on_eos": "turn",
                       "roles": {"user": ["human"], "assistant": ["gpt"]}}]},
        {"chat_template": "llama3", "special_tokens": {"pad_token": "<pad>"},
         "tokens": ["<tool>"], "eot_tokens": ["<|eot_id|>"], "train_on_inputs": False},
        {"data.chat_template": "llama-3"}, "did you mean llama3",
    ),
    "chat-per-dataset": (
        {"datasets": [{"path": "org/chat", "format": "chat_template", "chat_template": "chatml",
                       "drop_system_message": True}]},
        {},
        {"datasets": [{"path": "org/a", "format": "alpaca", "roles_to_train": ["gpt"]}]},
        "only apply to format chat_template",
    ),
    "axolotl-dataset-type": (
        {"datasets": [{"path": "org/qa", "format": "axolotl", "type": "alpaca_chat.load_qa"},
                      {"path": "org/inst", "format": "axolotl",
                       "type": {"field_instruction": "question", "field_output": "answer",
                                "format": "[INST] {instruction} [/INST]",
                                "no_input_format": "[INST] {instruction} [/INST]"}}]},
        {},
        {"datasets": [{"path": "org/a", "format": "alpaca", "type": "oasst"}]},
        "type is Axolotl's own dataset type",
    ),
    "eval": (
        {"training.val_set_size": 0.1, "training.eval_steps": 10, "training.eval_strategy": "steps",
         "training.eval_batch_size": 2, "training.save_steps": 20,
         "training.early_stopping_patience": 3},
        {"eval_steps": 10, "eval_strategy": "steps", "eval_batch_size": 2, "save_steps": 20,
         "early_stopping_patience": 3},
        {"training.eval_steps": 10}, "leave nothing to evaluate on",
    ),
    "eval-per-epoch": (
        {"training.val_set_size": 0.05, "training.evals_per_epoch": 4},
        {"evals_per_epoch": 4, "val_set_size": 0.05},
        {"training.val_set_size": 0.05, "training.evals_per_epoch": 4, "training.eval_steps": 5},
        "set either evals_per_epoch or eval_steps",
    ),
    "save": (
        {"training.save_steps": 50, "training.save_total_limit": 3,
         "training.save_only_model": True},
        {"save_steps": 50, "save_total_limit": 3, "save_only_model": True},
        {"training.save_steps": 50, "training.saves_per_epoch": 2}, "two cadences",
    ),
    "lora-8bit": (
        {"method.kind": "lora", "method.load_in_8bit": True},
        {"adapter": "lora", "load_in_8bit": True},
        {"method.kind": "lora", "method.load_in_8bit": True, "hardware.accelerator": "cpu",
         "hardware.gpus_per_node": 1, "training.attention": "sdpa",
         "training.optimizer": "adamw_torch"},
        "needs bitsandbytes",
    ),
    "optimizer": (
        {"training.optimizer": "adamw_torch_8bit", "training.lr_scheduler": "cosine",
         "training.cosine_min_lr_ratio": 0.1, "training.adam_beta2": 0.95,
         "training.max_grad_norm": 0.5},
        {"optimizer": "adamw_torch_8bit", "cosine_min_lr_ratio": 0.1, "adam_beta2": 0.95,
         "max_grad_norm": 0.5},
        {"training.optimizer": "adam"}, "not an Axolotl optimizer",
    ),
    "scheduler": (
        {"training.lr_scheduler": "rex", "training.optimizer": "schedule_free_adamw"},
        {"lr_scheduler": "rex", "optimizer": "schedule_free_adamw"},
        {"training.lr_scheduler": "cosine_decay"}, "not an Axolotl lr_scheduler",
    ),
    "attention": (
        {"training.attention": "flex_attention"},
        {"attn_implementation": "flex_attention"},
        {"training.attention": "flashy"}, "not an Axolotl attn_implementation",
    ),
    "hub-kernel": (
        {"training.attention": "kernels-community/flash-attn3"},
        {"attn_implementation": "kernels-community/flash-attn3"},
        {"training.adam_beta2": 1.5}, "less than 1",
    ),
    "offloaded-checkpointing": (
        {"training.gradient_checkpointing": "offload", "training.use_reentrant": False},
        {"gradient_checkpointing": "offload",
         "gradient_checkpointing_kwargs": {"use_reentrant": False}},
        {"training.gradient_checkpointing": "offload_ram"}, "gradient_checkpointing",
    ),
    "activation-offloading": (
        {"training.activation_offloading": True},
        {"activation_offloading": True},
        {"training.gradient_checkpointing": False, "training.use_reentrant": True},
        "use_reentrant only applies",
    ),
    "liger-and-cce": (
        {"speed.liger_rms_norm": True, "speed.liger_glu_activation": True,
         "speed.cut_cross_entropy": True},
        {"plugins": ["axolotl.integrations.liger.LigerPlugin",
                     "axolotl.integrations.cut_cross_entropy.CutCrossEntropyPlugin"],
         "liger_rms_norm": True, "liger_glu_activation": True, "cut_cross_entropy": True},
        {"speed.liger_rms_norm": True, "plugins": ["my.Plugin"]}, "which this config does not load",
    ),
    "torch-compile-neftune": (
        {"speed.torch_compile": True, "training.neftune_noise_alpha": 5.0,
         "training.group_by_length": True, "distributed.ddp_timeout": 7200,
         "training.tf32": False},
        {"torch_compile": True, "neftune_noise_alpha": 5.0, "group_by_length": True,
         "ddp_timeout": 7200, "tf32": False},
        {"speed.torch_compile": "always"}, "torch_compile",
    ),
    "vision": (
        {"model.processor_type": "AutoProcessor", "method.kind": "lora",
         "method.target_modules": VISION_TARGETS},
        {"processor_type": "AutoProcessor",
         "lora_target_modules": VISION_TARGETS},
        {"method.kind": "lora", "method.target_modules": "(unclosed"}, "not a valid regex",
    ),
    "fsdp-full": (
        {"method.kind": "full", "distributed.backend": "fsdp",
         "distributed.fsdp.cpu_ram_efficient_loading": True},
        {"fsdp_version": 2, "fsdp_config": {"offload_params": False,
         "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "FULL_STATE_DICT",
         "reshard_after_forward": True, "cpu_ram_efficient_loading": True}},
        {"distributed.backend": "fsdp", "hardware.gpus_per_node": 1}, "shards nothing",
    ),
    "fsdp-qlora-offload": (
        {"method.kind": "qlora", "distributed.backend": "fsdp", "distributed.offload_params": True,
         "hardware.gpus_per_node": 2},
        {"adapter": "qlora", "fsdp_version": 2},
        {"distributed.backend": "fsdp", "distributed.offload_optimizer": True},
        "FSDP offloads parameters",
    ),
    "safetensors": (
        {"training.save_safetensors": True},
        {"save_safetensors": True},
        {"training.save_safetensors": "yes"}, "valid boolean",
    ),
    # The raw keys real configs carried most (issue 29), each an answer now.
    "model-loading": (
        {"model.base_model_config": "org/model-config", "model.tokenizer_use_fast": False,
         "model.tokenizer_legacy": True, "model.experimental_skip_move_to_device": True,
         "model.device_map": "auto"},
        {"base_model_config": "org/model-config", "tokenizer_use_fast": False,
         "tokenizer_legacy": True, "experimental_skip_move_to_device": True, "device_map": "auto"},
        {"model.tokenizer_use_fast": "yes"}, "valid boolean",
    ),
    "derived-model": (
        {"model.is_llama_derived_model": True, "model.is_mistral_derived_model": False},
        {"is_llama_derived_model": True, "is_mistral_derived_model": False},
        {"model.is_mistral_derived_model": 1}, "valid boolean",
    ),
    "gptq-lora": (
        {"model.gptq": True, "method.kind": "lora", "method.load_in_4bit": True,
         "method.lora_on_cpu": True},
        {"gptq": True, "adapter": "lora", "load_in_4bit": True, "lora_on_cpu": True},
        {"method.kind": "full", "method.lora_on_cpu": True}, "lora_on_cpu",
    ),
    "dataloader": (
        {"training.dataloader_num_workers": 2, "training.dataloader_pin_memory": True,
         "training.dataloader_prefetch_factor": 4},
        {"dataloader_num_workers": 2, "dataloader_pin_memory": True,
         "dataloader_prefetch_factor": 4},
        {"training.dataloader_num_workers": -1}, "greater than or equal to 0",
    ),
    "pure-half-precision": (
        {"training.bfloat16": True, "training.float16": False},
        {"bfloat16": True, "float16": False},
        {"training.float16": "yes"}, "valid boolean",
    ),
    "fsdp-shard-size": (
        {"method.kind": "full", "distributed.backend": "fsdp", "distributed.dp_shard_size": 8},
        {"fsdp_version": 2, "dp_shard_size": 8},
        {"distributed.dp_shard_size": 0}, "greater than or equal to 1",
    ),
    "context-parallel": (
        {"method.kind": "full", "distributed.backend": "fsdp",
         "training.attention": "flash_attention_2", "distributed.context_parallel_size": 2},
        {"context_parallel_size": 2, "attn_implementation": "flash_attention_2",
         "micro_batch_size": 1},
        {"distributed.context_parallel_size": 3}, "do not fill the run's 8 GPUs",
    ),
    "context-parallel-packed": (
        {"training.attention": "flash_attention_2", "distributed.context_parallel_size": 8,
         "training.sample_packing": True},
        {"context_parallel_size": 8, "sample_packing": True},
        {"distributed.context_parallel_size": 2, "training.micro_batch_size": 2,
         "training.sample_packing": True}, "micro_batch_size must be 1",
    ),
    "hsdp": (
        {"method.kind": "full", "distributed.backend": "fsdp", "distributed.dp_shard_size": 4,
         "distributed.dp_replicate_size": 2},
        {"fsdp_version": 2, "dp_shard_size": 4, "dp_replicate_size": 2},
        {"distributed.dp_shard_size": 4}, "needs FSDP",
    ),
    "tensor-parallel": (
        {"method.kind": "full", "distributed.backend": "fsdp",
         "distributed.tensor_parallel_size": 2},
        {"tensor_parallel_size": 2},
        {"distributed.tensor_parallel_size": 0}, "greater than or equal to 1",
    ),
    "best-checkpoint": (
        {"training.val_set_size": 0.1, "training.eval_max_new_tokens": 64,
         "training.eval_steps": 10, "training.save_steps": 20,
         "training.load_best_model_at_end": True, "training.metric_for_best_model": "eval_loss"},
        {"eval_max_new_tokens": 64, "load_best_model_at_end": True,
         "metric_for_best_model": "eval_loss"},
        {"training.metric_for_best_model": ""}, "at least 1 character",
    ),
    "process-reward-model": (
        {"model.process_reward_model": True, "model.num_labels": 2,
         "model.model_type": "AutoModelForTokenClassification"},
        {"process_reward_model": True, "num_labels": 2,
         "model_type": "AutoModelForTokenClassification"},
        {"model.num_labels": 0}, "greater than or equal to 1",
    ),
    "packing-bins": (
        {"training.sample_packing": True, "training.sample_packing_group_size": 50000,
         "training.sample_packing_bin_size": 100, "training.auto_resume_from_checkpoints": True},
        {"sample_packing": True, "sample_packing_group_size": 50000,
         "sample_packing_bin_size": 100, "auto_resume_from_checkpoints": True},
        {"training.sample_packing_bin_size": 0}, "greater than or equal to 1",
    ),
    "dataset-files": (
        {"datasets": [{"path": "json", "format": "alpaca", "ds_type": "json",
                       "data_files": ["data/a.jsonl", "data/b.jsonl"]},
                      {"path": "org/shards", "format": "completion", "data_files": "part-0.json",
                       "trust_remote_code": False}]},
        {"datasets": [{"path": "json", "type": "alpaca", "ds_type": "json",
                       "data_files": ["data/a.jsonl", "data/b.jsonl"]},
                      {"path": "org/shards", "type": "completion", "data_files": "part-0.json",
                       "trust_remote_code": False, "field": "text"}]},
        {"datasets": [{"path": "json", "format": "alpaca", "data_files": 3}]}, "valid string",
    ),
    "test-datasets": (
        {"test_datasets": [{"path": "org/eval", "format": "alpaca", "split": "test"}]},
        {"test_datasets": [{"path": "org/eval", "type": "alpaca", "split": "test"}]},
        {"test_datasets": []}, "at least 1 item",
    ),
    "pretraining": (
        {"datasets": [], "training.max_steps": 100,
         "pretraining_dataset": [{"path": "org/web", "format": "completion", "split": "train"}]},
        {"pretraining_dataset": [{"path": "org/web", "type": "completion", "split": "train",
                                  "field": "text"}],
         "max_steps": 100, "datasets": None},
        {"datasets": [], "pretraining_dataset": [{"path": "org/web", "format": "completion"}]},
        "needs `max_steps`",
    ),
    "data-processes": (
        {"data.dataset_num_proc": 4}, {"dataset_num_proc": 4},
        {"data.dataset_num_proc": 0}, "greater than or equal to 1",
    ),
}  # fmt: skip


def spec_of(answers: dict[str, Any]) -> RunSpec:
    return RunSpec.model_validate(unflatten({**BASE, **answers}))


@pytest.mark.parametrize("name", list(CASES))
def test_the_answer_renders_its_axolotl_keys(name: str) -> None:
    answers, keys, _, _ = CASES[name]
    rendered = render_axolotl(spec_of(answers)).as_dict()
    assert {key: rendered.get(key) for key in keys} == keys


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_answer_is_refused_with_what_to_change(name: str) -> None:
    bad, needle = CASES[name][2], CASES[name][3]
    err = refusal({**BASE, **bad})
    assert needle in f"{err.message} {err.hint}"


@pytest.mark.parametrize("name", list(CASES))
def test_an_import_of_the_rendered_config_gives_the_answers_back(name: str) -> None:
    spec = spec_of(CASES[name][0])
    rendered = render_axolotl(spec).as_dict()
    settled = settle(rendered, name)
    assert settled.raw == {}, f"kept raw: {sorted(settled.raw)}"
    again = RunSpec.model_validate(unflatten(settled.answers))
    assert render_axolotl(again).as_dict() == rendered


def test_a_local_model_config_folder_is_read_from_the_run_folder_as_the_model_is() -> None:
    spec = spec_of({"model.base_model": "./weights", "model.base_model_config": "./arch"})
    rendered = render_axolotl(spec, path_for=relative_to_run_dir("runs/a", "/work")).as_dict()
    written = (rendered["base_model"], rendered["base_model_config"])
    assert written == ("../../weights", "../../arch")


def test_no_datasets_are_refused_unless_a_pretraining_dataset_streams() -> None:
    err = refusal({**BASE, "datasets": []})
    assert "nothing to train on" in err.message and "datasets" in err.hint


def test_settings_axolotl_decides_are_not_written_when_unset() -> None:
    rendered = render_axolotl(spec_of({})).as_dict()
    unset = ("wandb_project", "hub_model_id", "chat_template", "eval_steps", "save_steps",
             "plugins", "max_grad_norm", "fsdp_config", "load_in_8bit", "base_model_config",
             "test_datasets", "save_safetensors", "dp_shard_size", "bfloat16")  # fmt: skip
    assert [key for key in unset if key in rendered] == []
    assert rendered["saves_per_epoch"] == 1  # the one cadence a wizard run always says


@pytest.mark.integration
def test_axolotl_accepts_every_answer() -> None:
    # Axolotl only imports ring_flash_attn for context parallelism (it needs CUDA's flash-attn
    # to install): the child gets an importable stand-in; tests/lint/test_parity.py holds the
    # refusal without it.
    cases = [{"id": name, "config": render_axolotl(spec_of(answers)).as_dict(),
              "deepspeed": None, "gpus": spec_of(answers).hardware.world_size, "bf16": True,
              "stand_in": ["ring_flash_attn"]}
             for name, (answers, *_) in CASES.items()]  # fmt: skip
    verdicts = run_validators(cases)
    refused = {name: v["axolotl"] for name, v in verdicts.items() if v["axolotl"] != "ok"}
    assert refused == {}
    assert len(verdicts) == len(CASES)


LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
ATTENTION_ONLY = r"model.layers.[\d]+.self_attn.(q|v)_proj"
# The answers that change memory, each against the same run without it: (answers, lower?)
MEMORY = {
    "8-bit LoRA": ({"method.kind": "lora", "method.load_in_8bit": True}, {"method.kind": "lora"}),
    "8-bit optimizer": ({"method.kind": "full", "training.optimizer": "adamw_8bit"},
                        {"method.kind": "full"}),
    "4-bit torchao optimizer": ({"method.kind": "full", "training.optimizer": "ao_adamw_4bit"},
                                {"method.kind": "full", "training.optimizer": "ao_adamw_8bit"}),
    "offloaded checkpoints": ({"training.gradient_checkpointing": "offload"},
                              {"training.gradient_checkpointing": True}),
    "Cut Cross Entropy": ({"speed.cut_cross_entropy": True}, {}),
    "Liger": ({"speed.liger_rms_norm": True, "speed.liger_glu_activation": True,
               "training.gradient_checkpointing": False},
              {"training.gradient_checkpointing": False}),
    "FSDP": ({"method.kind": "full", "distributed.backend": "fsdp"}, {"method.kind": "full"}),
    "regex targets": ({"method.kind": "lora", "method.target_modules": ATTENTION_ONLY},
                      {"method.kind": "lora"}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MEMORY))
def test_the_estimate_knows_what_an_answer_changes(name: str) -> None:
    from wizard.estimate.entry import estimate
    from wizard.models.resolve import catalog_arch

    arch = catalog_arch(LLAMA)
    assert arch is not None

    def peak(answers: dict[str, Any]) -> float:
        spec = spec_of({"model.base_model": LLAMA, "training.sequence_len": 4096, **answers})
        cfg = render_axolotl(spec).as_dict()
        return estimate(cfg, arch, gpus=spec.hardware.world_size, advise=False).peak_gib_per_gpu

    with_it, without = MEMORY[name]
    assert peak(with_it) < peak(without)
