"""The truth on a GPU: the real peak memory of training steps, next to the wizard's estimate.

    python bench/gpu_truth.py            # every row on the GPU -> bench/results/gpu_truth.json
    python bench/gpu_truth.py --cpu      # the same code path on tiny models, on the CPU
    python bench/gpu_truth.py --only l8b-lora-s2048-b2-ckpt
    python bench/gpu_truth.py --to-calibration   # its measured rows -> the calibration file

Each row is a training run as Axolotl would set it up (transformers + peft, sdpa attention, bf16
autocast, peft's fp32 adapters, Axolotl's fp32 embeddings for full fine-tunes without flash
attention), with random weights built from a config.json (no downloads, no Axolotl needed).
Three optimizer steps run; `measured_gib` is torch.cuda.max_memory_allocated over them and
`measured_reserved_gib` max_memory_reserved. `estimated_gib` is the wizard's own estimate
(wizard.estimate.estimate, allocated bytes) for the same Axolotl config; `estimated_peak_gib`
adds the CUDA context and the allocator, as the `estimate` command shows.

On the CPU (`--cpu`, or no CUDA device) the rows use tiny shapes and nothing is measured:
`measured_gib` is null and `device` is "cpu". That path is what the tests run.
Needs torch, transformers and peft; bitsandbytes only for the 8-bit optimizer rows (skipped,
with the reason, when it cannot be imported). Rows stop when --budget seconds are spent.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.estimate import GIB, estimate  # noqa: E402
from wizard.models import arch_from_config  # noqa: E402
from wizard.models.resolve import load_catalog  # noqa: E402
from wizard.runs import calibration  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gpu_truth.json"
STEPS = 3
SHAPES = {
    "l1b": "meta-llama/Llama-3.2-1B",
    "l3b": "meta-llama/Llama-3.2-3B",
    "q3b": "Qwen/Qwen2.5-3B",
    "q7b": "Qwen/Qwen2.5-7B",
    "l8b": "meta-llama/Llama-3.1-8B",
}
# The CPU path: the same families, small enough to train in a second.
TINY = {
    "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 512,
    "max_position_embeddings": 8192, "tie_word_embeddings": False,
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One measured run: model shape, method and batch layout."""

    shape: str
    method: str  # lora | full
    seq: int
    micro_batch: int
    ckpt: bool
    optimizer: str = "adamw_torch_fused"
    lora_r: int = 16

    @property
    def name(self) -> str:
        opt = "-8bit" if "8bit" in self.optimizer else ""
        ckpt = "-ckpt" if self.ckpt else ""
        return f"{self.shape}-{self.method}-s{self.seq}-b{self.micro_batch}{ckpt}{opt}"


MATRIX = [
    Row("l1b", "full", 2048, 2, False),
    Row("l1b", "full", 4096, 1, True),
    Row("l1b", "lora", 8192, 1, True),
    Row("l1b", "full", 2048, 2, True, "adamw_bnb_8bit"),
    Row("l3b", "lora", 1024, 4, False),
    Row("l3b", "full", 2048, 1, True),
    Row("l3b", "full", 1024, 2, True, "adamw_bnb_8bit"),
    Row("q3b", "lora", 4096, 2, True),
    Row("l8b", "lora", 2048, 2, True),
    Row("l8b", "lora", 4096, 1, False),
    Row("l8b", "lora", 8192, 1, True),
    Row("q7b", "lora", 2048, 4, True),
    Row("l8b", "full", 1024, 1, True, "adamw_bnb_8bit"),
    Row("l8b", "full", 2048, 1, True),
]


def model_config(row: Row, tiny: bool) -> dict[str, Any]:
    """The config.json the model is built from (the catalog's published numbers)."""
    if tiny:
        return dict(TINY)
    entry = load_catalog()[SHAPES[row.shape]]
    return {k: v for k, v in entry.items() if k != "aliases"}


def axolotl_config(row: Row, tiny: bool) -> dict[str, Any]:
    """The flat Axolotl config that describes the run the harness performs."""
    cfg: dict[str, Any] = {
        "base_model": "local" if tiny else SHAPES[row.shape],
        "sequence_len": row.seq,
        "micro_batch_size": row.micro_batch,
        "sample_packing": True,  # every row full: the harness feeds seq tokens per sample
        "gradient_checkpointing": row.ckpt,
        "sdp_attention": True,
        "bf16": True,
        "optimizer": row.optimizer,
    }
    if row.method == "lora":
        cfg.update(adapter="lora", lora_r=row.lora_r, lora_alpha=2 * row.lora_r,
                   lora_dropout=0.0, lora_target_linear=True)  # fmt: skip
    return cfg


def estimated(row: Row, tiny: bool) -> tuple[float, float, bool]:
    """(allocated GiB, peak GiB as `estimate` prints it, upcast fp32) from the wizard."""
    arch = arch_from_config(model_config(row, tiny), row.name)
    result = estimate(axolotl_config(row, tiny), arch, advise=False)
    return result.allocated_gib, result.peak_gib_per_gpu, result.workload.upcast_fp32


def calibration_records(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's measured rows as calibration records (wizard.runs.calibration's format, the
    one `launch` writes): the estimate's inputs and figures, the measured peak, the GPU."""
    device = str(table.get("device", ""))
    gpu = device.removeprefix("cuda: ").removeprefix("NVIDIA ") if "cuda" in device else None
    records = []
    for raw in table.get("rows", []):
        if raw.get("measured_gib") is None or "config" not in raw:
            continue
        row = Row(**raw["config"])
        arch = arch_from_config(model_config(row, False), row.name)
        result = estimate(axolotl_config(row, False), arch, advise=False)
        inputs = calibration.inputs_of(result, arch, SHAPES[row.shape])
        measured = (raw["measured_gib"], raw.get("measured_reserved_gib"))
        estimated = (result.allocated_gib, result.peak_gib_per_gpu)
        records.append(calibration.entry(inputs, estimated, measured, gpu, "gpu_truth"))
    return records


