"""`new` checks what it is about to write with the same rules as `check`.

A raw Axolotl key (preset `axolotl:` block, `--set axolotl.*`) that Axolotl does not know would
be dropped silently by Axolotl, so here it is an error, not a warning: nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from wizard.errors import WizardError
from wizard.lint import Env, Finding, lint_dict
from wizard.render.runfolder import CONFIG_FILENAME, RunFolder
from wizard.runspec import RunSpec


def training_env(spec: RunSpec, run_dir: Path) -> Env:
    """What the answers say about the training machine (packages stay unknown). Relative paths
    are read from the run folder, because `launch` runs Axolotl from there."""
    hardware = spec.hardware
    if hardware.accelerator == "cpu":
        return Env.for_cpu(n_node=hardware.nodes, cwd=run_dir)
    return Env(
        bf16=hardware.bf16_supported,
        tf32=hardware.bf16_supported,
        # GRPO's vLLM server keeps GPUs of the main node to itself; its trainers see the rest.
        n_gpu=max(1, hardware.gpus_per_node - getattr(spec.objective, "generation_gpus", 0)),
        n_node=hardware.nodes,
        cwd=run_dir,
    )


def lint_run_folder(folder: RunFolder, run_dir: Path) -> list[Finding]:
    """Raise on anything Axolotl would reject or drop; return the warnings to show."""
    findings = lint_dict(
        folder.config,
        env=training_env(folder.doc.spec, run_dir),
        source=run_dir / CONFIG_FILENAME,
        deepspeed=folder.deepspeed,
    )
    raw_keys = set(folder.doc.raw_axolotl)
    for finding in findings:
        dropped_raw_key = (
            finding.code == "unknown-key" and bool(finding.key) and (finding.key[0] in raw_keys)
        )
        if finding.severity == "error" or dropped_raw_key:
            raise WizardError(
                f"raw Axolotl key: {finding.message}" if dropped_raw_key else finding.message,
                finding.fix or "fix the answer it names; nothing was written",
            )
    return [f for f in findings if f.severity == "warning"]
