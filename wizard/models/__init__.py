"""Model architectures from a local config.json, the Hugging Face cache, or the built-in catalog."""

from __future__ import annotations

from wizard.models.arch import ModelArch, arch_from_config
from wizard.models.linears import (
    Linear,
    embedding_params,
    largest_module_params,
    layer_linears,
    linear_names,
    linear_params,
    total_params,
)
from wizard.models.resolve import catalog_arch, catalog_names, featured_names, resolve_arch

__all__ = [
    "Linear",
    "ModelArch",
    "arch_from_config",
    "catalog_arch",
    "catalog_names",
    "embedding_params",
    "featured_names",
    "largest_module_params",
    "layer_linears",
    "linear_names",
    "linear_params",
    "resolve_arch",
    "total_params",
]
