"""Model architectures from a local config.json, the Hugging Face cache, or the built-in catalog."""

from __future__ import annotations

from wizard.models.arch import ModelArch, arch_from_config
from wizard.models.families import family_names
from wizard.models.linears import (
    Linear,
    all_linear_names,
    embedding_params,
    largest_module_params,
    layer_linears,
    linear_names,
    linear_params,
    quantizable_params,
    total_params,
)
from wizard.models.resolve import catalog_arch, catalog_names, featured_names, resolve_arch

__all__ = [
    "Linear",
    "ModelArch",
    "all_linear_names",
    "arch_from_config",
    "catalog_arch",
    "catalog_names",
    "embedding_params",
    "family_names",
    "featured_names",
    "largest_module_params",
    "layer_linears",
    "linear_names",
    "linear_params",
    "quantizable_params",
    "resolve_arch",
    "total_params",
]
