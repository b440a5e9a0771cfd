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
    preset_chain,
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


@dataclass(frozen=True)
class SaveRequest:
    """`presets save NAME --from RUN --to DIR [--extends PARENT] [--lock KEY]…`."""

    name: str
    run: Path  # a run folder, its answers file, or an Axolotl config (imported)
    to_dir: Path
    description: str | None = None
    force: bool = False
    extends: str | None = None
    locked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Saved:
    path: Path
    machine_paths: list[str]  # answers left out: paths on the machine that made the run


def save_preset(request: SaveRequest) -> Saved:
    """Write the recipe of a run (wizard.presets.recipe) as the preset `to_dir/NAME.yml`."""
    from wizard.answers.file import ANSWERS_FILENAME
    from wizard.files import refuse_overwrite, write_all
    from wizard.presets.recipe import recipe_of
    from wizard.yamlio import dump_yaml

    name, run, to_dir = request.name, request.run, request.to_dir
    if not NAME_PATTERN.match(name):
        raise WizardError(
            f"{name!r} is not a preset name",
            "use lowercase letters, digits, '.', '_' and '-'; choose the folder with --to DIR",
        )
    source = run / ANSWERS_FILENAME if run.is_dir() else run
    layer, made_from = _source_layer(source)
    shown = Path(*source.parts[-2:]) if source.is_absolute() else source  # not where it lives
    parents = preset_chain(request.extends) if request.extends else []
    recipe = recipe_of(layer, _given_by(parents) if parents else None)
    data: dict[str, object] = {
        "name": name,
        "description": request.description or f"saved from {shown}",
        "version": "1",
        **({"extends": [request.extends]} if request.extends else {}),
        "answers": recipe.answers,
        **({"axolotl": recipe.axolotl} if recipe.axolotl else {}),
        **({"files": layer.files} if layer.files else {}),
        **({"locked": list(request.locked)} if request.locked else {}),
    }
    target = to_dir / f"{name}.yml"
    preset = Preset(source_of(to_dir) or "team", target, PresetFile.model_validate(data))
    _check_resolves(parents, preset)
    if to_dir.exists() and not to_dir.is_dir():
        raise WizardError(
            f"--to {to_dir} is a file, not a folder; nothing was written",
            "give the folder to save the preset in (it is created when missing)",
        )
    refuse_overwrite([to_dir / f"{name}{suffix}" for suffix in PRESET_SUFFIXES], request.force)
    header = f"# Saved by axolotl-wizard {__version__} from {shown}{made_from}.\n"
    if recipe.machine_paths:
        header += (f"# Left out, as paths on the machine that made the run: "
                   f"{', '.join(recipe.machine_paths)}.\n")  # fmt: skip
    write_all({target: header + dump_yaml(data)}, request.force, folder=to_dir)
    return Saved(target, recipe.machine_paths)


def _given_by(chain: list[Preset]) -> dict[str, object]:
    """The answers (flat, as the spec reads them) and raw keys a preset chain gives."""
    from wizard.presets.views import resolve_chain

    rows = resolve_chain(chain).rows
    return {row.key: row.value for row in rows if row.origin != "default" and not row.required}


def _check_resolves(parents: list[Preset], preset: Preset) -> None:
    """The new preset layers on its parents: it keeps their locked values, its own locks name
    answers it gives, and the chain resolves (with placeholders for what it leaves open)."""
    from wizard.presets.views import resolve_chain

    try:
        resolve_chain([*parents, preset])
    except WizardError as err:
        raise WizardError(f"{err.message}; nothing was written", err.hint) from None


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
    from wizard.presets.locks import chain_version_warnings
    from wizard.presets.views import resolve_chain
    from wizard.render.plan import plan_run

    chain = resolver.chain_of(preset)
    resolved = resolve_chain(chain)
    result.placeholders = sorted(resolved.placeholders.values)
    result.warnings += chain_version_warnings(chain)
    # The same path as `new --preset`: auto-fit, render, and the estimate of what is rendered.
    ref = PresetRef(preset.name, chain_hash(chain))
    plan = plan_run(resolved.answers, ref, None, Path.cwd(), strict=False)
    for finding in plan.findings:
        if finding.code in IGNORED_FINDINGS or finding.severity == "hint":
            continue
        text = f"{finding.message} [{finding.code}]"
        (result.problems if finding.severity == "error" else result.warnings).append(text)
    if plan.estimate is not None and plan.estimate.fits is False:
        estimate = plan.estimate
        result.problems.append(
            f"estimated peak {estimate.peak_gib_per_gpu:.1f} GiB per GPU does not fit the "
            f"preset's own {estimate.gpu_mem_gib:g} GiB GPU [does-not-fit]"
        )
