"""`presets save` (answers file -> preset) and `presets check` (render + lint every preset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wizard import __version__
from wizard.answers.layers import Layer
from wizard.errors import WizardError
from wizard.presets.store import (
    NAME_PATTERN,
    PRESET_SUFFIXES,
    Preset,
    PresetFile,
    Resolver,
    chain_hash,
    preset_files,
    preset_folders,
)

# Lint findings about files on disk say nothing about a preset: its run folder does not exist yet.
IGNORED_FINDINGS = frozenset({"dataset-missing"})


def source_of(folder: Path) -> str | None:
    """The source label of a configured preset folder, or None when it is not one."""
    target = folder.resolve()
    label = None
    for source, configured in preset_folders():
        if configured.resolve() == target:
            label = source  # Keep going: the highest source that names the folder wins.
    return label


def save_preset(name: str, run: Path, to_dir: Path, description: str | None, force: bool) -> Path:
    """Write the answers of run folder `run` (or its answers file, or an Axolotl config, which
    is imported) as the preset `to_dir/NAME.yml`."""
    from wizard.answers.file import ANSWERS_FILENAME, FITTED_KEYS, answers_of
    from wizard.answers.layers import Answers
    from wizard.files import refuse_overwrite, write_all
    from wizard.yamlio import dump_yaml

    if not NAME_PATTERN.match(name):
        raise WizardError(
            f"{name!r} is not a preset name",
            "use lowercase letters, digits, '.', '_' and '-'; choose the folder with --to DIR",
        )
    source = run / ANSWERS_FILENAME if run.is_dir() else run
    layer, made_from = _source_layer(source)
    answers = Answers([layer])
    # Every answer, defaults included: the preset must not change when a later wizard's defaults
    # do (an imported config's answers are only those it gave: the rest is Axolotl's default).
    data: dict[str, object] = {
        "name": name,
        "description": description or f"saved from {source}",
        "version": "1",
        # Auto-fit's answers the run did not give stay auto-fit's, fitted again for each run.
        "answers": answers_of(
            answers.resolve(), frozenset(k for k in FITTED_KEYS if k not in layer.values)
        ),
    }
    raw = answers.raw_axolotl()
    if raw:
        data["axolotl"] = raw
    if answers.files():
        data["files"] = answers.files()
    PresetFile.model_validate(data)
    if to_dir.exists() and not to_dir.is_dir():
        raise WizardError(
            f"--to {to_dir} is a file, not a folder; nothing was written",
            "give the folder to save the preset in (it is created when missing)",
        )
    refuse_overwrite([to_dir / f"{name}{suffix}" for suffix in PRESET_SUFFIXES], force)
    header = (
        f"# Saved by axolotl-wizard {__version__} from {source}{made_from}.\n"
        "# Relative paths (model, datasets) are read from the folder you run `new` in.\n"
    )
    target = to_dir / f"{name}.yml"
    write_all({target: header + dump_yaml(data)}, force, folder=to_dir)
    return target


def _source_layer(source: Path) -> tuple[Layer, str]:
    """The answers of a wizard answers file, or of an Axolotl config imported; and where from."""
    from wizard.answers.file import load_answers_file
    from wizard.importer import import_config
    from wizard.yamlio import load_yaml_mapping

    if "format_version" in load_yaml_mapping(source, "answers file or Axolotl config"):
        loaded = load_answers_file(source)
        return loaded.layer, f", made from preset {loaded.preset.name}" if loaded.preset else ""
    return import_config(source, cwd=Path.cwd()).layer, ", imported from an Axolotl config"


@dataclass
class CheckResult:
    path: Path
    name: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_folder(folder: Path | None, strict: bool = False) -> list[CheckResult]:
    """Render every preset of `folder` (default: the built-in ones) and lint what comes out."""
    folders: list[tuple[str, Path]] = preset_folders()
    if folder is None:
        label, folder = folders[0]
    else:
        if not folder.is_dir():
            raise WizardError(f"{folder} is not a folder", "give the folder that holds the presets")
        label = source_of(folder) or "team"
        # Highest precedence, so the folder's own presets (and their parents there) are the ones
        # checked even when another source has the same names.
        folders.append((label, folder))
    files = preset_files([(label, folder)])
    if not files:
        raise WizardError(f"no presets (*.yml, *.yaml) in {folder}", "is this the right folder?")
    resolver = Resolver(folders)  # shared: each preset is read and resolved once for them all
    return [check_preset(path, label, folder, resolver, strict) for _s, _f, path in files]


def check_preset(
    path: Path, label: str, folder: Path, resolver: Resolver, strict: bool = False
) -> CheckResult:
    """Load, resolve, render and lint one preset file; `strict` makes warnings failures too."""
    result = CheckResult(path, f"{label}:{path.stem}")
    if sum(1 for s in PRESET_SUFFIXES if path.with_suffix(s).is_file()) > 1:
        result.problems.append(f"both {path.stem}.yml and {path.stem}.yaml exist; delete one")
        return result
    try:
        _render_and_lint(result, resolver.load_file(label, folder, path), resolver)
    except WizardError as err:
        result.problems.append(err.message)
    if strict:
        result.problems += result.warnings
        result.warnings = []
    return result


def _render_and_lint(result: CheckResult, preset: Preset, resolver: Resolver) -> None:
    from wizard.answers.file import PresetRef
    from wizard.build.plan import plan_run
    from wizard.presets.rules import chain_version_warnings
    from wizard.presets.views import resolve_chain

    chain = resolver.chain_of(preset)
    resolved = resolve_chain(chain)
    result.placeholders = sorted(resolved.placeholders.values)
    result.warnings += chain_version_warnings(chain)
    # The same path as `new --preset`: auto-fit, render, and the estimate of what is rendered.
    plan = plan_run(resolved.answers, PresetRef(preset.name, chain_hash(chain)), None, Path.cwd())
    for severity, text in _lint(plan.folder.config, plan.folder.deepspeed):
        (result.problems if severity == "error" else result.warnings).append(text)
    if plan.estimate is not None and plan.estimate.fits is False:
        estimate = plan.estimate
        result.problems.append(
            f"estimated peak {estimate.peak_gib_per_gpu:.1f} GiB per GPU does not fit the "
            f"preset's own {estimate.gpu_mem_gib:g} GiB GPU [does-not-fit]"
        )


def _lint(config: dict[str, object], deepspeed: dict[str, object] | None) -> list[tuple[str, str]]:
    """(severity, text) for each error and warning the linter finds in a rendered config."""
    from wizard.lint import lint_dict

    findings = lint_dict(dict(config), deepspeed=deepspeed)
    return [
        (f.severity, f"{f.message} [{f.code}]")
        for f in findings
        if f.code not in IGNORED_FINDINGS and f.severity != "hint"
    ]
