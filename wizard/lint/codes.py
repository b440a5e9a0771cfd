"""Every code a `check` finding carries: the severities it is reported with and what it means.

The one list of codes: `scripts/gen_check_docs.py` writes `docs/check-codes.md` from it (with
the Axolotl validators each code mirrors, from the inventory), and `tests/test_docs.py` holds the
rules to it: a code a rule reports, or a severity it reports it with, that is missing here fails.
A new rule's code gets its row here.
"""

from __future__ import annotations

from typing import Final

from wizard.lint.findings import Severity
from wizard.records import Record

# The parts of `check`, in the order the manual lists them.
AREAS: Final[dict[str, str]] = {
    "schema": "Keys, types and plugins (Axolotl's bundled schema)",
    "axolotl": "What Axolotl 0.19 refuses or converts",
    "deepspeed": "The DeepSpeed JSON",
    "crossfile": "The YAML and its DeepSpeed JSON together",
    "gotcha": "Hardware and environment gotchas",
    "validation": "Axolotl's own validation (`check --axolotl`)",
}


class Code(Record):
    area: str
    severities: tuple[Severity, ...]
    summary: str
    # Axolotl accepts the config and throws the value away: the run silently differs from it.
    drops_value: bool = False
    # One kind of finding that several rules report, each about other keys (a removed key, a
    # deprecated one, a missing package); any other code is reported by one rule, in one module.
    family: bool = False


_E: Final[tuple[Severity, ...]] = ("error",)
_W: Final[tuple[Severity, ...]] = ("warning",)

