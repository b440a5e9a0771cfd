"""Schema rules: unknown keys (did-you-mean), wrong types and values, deprecated and removed keys.

Severity follows what Axolotl does with the key: it rejects a wrong type or a removed key
(error), but silently drops an unknown key (warning, because nothing fails, the value is just
lost) and logs a deprecation (warning).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from wizard.axolotl import keys as K
from wizard.axolotl.attention import LEGACY_FLAGS
from wizard.axolotl.flags import is_on
from wizard.axolotl.schema import JsonSchema
from wizard.lint.context import Ctx
from wizard.lint.did_you_mean import KNOWN_TYPOS, suggest
from wizard.lint.findings import Finding, KeyPath, Rename, dotted
from wizard.lint.removed import DATASET_LISTS, UNSLOTH_KEYS
from wizard.lint.typecheck import check_value, describe, unknown_keys


def check_keys(ctx: Ctx) -> list[Finding]:
    out = _duplicates(ctx) + _plugins(ctx) + _required(ctx)
    props = _active_properties(ctx)
    for key, value in ctx.view.raw.items():
        if not isinstance(key, str):
            out.append(ctx.at("error", "bad-key", f"key {key!r} is not a string", key=(str(key),)))
        elif key in ctx.schema.removed:
            out += _removed(ctx, key, value)
        elif key in props:
            out += _typed(ctx, key, value, props[key])
        elif key in UNSLOTH_KEYS and value:
            continue  # refused, not ignored: removed.unsloth_keys reports it
        else:
            out.append(_unknown(ctx, key, props))
        if isinstance(key, str) and key in ctx.schema.field_deprecations and value is not None:
            out.append(_deprecated_field(ctx, key, value))
    return out


def as_axolotl_reads(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `cfg` with the renames Axolotl's before-validators apply (the deprecated `fsdp_`
    prefixes inside fsdp_config dropped), so every rule sees what Axolotl sees."""
    out = dict(cfg)
    fsdp = out.get(K.FSDP_CONFIG)
    if isinstance(fsdp, dict) and any(_fsdp_prefixed(k) for k in fsdp):
        out[K.FSDP_CONFIG] = {
            (k.removeprefix("fsdp_") if _fsdp_prefixed(k) else k): v for k, v in fsdp.items()
        }
    return out


def deprecated_fsdp_prefixes(ctx: Ctx, written: Mapping[str, Any]) -> list[Finding]:
    """The renames `as_axolotl_reads` made in the config as `written`, each reported as
    deprecated with a fix."""
    fsdp = written.get(K.FSDP_CONFIG)
    if not isinstance(fsdp, dict):
        return []
    return [
        ctx.at(
            "warning",
            "deprecated-key",
            f"`fsdp_config.{key}`: the `fsdp_` prefix inside fsdp_config is deprecated",
            f"rename it to `{key.removeprefix('fsdp_')}`",
            (K.FSDP_CONFIG, key),
            Rename((K.FSDP_CONFIG, key), key.removeprefix("fsdp_")),
        )
        for key in fsdp
        if _fsdp_prefixed(key)
    ]


def _fsdp_prefixed(key: object) -> bool:
    return isinstance(key, str) and key.startswith("fsdp_") and key != K.FSDP_VERSION


def _required(ctx: Ctx) -> list[Finding]:
    out = []
    for key in ctx.schema.config.get("required", []):
        if not ctx.view.has(key):
            desc = (ctx.schema.property(key) or {}).get("description", "")
            out.append(
                ctx.at(
                    "error",
                    "missing-key",
                    f"`{key}` is required and not set",
                    f"add `{key}: ...`" + (f" ({desc})" if desc else ""),
                )
            )
    return out


def _active_properties(ctx: Ctx) -> dict[str, JsonSchema]:
    """Axolotl's keys plus those of the plugins this config loads."""
    props = dict(ctx.schema.properties)
    for field_name, alias in ctx.schema.field_aliases.items():
        props.setdefault(field_name, props.get(alias, {}))
    for name in _plugin_names(ctx):
        info = ctx.schema.plugins.get(name)
        if info is None:
            continue
        plugin_props = (info.schema or {}).get("properties", {})
        for key in info.keys:
            props.setdefault(key, plugin_props.get(key, {}))
    return props


def _plugin_names(ctx: Ctx) -> list[str]:
    plugins = ctx.view.value(K.PLUGINS)
    return [p for p in plugins if isinstance(p, str)] if isinstance(plugins, list) else []


