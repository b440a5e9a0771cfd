"""A tiny Llama, its tokenizer and an alpaca dataset (and the same tasks as preference data),
built locally (no downloads).

`demo` and the tests train on these: they need a real model that Axolotl loads like any other, yet
trains in seconds on two CPU cores. The weights are random; the dataset is short answers to two
repetitive tasks (one-digit sums, three words reversed), so the demo's loss visibly falls within a
minute. torch, transformers and tokenizers are imported inside the
functions only, so importing this module (and `axolotl-wizard --help`) stays cheap.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_DIRNAME = "tiny-llama"
DATA_DIRNAME = "tiny-data"
DATA_FILENAME = "alpaca.jsonl"
# The same tasks as preference data: chosen/rejected pairs (DPO, IPO, SimPO) and answers labelled
# good or bad one by one (KTO).
PREFERENCE_FILENAME = "preference.jsonl"
UNPAIRED_FILENAME = "unpaired.jsonl"
CONVERSATIONS_FILENAME = "conversations.jsonl"  # the pairs as whole conversations (ORPO)
# The chatml markup Axolotl's preference transforms write; the tokenizer learns it as it learns
# the alpaca prompt, so a formatted pair stays well inside the demo's 128 tokens.
CHATML_TURN = "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>"
SPECIAL_TOKENS = {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}
VOCAB_SIZE = 1024
# Axolotl's alpaca prompt. The tokenizer is trained on whole prompts so this boilerplate becomes a
# few tokens; trained on the records alone it would spell out byte by byte and overflow 128 tokens.
ALPACA_PROMPT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}"
)
# Small enough to train in seconds, shaped like a real Llama (grouped-query attention included).
ARCHITECTURE = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    # Random weights at Llama's usual 0.02 are too small for this width: the normed hidden state
    # (length 8 at width 64) against output rows of length 0.16 gives logits within about 1 of
    # each other, so no training that leaves the output layer alone (a LoRA) can bring the loss
    # much below ln(vocabulary) = 6.9. At 0.2 one token's logit can stand 10 above the rest.
    "initializer_range": 0.2,
}


@dataclass(frozen=True)
class TinyAssets:
    model_dir: Path
    dataset: Path


def alpaca_records(count: int = 300, seed: int = 0) -> list[dict[str, str]]:
    """Short instruction/response pairs: addition and word reversal, easy to learn."""
    rng = random.Random(seed)
    words = ["apple", "river", "stone", "cloud", "tiger", "lemon", "chair", "piano", "ocean"]
    records = []
    for index in range(count):
        if index % 2:
            a, b = rng.randint(0, 9), rng.randint(0, 9)
            records.append(
                {"instruction": "Add the two numbers.", "input": f"{a} + {b}", "output": str(a + b)}
            )
        else:
            picked = rng.sample(words, 3)
            records.append(
                {
                    "instruction": "Reverse the order of the words.",
                    "input": " ".join(picked),
                    "output": " ".join(reversed(picked)),
                }
            )
    return records


def _wrong(record: dict[str, str]) -> str:
    """A plausible wrong answer: off by one, or the words left in order."""
    if record["output"].isdigit():
        return str(int(record["output"]) + 1)
    return record["input"]


def preference_records(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {"prompt": f"{r['instruction']}\n{r['input']}", "chosen": r["output"],
         "rejected": _wrong(r)}
        for r in rows
    ]  # fmt: skip


def unpaired_records(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for index, pair in enumerate(preference_records(rows)):
        good = index % 2 == 0
        answer = pair["chosen"] if good else pair["rejected"]
        records.append({"prompt": pair["prompt"], "completion": answer, "label": good})
    return records


def conversation_records(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Argilla style: chosen and rejected each hold the user turn and the answer."""

    def turn(prompt: str, answer: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]

    return [{"chosen": turn(p["prompt"], p["chosen"]), "rejected": turn(p["prompt"], p["rejected"])}
            for p in preference_records(rows)]  # fmt: skip


def write_dataset(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def build_tokenizer(texts: list[str], model_dir: Path) -> None:
    """A byte-level BPE trained on the dataset, saved the way `AutoTokenizer` loads it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bos = SPECIAL_TOKENS["bos"]
    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(  # type: ignore[no-untyped-call]
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    # Llama tokenizers start every sequence with BOS; Axolotl's prompt strategies expect that.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A",
        pair=f"{bos} $A {bos} $B",
        special_tokens=[(bos, tokenizer.token_to_id(bos))],
    )
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        **{f"{name}_token": token for name, token in SPECIAL_TOKENS.items()},
    )
    fast.save_pretrained(str(model_dir))


def build_model(model_dir: Path, seed: int = 0) -> None:
    """Random Llama weights, in fp32 (the only precision Axolotl trains in on a CPU)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(model_dir))
    settings: dict[str, Any] = {
        **ARCHITECTURE,
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "dtype": "float32",
    }
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**settings))  # type: ignore[no-untyped-call]
    model.save_pretrained(str(model_dir))


def build_tiny_assets(root: Path, records: int = 300) -> TinyAssets:
    """Write `root/tiny-llama/` (model + tokenizer) and `root/tiny-data/alpaca.jsonl`, where the
    `tiny-cpu` preset looks for them. An existing complete model folder is reused."""
    model_dir, dataset = root / MODEL_DIRNAME, root / DATA_DIRNAME / DATA_FILENAME
    rows = alpaca_records(records)
    if not dataset.exists():
        write_dataset(dataset, rows)
    for name, made in ((PREFERENCE_FILENAME, preference_records),
                       (UNPAIRED_FILENAME, unpaired_records),
                       (CONVERSATIONS_FILENAME, conversation_records)):  # fmt: skip
        if not (dataset.parent / name).exists():
            write_dataset(dataset.parent / name, made(rows))
    if not (model_dir / "model.safetensors").exists():
        model_dir.mkdir(parents=True, exist_ok=True)
        texts = [ALPACA_PROMPT.format(**r) for r in rows]
        texts += [CHATML_TURN.format(prompt=p["prompt"], answer=p["chosen"])
                  for p in preference_records(rows)]  # fmt: skip
        build_tokenizer(texts, model_dir)
        build_model(model_dir)
    return TinyAssets(model_dir, dataset)


def main(argv: list[str] | None = None) -> int:
    """`python -m wizard.tiny DIR`: build the assets in a child process (see `demo`)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    assets = build_tiny_assets(Path(args[0] if args else "."))
    print(json.dumps({"model_dir": str(assets.model_dir), "dataset": str(assets.dataset)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
