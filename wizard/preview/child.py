"""Tokenize the sampled records with Axolotl's own code; the child side of `preview`.

Run as `python -m wizard.preview.child` in the config's folder, with a JSON request on stdin:
`{"config": PATH, "end_of_turn": [token text, ...], "max_pieces": N}`. It follows
`axolotl preprocess`: the config as `axolotl.cli.config.load_cfg` prepares it (plugins,
`validate_config`, `normalize_config`, `normalize_cfg_datasets`), Axolotl's `load_tokenizer`,
and for each dataset the two calls its `_load_and_process_single_dataset` makes,
`load_dataset_with_config` and `get_dataset_wrapper` (the prompt strategy and its tokenization).
What comes after in `preprocess` (merging, dropping or cutting long records, packing) is about
the whole set; the preview reports it per record instead. Prints one JSON object on stdout:
`{"tokenizer": {...}, "datasets": [{"index", "records": [...]}]}`, or `{"error", "message"}`.
This module is only ever imported in that child process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import Any

os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# Tokenizing needs no GPU: the capabilities of one that refuses no precision the run names.
CAPABILITIES = {"bf16": True, "fp8": False, "tf32": True, "n_gpu": 1, "compute_capability": "sm_90"}


def prepared_config(path: str) -> Any:
    """The config as `load_cfg` hands it to `preprocess` (with the capabilities above)."""
    import torch
    import yaml
    from axolotl.utils.config import (  # type: ignore[import-untyped]
        normalize_cfg_datasets,
        normalize_config,
        prepare_plugins,
        validate_config,
    )
    from axolotl.utils.dict import DictDefault  # type: ignore[import-untyped]

    with open(path, encoding="utf-8") as handle:
        cfg = DictDefault(yaml.safe_load(handle))
    cfg.axolotl_config_path = path
    prepare_plugins(cfg)
    env = {"torch_version": str(torch.__version__).split("+", maxsplit=1)[0]}
    cfg = validate_config(cfg, capabilities=CAPABILITIES, env_capabilities=env)
    normalize_config(cfg)
    normalize_cfg_datasets(cfg)
    return cfg


def tokenizer_facts(cfg: Any, tokenizer: Any, end_of_turn: list[str]) -> dict[str, Any]:
    """What the checks need to know of the tokenizer: its BOS, EOS, special and end-of-turn ids,
    and the model's own chat template next to the one the run uses."""
    from transformers import AutoTokenizer

    own = AutoTokenizer.from_pretrained(
        cfg.tokenizer_config, trust_remote_code=bool(cfg.trust_remote_code)
    )
    vocab = tokenizer.get_vocab()
    ends = {text: vocab[text] for text in end_of_turn if text in vocab}
    for text in cfg.eot_tokens or []:
        if text in vocab:
            ends[text] = vocab[text]
    return {
        "bos_id": tokenizer.bos_token_id,
        "eos_id": tokenizer.eos_token_id,
        "special_ids": sorted(set(tokenizer.all_special_ids)),
        "end_of_turn": ends,
        "own_template": _template_text(own.chat_template),
        "used_template": _template_text(tokenizer.chat_template),
    }


def _template_text(template: Any) -> str | None:
    if isinstance(template, dict):  # named templates: the default one is what chat uses
        template = template.get("default")
    return template if isinstance(template, str) else None


def tokenize_datasets(cfg: Any, tokenizer: Any, max_pieces: int) -> list[dict[str, Any]]:
    from axolotl.utils.data.shared import (  # type: ignore[import-untyped]
        datasets_with_name_generator,
        load_dataset_with_config,
    )
    from axolotl.utils.data.wrappers import get_dataset_wrapper  # type: ignore[import-untyped]

    out = []
    for dataset_config in datasets_with_name_generator(cfg.datasets):
        raw = load_dataset_with_config(dataset_config, cfg.hf_use_auth_token)
        base, _, style = str(dataset_config.type).partition(":")
        wrapped, _ = get_dataset_wrapper(
            dataset_config=dataset_config,
            tokenizer=tokenizer,
            cfg=cfg,
            dataset_base_type=base,
            dataset=raw,
            dataset_prompt_style=style or None,
        )
        locate = turn_locator(cfg, tokenizer, dataset_config)
        rows = []
        for record, row in zip(raw, wrapped, strict=False):
            ids = list(row["input_ids"])
            rows.append(
                {
                    "input_ids": ids,
                    "labels": list(row["labels"]),
                    "pieces": [piece(tokenizer, i) for i in ids[:max_pieces]],
                    "turns": locate(record),
                }
            )
        out.append({"records": rows})
    return out


def piece(tokenizer: Any, token: int) -> str:
    """The text of one token, as it is (no clean-up of the spaces before punctuation)."""
    return str(tokenizer.decode([token], clean_up_tokenization_spaces=False))


def turn_locator(cfg: Any, tokenizer: Any, dataset_config: Any) -> Any:
    """For a chat dataset, a function from a raw record to its turns as [role, start, end]
    token spans: the prompt strategy's own conversation, rendered one turn longer each time by
    its own prompter (a template renders a conversation's start the same whatever follows).
    Other formats have no turns: []."""
    from axolotl.prompt_strategies import load  # type: ignore[import-untyped]

    try:
        strategy = load(dataset_config.type, tokenizer, cfg, dataset_config)
    except Exception:  # a custom format (a mapping) or one only get_dataset_wrapper knows
        strategy = None
    thread = getattr(strategy, "get_conversation_thread", None)
    if thread is None:
        return lambda record: []

    def locate(record: dict[str, Any]) -> list[list[Any]]:
        try:
            turns = thread(record)
            spans, start = [], 0
            for count in range(1, len(turns) + 1):
                built = strategy.prompter.build_prompt(turns[:count])
                end = len(built["input_ids"] if isinstance(built, dict) else built)
                spans.append([str(turns[count - 1].get("role")), start, end])
                start = end
            return spans
        except Exception:  # a template that renders a part of a conversation differently
            return []

    return locate


def run(request: dict[str, Any]) -> dict[str, Any]:
    from axolotl.loaders import load_tokenizer  # type: ignore[import-untyped]
    from axolotl.utils.trainer import disable_datasets_caching  # type: ignore[import-untyped]

    try:
        cfg = prepared_config(request["config"])
        tokenizer = load_tokenizer(cfg)
        facts = tokenizer_facts(cfg, tokenizer, request["end_of_turn"])
    except OSError as err:  # transformers' words for a model or tokenizer that is not here
        return {"error": "tokenizer", "message": str(err).splitlines()[0]}
    except Exception as err:
        return {"error": "config", "message": f"{type(err).__name__}: {err}".splitlines()[0]}
    with disable_datasets_caching():
        try:
            datasets = tokenize_datasets(cfg, tokenizer, request["max_pieces"])
        except Exception as err:
            return {"error": "dataset", "message": f"{type(err).__name__}: {err}".splitlines()[0]}
    return {"tokenizer": facts, "datasets": datasets}


def main() -> int:
    request = json.load(sys.stdin)
    out = sys.stdout
    # Axolotl and the libraries print banners and progress bars; keep our stdout one JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        result = run(request)
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