def _plugins(ctx: Ctx) -> list[Finding]:
    out = []
    for index, name in enumerate(_plugin_names(ctx)):
        info = ctx.schema.plugins.get(name)
        key: KeyPath = (K.PLUGINS, index)
        if info is None:
            out += _unknown_plugin(ctx, name, key)
        elif info.requires and ctx.env.has(info.requires) is False:
            out.append(
                ctx.at(
                    "error",
                    "plugin-missing-package",
                    f"plugin {name} needs the package `{info.requires}`, which is not installed",
                    f"pip install {info.requires}, or remove the plugin",
                    key,
                )
            )
    return out


def _unknown_plugin(ctx: Ctx, name: str, key: KeyPath) -> list[Finding]:
    module = name.rpartition(".")[0]
    if name.startswith("axolotl.integrations."):
        close = suggest(name, ctx.schema.plugins, limit=1)
        hint = f"did you mean {close[0]}?" if close else "see `axolotl.integrations` for names"
        return [
            ctx.at(
                "error",
                "unknown-plugin",
                f"plugin {name} is not part of Axolotl {ctx.schema.version}",
                hint,
                key,
            )
        ]
    if module and ctx.env.has(module.split(".")[0]) is False:
        return [
            ctx.at(
                "error",
                "unknown-plugin",
                f"plugin {name}: module {module} is not installed",
                "install the package that provides it",
                key,
            )
        ]
    return [
        ctx.at(
            "hint",
            "unchecked-plugin",
            f"plugin {name} is not an Axolotl integration; its keys are not checked",
            None,
            key,
        )
    ]


def _duplicates(ctx: Ctx) -> list[Finding]:
    if ctx.located is None:
        return []
    return [
        ctx.at(
            "warning",
            "duplicate-key",
            f"`{dotted(path)}` is set twice (lines {first.line} and {second.line}); "
            "YAML keeps only the last value",
            "delete one of them",
            path,
        )
        for path, first, second in ctx.located.duplicates
    ]


def _typed(ctx: Ctx, key: str, value: Any, schema: JsonSchema) -> list[Finding]:
    if key in DATASET_LISTS and isinstance(value, list):
        problems, unknown = _check_datasets(ctx, key, value, schema)
    else:
        problems = check_value(value, schema, ctx.schema, (key,))
        unknown = unknown_keys(value, schema, ctx.schema, (key,))
    out = [
        ctx.at("error", "type-error", f"`{dotted(path)}`: {message}", _type_fix(ctx, path), path)
        for path, message in problems
    ]
    for path, candidates in unknown:
        found = suggest(str(path[-1]), candidates, limit=1)
        dym = f" (did you mean `{found[0]}`?)" if found else ""
        out.append(
            ctx.at(
                "warning",
                "unknown-key",
                f"`{dotted(path)}` is not a known key here{dym}; Axolotl ignores it silently",
                f"rename it to `{found[0]}`" if found else "remove it",
                path,
                Rename(path, found[0]) if found else None,
            )
        )
    return out


def _check_datasets(
    ctx: Ctx, key: str, value: list[Any], schema: JsonSchema
) -> tuple[list[Any], list[Any]]:
    """Each entry is checked against the model Axolotl converts it to (validate_config)."""
    problems: list[Any] = []
    unknown: list[Any] = []
    for index, entry in enumerate(value):
        path: KeyPath = (key, index)
        if not isinstance(entry, dict):
            problems += check_value(entry, _items(schema, ctx), ctx.schema, path)
            continue
        model = ctx.schema.dataset_models[_dataset_model(ctx, entry)]
        problems += check_value(entry, model, ctx.schema, path)
        unknown += unknown_keys(entry, model, ctx.schema, path)
    return problems, unknown


def _items(schema: JsonSchema, ctx: Ctx) -> JsonSchema:
    for branch in schema.get("anyOf", [schema]):
        branch = ctx.schema.resolve(branch)
        if branch.get("type") == "array":
            items: JsonSchema = branch.get("items", {})
            return items
    return {}


def _dataset_model(ctx: Ctx, entry: dict[str, Any]) -> str:
    rl = ctx.view.rl
    if rl in ("dpo", "ipo", "simpo"):
        return "DPODataset"
    if rl == "kto":
        return "KTODataset"
    return "SyntheticDataset" if entry.get("type") == "_synthetic" else "SFTDataset"


