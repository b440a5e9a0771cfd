"""Axolotl's own example configs, with Axolotl 0.19.0's verdict on each (see the data README)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import TESTS

from wizard.lint import Env, check_file
from wizard.lint.axolotl_check import validate_with_axolotl
from wizard.lint.env import probe_packages

ROOT = TESTS / "data" / "axolotl-examples"
ROWS: list[dict[str, Any]] = [json.loads(x) for x in (ROOT / "verdicts.jsonl").open()]
SCHEMA_CODES = {"type-error", "missing-key", "removed-key", "bad-key"}


def corpus_env() -> Env:
    # The verdicts' machine: sm_90, 8 GPUs, this venv's packages, run from the Axolotl repo root
    # (where deepspeed_configs/ lives).
    return Env.for_gpu("sm_90", n_gpu=8, packages=probe_packages(), cwd=ROOT.resolve())


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = [f"{'file':60} {'axolotl':8} {'check':8} first finding / message"]
    lines += [f"{p:60} {a:8} {c:8} {m[:120]}" for p, a, c, m in rows]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    env = corpus_env()
    return {row["path"]: check_file(ROOT / row["path"], env=env) for row in ROWS}


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
