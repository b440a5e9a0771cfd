"""Find a model's architecture offline: a local folder, the Hugging Face cache, or the catalog.

Nothing here touches the network: estimating must work before anything is downloaded, and on
machines that cannot reach the Hub at all.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from wizard.axolotl.paths import is_hub_id
from wizard.errors import WizardError
from wizard.models.arch import ModelArch, arch_from_config
from wizard.models.hub_cache import cached_snapshot
from wizard.yamlio import package_data, parse_json, read_text_file

# A config.json bigger than this is not a config.json.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@lru_cache(maxsize=1)
def _catalog_file() -> dict[str, Any]:
    data: dict[str, Any] = package_data("wizard.models", "catalog.yaml")
    return data


def load_catalog() -> dict[str, dict[str, Any]]:
    """Catalog entries keyed by their canonical hub id (as written in catalog.yaml)."""
    models: dict[str, dict[str, Any]] = _catalog_file()["models"]
    return models


@lru_cache(maxsize=1)
def _catalog_index() -> dict[str, str]:
    """Lower-cased id, alias and bare name -> canonical id. Ambiguous bare names are dropped."""
    index: dict[str, str] = {}
    bare: dict[str, set[str]] = {}
    for model_id, entry in load_catalog().items():
        for name in [model_id, *entry.get("aliases", [])]:
            index[name.lower()] = model_id
            bare.setdefault(name.rsplit("/", 1)[-1].lower(), set()).add(model_id)
    for name, ids in bare.items():
        if len(ids) == 1:
            index.setdefault(name, next(iter(ids)))
    return index


@lru_cache(maxsize=1)
def catalog_names() -> tuple[str, ...]:
    """Every Hub id the catalog knows, base and instruct alike (an alias with an `org/` part is
    an id people type, not just a spelling)."""
    names = set(load_catalog())
    for entry in load_catalog().values():
        names.update(a for a in entry.get("aliases", []) if "/" in a)
    return tuple(sorted(names, key=str.lower))


def featured_names() -> list[str]:
    """The short list the interview offers first (catalog.yaml `featured:`), most asked first."""
    featured: list[str] = _catalog_file().get("featured", [])
    return featured


def catalog_arch(name: str) -> ModelArch | None:
    """The catalog entry for a hub id, alias, or unique bare name; None when absent. The source
    names the id that was asked for (an Instruct id is not reported as its base model)."""
    index = _catalog_index()
    model_id = index.get(name.lower()) or index.get(name.rsplit("/", 1)[-1].lower())
    if model_id is None:
        return None
    entry = {k: v for k, v in load_catalog()[model_id].items() if k != "aliases"}
    shown = _listed_id(name) or model_id
    return arch_from_config(entry, name, source=f"catalog ({shown})")


def _listed_id(name: str) -> str | None:
    """`name` as the catalog spells it, when it is one of the listed Hub ids."""
    lowered = name.lower()
    return next((n for n in catalog_names() if n.lower() == lowered), None)


def read_config_json(path: Path, name: str) -> dict[str, Any]:
    text = read_text_file(path, "model config", max_bytes=MAX_CONFIG_BYTES)
    data = parse_json(text, str(path))
    if not isinstance(data, dict):
        raise WizardError(f"{path}: the model config is not a JSON object", "is it a config.json?")
    return data


def _local_folder(base_model: str, base_dir: Path | None) -> Path | None:
    raw = Path(base_model).expanduser()
    candidates = [raw] if raw.is_absolute() else [p / raw for p in (base_dir, Path.cwd()) if p]
    looks_like_path = not is_hub_id(base_model)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    if looks_like_path and not catalog_arch(base_model):
        tried = ", ".join(str(c) for c in candidates)
        raise WizardError(
            f"base_model {base_model!r} looks like a local path, but no such folder exists "
            f"(tried {tried})",
            "fix the path, or use a Hugging Face id such as meta-llama/Llama-3.1-8B",
        )
    return None


def resolve_arch(base_model: str, *, base_dir: Path | None = None) -> ModelArch:
    """The architecture of `base_model`: local folder, then HF cache, then the catalog."""
    if not base_model or not isinstance(base_model, str):
        raise WizardError("base_model is missing", "set base_model: to a hub id or a local folder")
    folder = _local_folder(base_model, base_dir)
    if folder is not None:
        config = folder / "config.json"
        if not config.is_file():
            raise WizardError(
                f"{folder} has no config.json, so its architecture is unknown",
                "copy the model's config.json into that folder (weights are not needed)",
            )
        return arch_from_config(read_config_json(config, base_model), base_model, f"local {config}")
    snapshot = cached_snapshot(base_model)
    cached = snapshot / "config.json" if snapshot is not None else None
    if cached is not None:
        data = read_config_json(cached, base_model)
        return arch_from_config(data, base_model, f"Hugging Face cache {cached}")
    arch = catalog_arch(base_model)
    if arch is not None:
        return arch
    raise _unknown_model(base_model)


def _unknown_model(base_model: str) -> WizardError:
    names = catalog_names()
    bare = {n.rsplit("/", 1)[-1].lower(): n for n in names}
    import difflib  # here: only a name that is not found pays for it

    close = difflib.get_close_matches(base_model.rsplit("/", 1)[-1].lower(), list(bare), n=3)
    similar = ", ".join(bare[c] for c in close) or "meta-llama/Llama-3.1-8B"
    return WizardError(
        f"unknown model {base_model!r}: not a local folder, not in the Hugging Face cache, "
        "and not in the built-in catalog (nothing is downloaded to estimate)",
        f"point base_model at a folder holding its config.json, run `huggingface-cli download "
        f"{base_model} config.json` once, or estimate with a similar catalog model ({similar})",
    )
