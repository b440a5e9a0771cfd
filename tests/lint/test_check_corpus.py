"""Axolotl's own example configs, with Axolotl 0.19.0's verdict on each (see the data README)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TESTS

from wizard.axolotl import keys as K
from wizard.lint import Env, check_file
from wizard.lint.axolotl_check import validate_with_axolotl
from wizard.lint.env import probe_packages

ROOT = TESTS / "data" / "axolotl-examples"
ROWS: list[dict[str, Any]] = [json.loads(x) for x in (ROOT / "verdicts.jsonl").open()]
PARALLEL_SIZES = (K.DP_SHARD_SIZE, K.DP_REPLICATE_SIZE, K.CONTEXT_PARALLEL_SIZE,
                  K.TENSOR_PARALLEL_SIZE)  # fmt: skip
SCHEMA_CODES = {"type-error", "missing-key", "removed-key", "bad-key"}


def corpus_env(path: str | None = None) -> Env:
    # The verdicts' machine: sm_90, 8 GPUs, this venv's packages, run from the Axolotl repo root
    # (where deepspeed_configs/ lives); nodes of 8 for an example whose parallel sizes name more
    # GPUs (Axolotl's validator never counts them; its mesh, at start, does: `parallel-sizes`).
    nodes = max(1, world_named(ROOT / path) // 8) if path else 1
    return Env.for_gpu("sm_90", n_gpu=8, n_node=nodes, packages=probe_packages(),
                       cwd=ROOT.resolve())  # fmt: skip


def world_named(path: Path) -> int:
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sizes = [cfg.get(key) for key in PARALLEL_SIZES]
    return math.prod(size for size in sizes if isinstance(size, int) and size > 1)


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = [f"{'file':60} {'axolotl':8} {'check':8} first finding / message"]
    lines += [f"{p:60} {a:8} {c:8} {m[:120]}" for p, a, c, m in rows]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    return {row["path"]: check_file(ROOT / row["path"], env=corpus_env(row["path"]))
            for row in ROWS}  # fmt: skip


def test_corpus_is_complete() -> None:
    assert len(ROWS) == 252
    assert all((ROOT / r["path"]).is_file() for r in ROWS)


def test_agrees_with_axolotl_without_running_it(reports: dict[str, Any]) -> None:
    disagreements = []
    for row in ROWS:
        report = reports[row["path"]]
        theirs = "valid" if row["verdict"] == "valid" else "invalid"
        ours = "valid" if report.ok else "invalid"
        if ours != theirs:
            first = report.errors[0].message if report.errors else "; ".join(row["messages"][:1])
            disagreements.append((row["path"], row["verdict"], ours, first))
    print("\n" + _table(disagreements))
    agreement = 1 - len(disagreements) / len(ROWS)
    print(f"agreement without --axolotl: {agreement:.1%} ({len(disagreements)} disagreements)")
    assert agreement >= 0.95


def test_accepted_configs_have_no_schema_error(reports: dict[str, Any]) -> None:
    bad = [
        (row["path"], f.message)
        for row in ROWS
        if row["verdict"] == "valid"
        for f in reports[row["path"]].errors
        if f.code in SCHEMA_CODES
    ]
    assert bad == []


def test_keys_axolotl_ignores_are_flagged(reports: dict[str, Any]) -> None:
    missed = []
    for row in ROWS:
        if any(m.startswith("plugin import failed") for m in row["messages"]):
            continue  # Axolotl never learnt that plugin's keys; check reports the plugin instead
        flagged = {
            f.key[0]
            for f in reports[row["path"]].findings
            if f.code in ("unknown-key", "plugin-key-without-plugin") and len(f.key) == 1
        }
        missed += [(row["path"], k) for k in row["unknown_keys"] if k not in flagged]
    assert missed == []
    typo = reports["examples/falcon-h1/falcon-h1-1b-qlora-cp.yaml"]
    assert any(
        "context_parallel_size" in f.message
        for f in typo.findings
        if f.key == ("context_parapllel_size",)
    )


@pytest.mark.integration
def test_agrees_with_axolotl_when_it_runs_axolotl(reports: dict[str, Any]) -> None:
    """One child process validates all 252 files (import once, then milliseconds a file)."""
    env = corpus_env()
    paths = [ROOT / r["path"] for r in ROWS]
    axolotl = validate_with_axolotl(paths, env)
    disagreements = []
    for row, path in zip(ROWS, paths, strict=True):
        merged = reports[row["path"]].findings + axolotl[str(path)]
        ours = "valid" if not any(f.severity == "error" for f in merged) else "invalid"
        theirs = "valid" if row["verdict"] == "valid" else "invalid"
        if ours != theirs:
            disagreements.append((row["path"], row["verdict"], ours, str(axolotl[str(path)][:1])))
    print("\n" + _table(disagreements))
    assert disagreements == []
