"""Which tokens Axolotl trains on, for chat datasets: the child side of the masking test.

Run as `python tests/lint/chat_masking.py < request.json` with
`{"tokenizer": DIR, "configs": [PATH, ...], "prepared": [DIR, ...]}`. For each config, its first
dataset goes through validate_config and Axolotl's own chat_template strategy on the tokenizer;
for each prepared folder (a dataset Axolotl tokenized for training), its rows are read back. One
`{"source", "rows": [[input_ids, labels], ...]}` line each.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")

CAPABILITIES = {
    "bf16": False,
    "fp8": False,
    "tf32": False,
    "n_gpu": 1,
    "n_node": 1,
    "compute_capability": None,
}


def tokenized(config: Path, tokenizer: Any) -> list[list[list[int]]]:
    import yaml
    from axolotl.prompt_strategies import load
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    raw = yaml.safe_load(config.read_text())
    cfg = validate_config(DictDefault(raw), CAPABILITIES, {"torch_version": "2.13.0"})
    ds_cfg = cfg.datasets[0]
    strategy = load(ds_cfg["type"], tokenizer, cfg, ds_cfg)
    data = config.parent / ds_cfg["path"]
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    out = []
    for row in rows:
        item = strategy.tokenize_prompt(row)
        out.append([list(item["input_ids"]), list(item["labels"])])
    return out


def prepared(folder: Path) -> list[list[list[int]]]:
    from datasets import load_from_disk

    found = sorted(p.parent for p in folder.rglob("dataset_info.json"))
    assert found, f"no prepared dataset under {folder}"
    dataset = load_from_disk(str(found[0]))
    return [[list(r["input_ids"]), list(r["labels"])] for r in dataset]


def main() -> None:
    from transformers import AutoTokenizer

    request = json.load(sys.stdin)
    tokenizer = AutoTokenizer.from_pretrained(request["tokenizer"])
    for path in request.get("configs", []):
        with contextlib.redirect_stdout(io.StringIO()):
            rows = tokenized(Path(path), tokenizer)
        print(json.dumps({"source": path, "rows": rows}), flush=True)
    for path in request.get("prepared", []):
        with contextlib.redirect_stdout(io.StringIO()):
            rows = prepared(Path(path))
        print(json.dumps({"source": path, "rows": rows}), flush=True)


if __name__ == "__main__":
    main()
