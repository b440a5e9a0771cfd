"""Sample runs for `gen_answers_docs.py`: rendered, they show which Axolotl key each answer
writes. Between them they set every answer that is more than one key as it is (the key table's
composite rows), each to a value other than its default, so that leaving the answer
out changes what is written. Each must be a run the spec accepts: the generator stops on one it
refuses.
"""

from __future__ import annotations

from typing import Any

_MODEL = {"base_model": "org/model"}
_H100 = {"gpu": "H100"}

SAMPLE_RUNS: tuple[dict[str, Any], ...] = (
    {  # SFT with LoRA on two GPUs and ZeRO-3, three kinds of data, most training answers
        "model": {**_MODEL, "trust_remote_code": True, "base_model_config": "org/model-config"},
        "datasets": [
            {"path": "org/chat", "format": "chat_template", "split": "test", "name": "main",
             "field_messages": "conversations", "role_key": "from", "content_key": "value",
             "roles_to_train": ["gpt"], "train_on_eos": "turn", "chat_template": "chatml",
             "roles": {"assistant": ["gpt"]}, "drop_system_message": True,
             "axolotl": {"shards": 2}},
            {"path": "org/text", "format": "completion", "text_field": "body", "ds_type": "json",
             "data_files": ["part-0.jsonl"]},
            {"path": "org/qa", "format": "axolotl", "type": "alpaca_chat.load_qa"},
        ],
        "data": {"prepared_path": "./cache",
                 "special_tokens": {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                                    "unk_token": "<unk>", "additional_special_tokens": ["<x>"]}},
        "method": {"kind": "lora", "r": 8, "alpha": 16, "dropout": 0.1,
                   "target_modules": ["q_proj", "v_proj"], "load_in_8bit": True},
        "hardware": {**_H100, "gpus_per_node": 2},
        "training": {"sequence_len": 1024, "sample_packing": True, "pad_to_sequence_len": False,
                     "micro_batch_size": 2, "gradient_accumulation_steps": 4, "num_epochs": 2,
                     "max_steps": 100, "learning_rate": 1e-4, "lr_scheduler": "linear",
                     "warmup_steps": 5, "optimizer": "adamw_torch", "weight_decay": 0.01,
                     "gradient_checkpointing": "offload", "use_reentrant": False,
                     "precision": "bf16", "tf32": False, "attention": "flash",
                     "val_set_size": 0.1, "eval_sample_packing": False, "output_dir": "./out",
                     "seed": 7, "logging_steps": 5, "saves_per_epoch": 2},
        "distributed": {"backend": "deepspeed", "zero_stage": 3, "offload_optimizer": True,
                        "offload_params": True},
        "speed": {"liger_rms_norm": True},
    },
    {  # plugins given, precision flags as most configs write them, an effective batch
        "model": _MODEL,
        "datasets": [{"path": "org/alpaca", "format": "alpaca"}],
        "hardware": _H100,
        "training": {"precision_flags": "on", "effective_batch_size": 8, "warmup_ratio": 0.1},
        "speed": {"liger_rms_norm": True},
        "plugins": ["axolotl.integrations.liger.LigerPlugin"],
    },
    {  # ZeRO-1 with the optimizer's states in CPU RAM
        "model": _MODEL,
        "datasets": [{"path": "org/alpaca", "format": "alpaca"}],
        "hardware": {**_H100, "gpus_per_node": 2},
        "distributed": {"backend": "deepspeed", "zero_stage": 1, "offload_optimizer": True},
    },
    {  # DPO with QLoRA, FSDP2 with its settings, launched through Ray
        "model": _MODEL,
        "datasets": [{"path": "org/pref", "format": "preference", "field_prompt": "question",
                      "field_chosen": "good", "field_rejected": "bad"}],
        "method": {"kind": "qlora"},
        "objective": {"kind": "dpo", "beta": 0.2, "precompute_ref_log_probs": True},
        "hardware": {**_H100, "gpus_per_node": 4},
        "distributed": {"backend": "fsdp", "fsdp_version": 2, "launcher": "ray",
                        "offload_params": True,
                        "fsdp": {"reshard_after_forward": False,
                                 "cpu_ram_efficient_loading": False,
                                 "state_dict_type": "SHARDED_STATE_DICT",
                                 "final_state_dict_type": "SHARDED_STATE_DICT",
                                 "auto_wrap_policy": "SIZE_BASED_WRAP",
                                 "transformer_layer_cls_to_wrap": "LlamaDecoderLayer",
                                 "activation_checkpointing": True, "sync_module_states": False,
                                 "use_orig_params": True}},
    },
    {  # a full fine-tune with FSDP offload
        "model": _MODEL,
        "datasets": [{"path": "org/alpaca", "format": "alpaca"}],
        "method": {"kind": "full", "unfrozen_parameters": ["^lm_head.weight$"]},
        "hardware": {**_H100, "gpus_per_node": 2},
        "distributed": {"backend": "fsdp", "offload_params": True,
                        "fsdp": {"cpu_offload_pin_memory": False}},
    },
    {  # one of Axolotl's own DeepSpeed files, as it ships it
        "model": _MODEL,
        "datasets": [{"path": "org/alpaca", "format": "alpaca"}],
        "method": {"kind": "full"},
        "hardware": {**_H100, "gpus_per_node": 2},
        "distributed": {"backend": "deepspeed",
                        "deepspeed_config": "deepspeed_configs/zero3_bf16_cpuoffload_params.json"},
    },
    {  # FSDP1, as an imported config spells it
        "defaults": "axolotl",
        "model": _MODEL,
        "datasets": [{"path": "org/alpaca", "format": "alpaca"}],
        "method": {"kind": "full", "load_in_8bit": False, "load_in_4bit": False},
        "hardware": {"gpus_per_node": 2},
        "distributed": {"backend": "fsdp", "fsdp_version": 1,
                        "fsdp_options": ["full_shard", "auto_wrap"]},
    },
    {  # ORPO on whole conversations
        "model": _MODEL,
        "datasets": [{"path": "org/pref", "format": "preference", "conversations": True}],
        "objective": {"kind": "orpo", "beta": 0.2},
        "hardware": _H100,
    },
    {  # SimPO
        "model": _MODEL,
        "datasets": [{"path": "org/pref", "format": "preference", "conversations": True}],
        "objective": {"kind": "simpo", "beta": 2.0, "simpo_gamma": 0.5, "cpo_alpha": 0.1},
        "hardware": _H100,
    },
    {  # KTO
        "model": _MODEL,
        "datasets": [{"path": "org/kto", "format": "unpaired_preference"}],
        "data": {"chat_template": "llama3"},
        "objective": {"kind": "kto", "beta": 0.2, "desirable_weight": 2.0,
                      "undesirable_weight": 0.5, "precompute_ref_log_probs": True},
        "hardware": _H100,
    },
    {  # GRPO with vLLM beside training
        "model": _MODEL,
        "datasets": [{"path": "org/prompts", "format": "prompts"}],
        "objective": {"kind": "grpo", "reward_functions": ["rewards.a", "rewards.b"],
                      "reward_weights": [1.0, 0.5], "num_generations": 4,
                      "max_completion_length": 128, "beta": 0.04, "vllm": "colocate",
                      "vllm_memory_share": 0.4},
        "hardware": _H100,
    },
    {  # GRPO with vLLM's own server
        "model": _MODEL,
        "datasets": [{"path": "org/prompts", "format": "prompts"}],
        "objective": {"kind": "grpo", "reward_functions": ["rewards.a"], "vllm_gpus": 2},
        "hardware": {**_H100, "gpus_per_node": 4},
    },
    {  # IPO, and a run on the CPU
        "model": _MODEL,
        "datasets": [{"path": "org/pref", "format": "preference"}],
        "objective": {"kind": "ipo"},
        "hardware": {"accelerator": "cpu"},
    },
)  # fmt: skip
