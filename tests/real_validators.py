"""Run the real Axolotl and DeepSpeed validators on configs, in one child process.

Importing Axolotl's validation costs seconds, so the tests send every config at once as JSON on
stdin and read one verdict per config back as JSON on stdout. Run as
`python tests/real_validators.py < cases.json`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")


# Axolotl warnings that describe what it does rather than a mix that misbehaves: it switches on
# its fused LoRA kernels for adapters on CUDA when nobody set them.
INFORMATIONAL = ("Auto-enabling LoRA kernel optimizations",)


def fill_deepspeed_autos(ds: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the "auto" values the way the HF Trainer would, for a single process: DeepSpeed's own
    check cannot read "auto" and assumes a world size of one."""
    filled = json.loads(json.dumps(ds))
    micro = int(cfg["micro_batch_size"])
    accumulation = int(cfg.get("gradient_accumulation_steps") or 1)
    top = {
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "train_batch_size": micro * accumulation,
        "gradient_clipping": 1.0,
    }
    for key, value in top.items():
        if filled.get(key) == "auto":
            filled[key] = value
    zero = filled.get("zero_optimization", {})
    for key in (
        "reduce_bucket_size",
        "stage3_prefetch_bucket_size",
        "stage3_param_persistence_threshold",
    ):
        if zero.get(key) == "auto":
            zero[key] = 4096 * 4096
    autos = [k for k, v in _walk(filled) if v == "auto"]
    if autos:
        raise AssertionError(f"unfilled auto values: {autos}")
    return filled


def _walk(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        out: list[tuple[str, Any]] = []
        for key, value in node.items():
            out += _walk(value, f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), node)]


class _Warnings(logging.Handler):
    """What Axolotl logs at WARNING or above. Its `axolotl` logger does not propagate to the
    root, so the handler listens to both."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _validate_axolotl(cfg: dict[str, Any], gpus: int, bf16: bool, arch: str | None) -> list[str]:
    """Axolotl's verdict with the capabilities of the GPU (`arch`, else an H100, or a T4 without
    bf16), and the warnings it logs."""
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault
    from axolotl.utils.logging import MultiProcessAdapter

    arch = arch or ("sm_90" if bf16 else "sm_75")
    major = int(arch.removeprefix("sm_")[:-1])
    capabilities = {
        "bf16": bf16,
        "fp8": major >= 9,
        "tf32": bf16,
        "n_gpu": gpus,
        "n_node": 1,
        "compute_capability": arch,
    }
    env = {"torch_version": "2.13.0"}
    MultiProcessAdapter.warning_once.cache_clear()  # a warning per config, not per process
    collector = _Warnings()
    loggers = [logging.getLogger(), logging.getLogger("axolotl")]
    for logger in loggers:
        logger.addHandler(collector)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validate_config(DictDefault(json.loads(json.dumps(cfg))), capabilities, env)
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    return list(dict.fromkeys(collector.messages))


def _axolotl_batch(cfg: dict[str, Any], gpus: int) -> int:
    """Axolotl's `batch_size` (sequences per optimizer step) on `gpus` processes: its own
    `normalize_config`, after validation, with the WORLD_SIZE a launch of that many sets. The
    config's model must be a local folder (normalize_config reads its config.json)."""
    from axolotl.utils.config import normalize_config, validate_config
    from axolotl.utils.dict import DictDefault

    capabilities = {"bf16": True, "fp8": True, "tf32": True, "n_gpu": gpus, "n_node": 1,
                    "compute_capability": "sm_90"}  # fmt: skip
    before = os.environ.get("WORLD_SIZE")
    os.environ["WORLD_SIZE"] = str(gpus)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validated = validate_config(DictDefault(cfg), capabilities, {"torch_version": "2.13.0"})
            normalize_config(validated)
    finally:
        if before is None:
            del os.environ["WORLD_SIZE"]
        else:
            os.environ["WORLD_SIZE"] = before
    return int(validated.batch_size)


def _validate_deepspeed(ds: dict[str, Any], cfg: dict[str, Any]) -> None:
    from deepspeed.runtime.config import DeepSpeedConfig

    DeepSpeedConfig(fill_deepspeed_autos(ds, cfg))


@contextlib.contextmanager
def _importable(names: list[str]) -> Iterator[None]:
    """Modules a validator only imports to see they are installed (ring_flash_attn, which needs
    CUDA's flash-attn to install): an empty module each, for this case only."""
    stood_in = [name for name in names if name not in sys.modules]
    for name in stood_in:
        sys.modules[name] = types.ModuleType(name)
    try:
        yield
    finally:
        for name in stood_in:
            del sys.modules[name]


def check_case(case: dict[str, Any]) -> dict[str, Any]:
    verdict: dict[str, Any] = {"id": case["id"], "axolotl": "ok", "deepspeed": None}
    try:
        with _importable(case.get("stand_in", [])):
            verdict["warnings"] = _validate_axolotl(
                case["config"], case.get("gpus", 1), case.get("bf16", True), case.get("arch")
            )
    except Exception as err:
        verdict["axolotl"] = f"{type(err).__name__}: {err}"
    if case.get("batch") and verdict["axolotl"] == "ok":
        with _importable(case.get("stand_in", [])):
            verdict["batch_size"] = _axolotl_batch(case["config"], case.get("gpus", 1))
    if case.get("deepspeed") is not None:
        try:
            _validate_deepspeed(case["deepspeed"], case["config"])
            verdict["deepspeed"] = "ok"
        except Exception as err:
            verdict["deepspeed"] = f"{type(err).__name__}: {err}"
    return verdict


def run_validators(cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """From a test: validate every case in one child process; verdicts keyed by case id."""
    done = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"validator process failed:\n{done.stderr[-4000:]}")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    verdicts = [json.loads(ln) for ln in lines]
    return {v["id"]: v for v in verdicts}


def _load_axolotl() -> None:
    """Import validation first: importing Axolotl logs warnings about this machine (kernels it
    cannot load here) that belong to no config."""
    with contextlib.redirect_stdout(io.StringIO()):
        import axolotl.utils.config  # noqa: F401


def main() -> None:
    cases = json.load(sys.stdin)
    _load_axolotl()
    results = [check_case(case) for case in cases]
    for result in results:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
