"""Seeded typos of 30 commonly used keys: each is caught and the right key suggested."""

from __future__ import annotations

import pytest

from wizard.lint import lint_dict

BASE = {"base_model": "m", "learning_rate": 2e-4, "datasets": [{"path": "a/b", "type": "alpaca"}]}
TYPOS = {
    "base_modle": "base_model",
    "micro_batch_sise": "micro_batch_size",
    "gradient_accumulation_step": "gradient_accumulation_steps",
    "learning_rat": "learning_rate",
    "num_epoch": "num_epochs",
    "lora_rr": "lora_r",
    "lora_alpah": "lora_alpha",
    "lora_droput": "lora_dropout",
    "lora_target_module": "lora_target_modules",
    "sequence_length": "sequence_len",
    "sample_packin": "sample_packing",
    "load_in_4bits": "load_in_4bit",
    "load_in8bit": "load_in_8bit",
    "gradient_checkpoint": "gradient_checkpointing",
    "optimiser": "optimizer",
    "lr_schedular": "lr_scheduler",
    "warmup_step": "warmup_steps",
    "outputdir": "output_dir",
    "val_set_sze": "val_set_size",
    "deepseed": "deepspeed",
    "wandb_projcet": "wandb_project",
    "dataset_prepared_pth": "dataset_prepared_path",
    "eval_batchsize": "eval_batch_size",
    "weight_decy": "weight_decay",
    "loging_steps": "logging_steps",
    "saves_per_epoc": "saves_per_epoch",
    "evals_per_epoc": "evals_per_epoch",
    "special_token": "special_tokens",
    "chat_templat": "chat_template",
    "tokenizer_typ": "tokenizer_type",
}


def test_thirty_distinct_keys() -> None:
    assert len(TYPOS) == 30 and len(set(TYPOS.values())) == 30


@pytest.mark.parametrize(("typo", "key"), sorted(TYPOS.items()))
def test_typo_is_caught_with_the_right_suggestion(typo: str, key: str) -> None:
    findings = [f for f in lint_dict({**BASE, typo: 1}) if f.key == (typo,)]
    assert [f.code for f in findings] == ["unknown-key"]
    assert f"did you mean `{key}`?" in findings[0].message
    assert findings[0].rename is not None and findings[0].rename.new_key == key


def test_unrelated_key_gets_no_suggestion() -> None:
    (finding,) = [f for f in lint_dict({**BASE, "zzqqxx": 1}) if f.key == ("zzqqxx",)]
    assert "did you mean" not in finding.message and finding.rename is None


def test_typo_inside_a_dataset_entry() -> None:
    cfg = {**BASE, "datasets": [{"path": "a/b", "type": "alpaca", "feild": "text"}]}
    (finding,) = [f for f in lint_dict(cfg) if f.key == ("datasets", 0, "feild")]
    assert "did you mean `field`?" in finding.message