CODES: Final[dict[str, Code]] = {
    # schema
    "unknown-key": Code("schema", _W, "not an Axolotl key (at the top, in a dataset entry or a "
                        "section), with the nearest key", drops_value=True),
    "plugin-key-without-plugin": Code("schema", _W, "a key of a plugin the config does not load",
                                      drops_value=True),
    "duplicate-key": Code("schema", _W, "a key set twice: YAML keeps the last value",
                          drops_value=True),
    "type-error": Code("schema", _E, "a value of the wrong type, or not one of the allowed "
                       "values, with what to write"),
    "missing-key": Code("schema", _E, "a key Axolotl requires is not set"),
    "bad-key": Code("schema", _E, "a key that is not a string"),
    "removed-key": Code("schema", ("error", "hint"), "a key Axolotl removed: an error when set "
                        "(Axolotl refuses it), a hint when empty", family=True),
    "deprecated-key": Code("schema", _W, "a key Axolotl still reads but renames or converts "
                           "(`check --fix` writes the new form)", family=True),
    "legacy-flag-off": Code("schema", _W, "a legacy attention flag (`flash_attention`, "
                            "`sdp_attention`, ...) set to false: Axolotl drops it, it sets "
                            "nothing"),
    "unknown-plugin": Code("schema", _E, "a plugin that is not Axolotl's, or whose module is not "
                           "installed"),
    "plugin-missing-package": Code("schema", _E, "a plugin whose package is not installed"),
    "unchecked-plugin": Code("schema", ("hint",), "a plugin that is not an Axolotl integration: "
                             "its keys are not checked"),
    # what Axolotl refuses
    "no-datasets": Code("axolotl", _E, "neither `datasets` nor `pretraining_dataset`"),
    "streamed-max-steps": Code("axolotl", _E, "`pretraining_dataset` or `streaming` without "
                               "`max_steps`"),
    "streamed-packing": Code("axolotl", _E, "`sample_packing` with several streamed datasets"),
    "batch-size": Code("axolotl", _E, "`batch_size` with `gradient_accumulation_steps`, or "
                       "without `micro_batch_size`"),
    "warmup": Code("axolotl", _E, "both `warmup_steps` and `warmup_ratio`"),
    "early-stopping": Code("axolotl", _E, "`early_stopping_patience` without `save_steps` and "
                           "`eval_steps`, or with an `eval_steps` that does not divide "
                           "`save_steps`"),
    "save-best-metric": Code("axolotl", _E, "`save_strategy: best` without "
                             "`metric_for_best_model`"),
    "attention-flags": Code("axolotl", _E, "`attn_implementation` next to a legacy attention "
                            "flag (`flash_attention`, `sdp_attention`, …)"),
    "attention-name": Code("axolotl", _E, "a short `attn_implementation` name Axolotl refuses "
                           "(`flash`: write `flash_attention_2`)"),
    "fsdp2-optimizer": Code("axolotl", _E, "FSDP2 with a bitsandbytes 8-bit AdamW"),
    "cp-attention": Code("axolotl", _E, "context parallelism without flash attention 2 (ring "
                         "attention patches only that backend)"),
    "cp-micro-batch": Code("axolotl", _E, "context parallelism with sample packing and a micro "
                           "batch over 1 (ring-flash-attn takes one packed row)"),
    "grpo-liger-cp": Code("axolotl", _E, "GRPO with Liger's loss and context parallelism"),
    "parallel-sizes": Code("axolotl", _E, "dp_replicate x dp_shard x context x tensor parallel "
                           "sizes that do not fill the run's GPUs, or dp_shard_size without "
                           "FSDP (Axolotl stops when it builds the device mesh)"),
    "fsdp2-4bit-loading": Code("axolotl", _E, "FSDP2, 4-bit weights and "
                               "`cpu_ram_efficient_loading`: the loading deadlocks"),
    "fsdp-offload-8bit": Code("axolotl", _E, "FSDP's CPU offload with an 8-bit optimizer (its "
                              "step runs on the CPU)"),
    "fsdp-pin-memory": Code("axolotl", _E, "`cpu_offload_pin_memory: false` under FSDP1 or "
                            "without `offload_params`"),
    "fsdp2-quantised-rl": Code("axolotl", _E, "FSDP2 with a 4-bit or 8-bit base model for DPO, "
                               "IPO, KTO or ORPO"),
    "falcon-fsdp": Code("axolotl", _E, "FSDP1's `fsdp:` list with a Falcon model"),
    "simpo-warmup": Code("axolotl", _E, "`warmup_ratio` with SimPO's trainer"),
    "kto-columns": Code("axolotl", _E, "KTO without `remove_unused_columns: false`"),
    "ebft-compile": Code("axolotl", _E, "EBFT's strided mode with `torch_compile` and gradient "
                         "checkpointing"),
    "rl-packing": Code("axolotl", _E, "`sample_packing` with a preference or RL trainer (`rl:`)"),
    "grpo-batch": Code("axolotl", _E, "GRPO's generation batch: not a multiple of "
                       "`trl.num_generations`, or fewer than `num_generations` × GPUs"),
    "eval-packing": Code("axolotl", _E, "the eval table or causal-LM evals with packed eval "
                         "samples (`eval_sample_packing: false` fixes it)"),
    "cadence": Code("axolotl", _E, "two cadences for one thing (`save_steps` and "
                    "`saves_per_epoch`, `eval_steps` and `evals_per_epoch`), a strategy that "
                    "contradicts its steps, or evals with nothing held out"),
    "val-set-size": Code("axolotl", _E, "`val_set_size` with `test_datasets`, "
                         "`pretraining_dataset` or `streaming`"),
    "save-safetensors": Code("axolotl", _E, "`save_safetensors: false`, which Transformers 5 "
                             "no longer has (`check --fix` drops it)"),
    "lora-kernels-remote-code": Code("axolotl", _E, "Axolotl's LoRA kernels with "
                                     "`trust_remote_code`"),
    "removed-dataset-type": Code("axolotl", _E, "a ShareGPT dataset type Axolotl removed "
                                 "(`check --fix` migrates it to `chat_template`)"),
    "unknown-dataset-type": Code("axolotl", _W, "a dataset `type:` Axolotl has no loader for: it "
                                 "fails when the data is loaded"),
    "missing-package": Code("gotcha", ("error", "warning"), "a package the config needs is not "
                            "installed here: ring-flash-attn for context parallelism (error), "
                            "flash-attn for flash attention (warning)", family=True),
    # the DeepSpeed JSON
    "deepspeed-missing": Code("deepspeed", _W, "`deepspeed:` names no file here: Axolotl's "
                              "validation never opens it (it may be on the training machine), "
                              "`launch` makes it an error"),
    "deepspeed-not-finite": Code("deepspeed", _E, "NaN or Infinity in the DeepSpeed JSON"),
    "deepspeed-unknown-key": Code("deepspeed", ("error", "warning"), "not a DeepSpeed key: an "
                                  "error inside `zero_optimization` (DeepSpeed refuses it), a "
                                  "warning at the top (DeepSpeed ignores it)", drops_value=True),
    "deepspeed-stage": Code("deepspeed", _E, "a ZeRO stage other than 0 to 3"),
    "deepspeed-offload": Code("deepspeed", ("error", "warning"), "an offload device DeepSpeed "
                              "does not know, NVMe offload without `nvme_path`, or a `nvme_path` "
                              "that is not on this machine"),
    # the YAML and the DeepSpeed JSON together
    "qlora-zero3-dtype": Code("crossfile", _E, "QLoRA with ZeRO-3 whose 4-bit storage dtype is "
                              "not the compute dtype"),
    "qlora-zero3-offload": Code("crossfile", _E, "QLoRA with ZeRO-3 parameter offload: the 4-bit "
                                "parameters cannot move to the CPU"),
    "zero3-precision": Code("crossfile", _W, "a ZeRO-3 file without an enabled bf16 or fp16 "
                            "block: fp32 parameters, twice the memory"),
    "precision-mismatch": Code("crossfile", _E, "the DeepSpeed file's concrete bf16/fp16 "
                               "disagrees with the YAML: the trainer refuses it"),
    "deepspeed-overrides-yaml": Code("crossfile", _W, "an `optimizer` or `scheduler` block in "
                                     "the DeepSpeed file, which silently replaces the YAML's"),
    "zero2-offload": Code("crossfile", _W, "CPU optimizer offload with ZeRO-1/2: every step "
                          "waits on the CPU"),
    "compile-in-deepspeed": Code("crossfile", _W, "`compile` in the DeepSpeed file, which is "
                                 "not how Axolotl compiles"),
    "batch-mismatch": Code("crossfile", _E, "a concrete DeepSpeed batch size that disagrees "
                           "with the YAML's micro batch, accumulation and GPUs"),
    "tp-zero3": Code("crossfile", _E, "tensor parallelism with a ZeRO-3 DeepSpeed file "
                     "(DeepSpeed's AutoTP, which Axolotl turns on, takes ZeRO stage 2 at most)"),
    "zero3-name": Code("crossfile", _W, "a ZeRO-3 file whose name lacks `zero3`, which Axolotl "
                       "reads to load the model for ZeRO-3"),
    # hardware and environment
    "bf16-unsupported": Code("gotcha", _E, "`bf16: true` on a GPU without bf16"),
    "cpu-precision": Code("gotcha", ("error", "warning"), "fp16 or `auto` precision for a run "
                          "on the CPU"),
    "fsdp-on-cpu": Code("gotcha", _E, "FSDP on CPU processes: Axolotl and accelerate run FSDP "
                        "on GPUs only"),
    "qlora-fsdp-fp16": Code("gotcha", _E, "QLoRA with FSDP in fp16: the 4-bit weights are stored "
                            "as bf16, which fp16 mixed precision casts"),
    "fsdp1-lora-kernels": Code("gotcha", _E, "Axolotl's LoRA kernels with FSDP1 on several GPUs"),
    "packing-sdpa-bf16": Code("gotcha", _W, "packing with torch SDPA in bf16 before Hopper: "
                              "Axolotl warns it may train on a 0.0 loss"),
    "flash-attn-arch": Code("gotcha", _E, "flash-attention 2 on a GPU before Ampere (sm_80)"),
    "full-fp16-packing": Code("gotcha", _W, "a full fine-tune in fp16 with packing and without "
                              "flash-attn: Axolotl warns it is likely to fail"),
    "kto-micro-batch": Code("gotcha", _E, "KTO with one sequence a GPU: TRL's KL estimate needs "
                            "two"),
    "packing-attention": Code("gotcha", _W, "`sample_packing` with an attention backend that "
                              "lets packed samples attend to each other"),
    "eval-batch-size": Code("gotcha", _W, "`eval_batch_size` other than `micro_batch_size`: "
                            "memory jumps at every evaluation"),
    "dataset-missing": Code("gotcha", _W, "a local dataset path that does not exist"),
    "full-learning-rate": Code("gotcha", _W, "a full fine-tune at a LoRA-sized learning rate "
                               "(1e-4 or more)"),
    "no-chat-template": Code("gotcha", _E, "chat data for a local tokenizer that has no chat "
                             "template, and none named"),
    # Axolotl's own validation
    "axolotl-invalid": Code("validation", _E, "Axolotl's `validate_config` refuses the config"),
    "axolotl-error": Code("validation", _E, "Axolotl's validation failed to run on the config"),
    "axolotl-warning": Code("validation", _W, "Axolotl accepts the config but warns about it on "
                            "this machine"),
}  # fmt: skip
