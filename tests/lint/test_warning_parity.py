"""The GPU's bad mixes (`lint/gpu_rules.py`) against Axolotl's own warnings: for each, a config
on a GPU where Axolotl logs the warning and the rule reports its code, and a neighbour where
neither does. The answers path refuses these codes, so a wrong rule would let a run through
that Axolotl warns about, or refuse one it takes without a word."""

from __future__ import annotations

from typing import Any

import pytest
from real_validators import INFORMATIONAL, run_validators

from wizard.lint import Env, lint_dict

BASE: dict[str, Any] = {
    "base_model": "m",
    "learning_rate": 2e-5,
    "datasets": [{"path": "a/b", "type": "alpaca"}],
    "micro_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "sample_packing": True,
    "attn_implementation": "sdpa",
    "bf16": True,
    "fp16": False,
}
FP16_FULL = {"bf16": False, "fp16": True}
# (code, words of Axolotl's warning, (config, arch) where it warns, (config, arch) where not)
CASES: list[tuple[str, str, tuple[dict[str, Any], str], tuple[dict[str, Any], str]]] = [
    ("packing-sdpa-bf16", "may results in 0.0 loss", ({}, "sm_80"), ({}, "sm_90")),
    (
        "packing-sdpa-bf16",
        "may results in 0.0 loss",
        ({}, "sm_89"),
        ({"sample_packing": False}, "sm_89"),
    ),
    (
        "full-fp16-packing",
        "likely to raise errors",
        (FP16_FULL, "sm_75"),
        (
            {
                **FP16_FULL,
                "adapter": "lora",
                "lora_r": 8,
                "lora_alpha": 16,
                "lora_target_linear": True,
            },
            "sm_75",
        ),
    ),
]


def _id(index: int, side: str) -> str:
    return f"{index}-{side}"


@pytest.fixture(scope="module")
def axolotl() -> dict[str, dict[str, Any]]:
    cases = []
    for index, (_, _, warns, quiet) in enumerate(CASES):
        for side, (overrides, arch) in (("warns", warns), ("quiet", quiet)):
            bf16 = arch >= "sm_80"
            cases.append(
                {
                    "id": _id(index, side),
                    "config": {**BASE, **overrides},
                    "arch": arch,
                    "bf16": bf16,
                }
            )
    return run_validators(cases)


def _codes(overrides: dict[str, Any], arch: str) -> set[str]:
    return {f.code for f in lint_dict({**BASE, **overrides}, env=Env.for_gpu(arch))}


def _warnings(verdict: dict[str, Any]) -> list[str]:
    return [w for w in verdict["warnings"] if not any(note in w for note in INFORMATIONAL)]


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_the_rule_warns_where_axolotl_warns(index: int, axolotl: dict[str, Any]) -> None:
    code, words, warns, quiet = CASES[index]
    loud, calm = axolotl[_id(index, "warns")], axolotl[_id(index, "quiet")]
    assert loud["axolotl"] == "ok" and calm["axolotl"] == "ok"
    assert any(words in w for w in _warnings(loud)), _warnings(loud)
    assert not any(words in w for w in _warnings(calm)), _warnings(calm)
    assert code in _codes(*warns)
    assert code not in _codes(*quiet)
