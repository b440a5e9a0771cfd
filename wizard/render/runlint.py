"""The answers path checks what it is about to write with the same rules as `check`: Axolotl's
rules are written once, as lint rules on the config, and a finding is mapped back through the
key table to the answers that write its key, so the interview asks again the right question.

A raw Axolotl key (preset `axolotl:` block, `--set axolotl.*`) that Axolotl does not know would
be dropped silently by Axolotl, so here it is an error, not a warning: nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from wizard.axolotl import keys as K
from wizard.errors import WizardError
from wizard.lint import Env, Finding, lint_dict
from wizard.lint.codes import CODES
from wizard.lint.gpu_rules import BAD_MIX_CODES
from wizard.render.key_table import answers_of_key
from wizard.render.runfolder import CONFIG_FILENAME, RunFolder
from wizard.runspec import RunSpec

# Findings about an imported config's DeepSpeed JSON, which Axolotl's validation never reads: the
# import carries the file as it is (raw, or named by distributed.deepspeed_config; or names a
# missing one as written), so they do not stop it.
CARRIED_AREAS = ("deepspeed", "crossfile")


def training_env(spec: RunSpec, run_dir: Path) -> Env:
    """What the answers say about the training machine (packages stay unknown): the GPU the
    answers name, with its capabilities. Relative paths are read from the run folder, because
    `launch` runs Axolotl from there."""
    hardware = spec.hardware
    if hardware.accelerator == "cpu":
        return Env.for_cpu(n_node=hardware.nodes, cwd=run_dir)
    # GRPO's vLLM server keeps GPUs of the main node to itself; its trainers see the rest.
    # An import's GPU count is the launch's to give: rules about it wait until then.
    given = hardware.gpus_per_node - getattr(spec.objective, "generation_gpus", 0)
    trainers = max(1, given) if spec.gpus_named else None
    facts = hardware.facts
    if facts is not None:
        return Env.for_gpu(facts.arch, n_gpu=trainers, n_node=hardware.nodes, cwd=run_dir)
    return Env(bf16=hardware.bf16, tf32=hardware.bf16, n_gpu=trainers, n_node=hardware.nodes,
               cwd=run_dir)  # fmt: skip


def lint_run_folder(folder: RunFolder, run_dir: Path) -> list[Finding]:
    """Every finding of `check` about the files a run folder would hold."""
    return lint_dict(
        folder.config,
        env=training_env(folder.doc.spec, run_dir),
        source=run_dir / CONFIG_FILENAME,
        deepspeed=folder.deepspeed,
    )


def refusal(folder: RunFolder, findings: list[Finding]) -> WizardError | None:
    """The first finding that stops a run from being written: an error, a mix Axolotl warns
    about (the wizard never writes one: `lint.gpu_rules.BAD_MIX_CODES`), or a value Axolotl
    would drop (a raw key it does not know, a plugin's key without the plugin); it names the
    answers that write the key it is about."""
    raw_keys, spec = set(folder.doc.raw_axolotl), folder.doc.spec
    given = K.DEEPSPEED in raw_keys or spec.distributed.deepspeed_config is not None
    carried = spec.policy.imported and given
    for finding in findings:
        if carried and about_deepspeed(finding):
            continue  # an imported DeepSpeed file is carried as it is: the import warns
        top = finding.key[0] if finding.key else None
        dropped_raw_key = finding.code == "unknown-key" and top in raw_keys
        code = CODES.get(finding.code)
        dropped = code is not None and code.drops_value and finding.severity != "hint"
        if finding.severity == "error" or dropped or finding.code in BAD_MIX_CODES:
            answers = answers_of_key(top) if isinstance(top, str) and not dropped_raw_key else ()
            fix = finding.fix or "fix the answer it names"
            if answers:
                # The fix speaks Axolotl's keys; the person answering needs the answers' names.
                fix = f"{fix} (`{top}` is written from {', '.join(answers)})"
            return WizardError(
                f"raw Axolotl key: {finding.message}" if dropped_raw_key else finding.message,
                fix,
                keys=answers,
            )
    return None


def about_deepspeed(finding: Finding) -> bool:
    """A finding about the DeepSpeed JSON (alone, or with the YAML)."""
    code = CODES.get(finding.code)
    return code is not None and code.area in CARRIED_AREAS