def _upcast_embeddings(model: Any, torch: Any) -> None:
    """Axolotl's _convert_embedding_modules_dtype: embeddings, lm_head and norms in fp32."""
    for name, module in model.named_modules():
        if "norm" in name or name.endswith(("embed_tokens", "lm_head")):
            module.to(torch.float32)


def build_model(row: Row, tiny: bool, device: str, upcast: bool) -> Any:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    config = model_config(row, tiny)
    options = {k: v for k, v in config.items() if k != "model_type"}
    hf_config = transformers.AutoConfig.for_model(config["model_type"], **options)
    hf_config.use_cache = False
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(
            hf_config, attn_implementation="sdpa", dtype=torch.bfloat16
        )
    if upcast:
        _upcast_embeddings(model, torch)
    if row.ckpt:
        model.gradient_checkpointing_enable()
    if row.method == "lora":
        model = _with_lora(model, row)
    model.train()
    return model


def _with_lora(model: Any, row: Row) -> Any:
    """peft as Axolotl configures it: every linear but lm_head, fp32 adapters (peft's default)."""
    from peft import LoraConfig, get_peft_model

    if row.ckpt:
        model.enable_input_require_grads()
    lora = LoraConfig(r=row.lora_r, lora_alpha=2 * row.lora_r, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, lora)


def make_optimizer(row: Row, model: Any, device: str) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if "8bit" in row.optimizer:
        import bitsandbytes as bnb

        return bnb.optim.AdamW8bit(params, lr=1e-5)
    return torch.optim.AdamW(params, lr=1e-5, fused=True)


def train(model: Any, optimizer: Any, row: Row, device: str, vocab: int) -> float:
    """STEPS optimizer steps on random tokens; the last loss (finite, or the row is wrong)."""
    import torch

    loss_value = float("nan")
    for _ in range(STEPS):
        ids = torch.randint(0, vocab, (row.micro_batch, row.seq), device=device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.detach())
        del loss, ids
    return loss_value


def measure(row: Row, tiny: bool, device: str) -> dict[str, Any]:
    """Run one row; its record for the JSON."""
    import torch

    est, est_peak, upcast = estimated(row, tiny)
    record: dict[str, Any] = {
        "name": row.name, "config": asdict(row), "axolotl": axolotl_config(row, tiny),
        "estimated_gib": round(est, 3), "estimated_peak_gib": round(est_peak, 3),
        "measured_gib": None, "measured_reserved_gib": None,
    }  # fmt: skip
    try:
        model = build_model(row, tiny, device, upcast)
        optimizer = make_optimizer(row, model, device)
    except ImportError as err:
        return {**record, "status": f"skipped: {err}"}
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    loss = train(model, optimizer, row, device, int(model_config(row, tiny)["vocab_size"]))
    if device == "cuda":
        record["measured_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 3)
        record["measured_reserved_gib"] = round(torch.cuda.max_memory_reserved() / GIB, 3)
        record["error"] = round(est / record["measured_gib"] - 1, 4)
    del model, optimizer
    if device == "cuda":
        torch.cuda.empty_cache()
    status = "measured" if device == "cuda" else "ran on the cpu (not a GPU measurement)"
    return {**record, "loss": round(loss, 4), "status": status}


def _device_info(device: str) -> dict[str, Any]:
    import torch
    import transformers

    info = {"device": device, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}  # fmt: skip
    if device == "cuda":
        info["device"] = f"cuda: {torch.cuda.get_device_name(0)}"
        info["gpu_total_gib"] = round(torch.cuda.get_device_properties(0).total_memory / GIB, 2)
    return info


def run(rows: list[Row], cpu: bool, budget_s: float) -> dict[str, Any]:
    import torch

    device = "cuda" if torch.cuda.is_available() and not cpu else "cpu"
    tiny = device == "cpu"
    start, records = time.monotonic(), []
    for row in rows:
        if time.monotonic() - start > budget_s:
            records.append({"name": row.name, "config": asdict(row), "status": "skipped: budget"})
            continue
        if tiny:
            row = Row(row.shape, row.method, min(row.seq, 256), row.micro_batch, row.ckpt,
                      row.optimizer, 4)  # fmt: skip
        records.append(measure(row, tiny, device))
        print(json.dumps({k: records[-1].get(k) for k in ("name", "measured_gib",
              "estimated_gib", "status")}), flush=True)  # fmt: skip
    return {**_device_info(device), "steps_per_row": STEPS, "rows": records}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="tiny models on the CPU (no GPU)")
    parser.add_argument("--only", nargs="*", default=None, help="row names to run")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all rows")
    parser.add_argument("--to-calibration", action="store_true",
                        help="append the measured rows of --out's table to the local "
                        "calibration file (docs/estimate.md#calibration); run nothing")  # fmt: skip
    args = parser.parse_args(argv)
    if args.to_calibration:
        records = calibration_records(json.loads(args.out.read_text(encoding="utf-8")))
        for record in records:
            calibration.append(record)
        print(f"added {len(records)} measured row(s) to {calibration.calibration_path()}")
        return 0
    rows = [r for r in MATRIX if args.only is None or r.name in args.only]
    if not rows:
        names = ", ".join(r.name for r in MATRIX)
        print(f"error: no row named {args.only}\nhint: rows are {names}", file=sys.stderr)
        return 2
    result = run(rows, args.cpu, args.budget)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({result['device']}, {len(result['rows'])} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
