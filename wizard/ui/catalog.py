"""The models the page's model field offers: the catalog's and those in the local Hugging Face
cache (nothing is downloaded; any other id or a local folder may still be typed)."""

from __future__ import annotations

from wizard.models import catalog_names
from wizard.models.hub_cache import hub_cache_dirs

CACHE_PREFIX = "models--"


def cached_models() -> list[str]:
    """Hub ids of the models in the local cache (`models--org--name` folders)."""
    found: set[str] = set()
    for cache in hub_cache_dirs():
        if not cache.is_dir():
            continue
        for entry in cache.iterdir():
            name = entry.name
            if name.startswith(CACHE_PREFIX) and name.count("--") == 2 and entry.is_dir():
                found.add(name.removeprefix(CACHE_PREFIX).replace("--", "/"))
    return sorted(found)


def model_choices() -> list[str]:
    cached = cached_models()
    return cached + [name for name in catalog_names() if name not in cached]