def _type_fix(ctx: Ctx, path: KeyPath) -> str:
    """What to write instead: the type the schema wants, and its default as an example."""
    schema = ctx.schema.property(str(path[0])) if len(path) == 1 else None
    if schema is None:
        return f"write `{dotted(path)}` as the message says, or remove it"
    fix = f"write {describe(schema, ctx.schema)} for `{path[0]}`"
    default = ctx.schema.resolve(schema).get("default")
    if default is not None and not isinstance(default, (dict, list)):
        fix += f", e.g. `{path[0]}: {json.dumps(default)}` (Axolotl's default)"
    return fix


def _unknown(ctx: Ctx, key: str, props: dict[str, JsonSchema]) -> Finding:
    owners = ctx.schema.plugin_for_key(key)
    if owners:
        return ctx.at(
            "warning",
            "plugin-key-without-plugin",
            f"`{key}` is a key of plugin {owners[0]}, which this config does not load;"
            " Axolotl ignores it",
            f"add {owners[0]} to `plugins:`",
            (key,),
        )
    found = [KNOWN_TYPOS[key]] if key in KNOWN_TYPOS else suggest(key, props, limit=1)
    if found:
        return ctx.at(
            "warning",
            "unknown-key",
            f"`{key}` is not an Axolotl key (did you mean `{found[0]}`?); "
            "Axolotl ignores it silently",
            f"rename it to `{found[0]}`",
            (key,),
            Rename((key,), found[0]),
        )
    return ctx.at(
        "warning",
        "unknown-key",
        f"`{key}` is not an Axolotl {ctx.schema.version} key; Axolotl ignores it silently",
        "remove it, or check the Axolotl docs for the current name",
        (key,),
    )


def _removed(ctx: Ctx, key: str, value: Any) -> list[Finding]:
    entry = ctx.schema.removed[key]
    fires = value is not None and (entry.get("when") != "truthy" or bool(value))
    if entry["status"] == "removed":
        if not fires:
            return [
                ctx.at(
                    "hint",
                    "removed-key",
                    f"`{key}` is no longer supported; delete it",
                    None,
                    (key,),
                )
            ]
        return [
            ctx.at(
                "error",
                "removed-key",
                f"`{key}`: {entry['message']}",
                "delete it (Axolotl refuses configs that set it)",
                (key,),
            )
        ]
    if value is None:
        return []
    new = ctx.schema.renames.get(key)
    # Axolotl carries a deprecated key over only when it is set to something (`if
    # data.get(old)`): `noisy_embedding_alpha: 0` stays off, `neftune_noise_alpha: 0` is refused.
    movable = new is not None and new not in ctx.view.raw and bool(value)
    rename = Rename((key,), str(new)) if movable else None
    return [
        ctx.at(
            "warning",
            "deprecated-key",
            f"`{key}` is deprecated: {entry['message']}",
            f"rename it to `{new}`" if rename else None,
            (key,),
            rename,
        )
    ]


def _deprecated_field(ctx: Ctx, key: str, value: Any) -> Finding:
    if key in LEGACY_FLAGS and not is_on(value):
        # normalize_attn_implementation strips a legacy flag that is off: it says nothing.
        return ctx.at(
            "warning",
            "legacy-flag-off",
            f"`{key}: {str(value).lower()}` sets nothing: Axolotl drops a legacy attention flag "
            "that is off",
            "delete it (check --fix does); `attn_implementation` names the backend",
            (key,),
        )
    message = ctx.schema.field_deprecations[key]
    new = ctx.schema.renames.get(key)
    rename = Rename((key,), new) if new and new not in ctx.view.raw else None
    flag = re.search(rf"`{K.ATTN_IMPLEMENTATION}: (\w+)`", message)
    if flag and value is True and K.ATTN_IMPLEMENTATION not in ctx.view.raw:
        rename = Rename((key,), K.ATTN_IMPLEMENTATION, flag.group(1))
    return ctx.at(
        "warning",
        "deprecated-key",
        f"`{key}` is deprecated: {message}",
        message if rename is None else _rename_text(rename),
        (key,),
        rename,
    )


def _rename_text(rename: Rename) -> str:
    if rename.new_value is not None:
        return f"replace it with `{rename.new_key}: {rename.new_value}`"
    return f"rename it to `{rename.new_key}`"
